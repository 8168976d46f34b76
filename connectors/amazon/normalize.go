package amazon

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// Normalize implements connectors.Normalizer for what a user saves from
// Amazon. What each payload becomes:
//
//   - a notification (bare, or an EventBridge event): as ParseNotification;
//     FEED_PROCESSING_FINISHED returns an error wrapping ErrIgnored.
//   - a getOrders page: one order_changed event per order. The page lacks
//     the items, and an order without lines would release its stock, so
//     the engine fetches each order (getOrder + getOrderItems).
//   - a getOrderItems page: one order_changed event for its order: items
//     alone carry no order status.
//   - a searchOrders (v2026-01-01) page: one order event per order, items
//     included; a v2026-01-01 getOrder answer ({"order": …}): its order.
//   - an SP-API error answer ({"errors": […]}): an error naming Amazon's
//     code and message.
//   - a JSON_LISTINGS_FEED document, its processing report, a
//     patchListingsItem answer: no events, no error. They are what the
//     pusher sends and reads, not event sources.
//
// Anything else is an error.
func Normalize(channel string, data []byte) ([]connectors.Event, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("amazon payload: %w", err)
	}
	has := func(k string) bool { _, ok := probe[k]; return ok }
	switch {
	case has("detail") || has("NotificationType") || has("notificationType"):
		return ParseNotification(channel, data, time.Time{})
	case has("payload"):
		return normalizePayload(channel, probe["payload"])
	case has("orders"):
		return normalizeSearchOrders(channel, data)
	case has("order"):
		return normalizeGetOrder2026(channel, data)
	case has("errors"):
		return nil, errorAnswer(data)
	}
	if known, err := checkListingsDocument(data, has); known {
		if err != nil {
			return nil, err
		}
		return []connectors.Event{}, nil
	}
	return nil, fmt.Errorf("amazon payload: not a notification, orders page, feed document, report or listings answer")
}

// normalizeSearchOrders turns a searchOrders (v2026-01-01) page into one
// order event per order, items included.
func normalizeSearchOrders(channel string, data []byte) ([]connectors.Event, error) {
	orders, _, err := decodeSearchOrders(channel, data)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.Event, 0, len(orders))
	for i := range orders {
		out = append(out, connectors.Event{Kind: connectors.EventOrder, Channel: channel, Topic: "searchOrders", Order: &orders[i]})
	}
	return out, nil
}

// normalizeGetOrder2026 turns a v2026-01-01 getOrder answer into its
// order's event.
func normalizeGetOrder2026(channel string, data []byte) ([]connectors.Event, error) {
	o, err := decodeGetOrder2026(channel, data)
	if err != nil {
		return nil, err
	}
	return []connectors.Event{{Kind: connectors.EventOrder, Channel: channel, Topic: "getOrder", Order: o, OrderID: o.OrderID}}, nil
}

// errorAnswer is the error an SP-API error answer ({"errors": […]}) saved
// as a payload stands for: Amazon's first code and message.
func errorAnswer(data []byte) error {
	var eb errorBody
	if err := json.Unmarshal(data, &eb); err != nil || len(eb.Errors) == 0 {
		return fmt.Errorf("amazon payload: an unreadable SP-API error answer")
	}
	return fmt.Errorf("amazon payload: an SP-API error answer, no order: %s: %s", eb.Errors[0].Code, eb.Errors[0].Message)
}

// checkListingsDocument reports whether data is one of the documents the
// pusher sends or reads (a JSON_LISTINGS_FEED document, its processing
// report, a patchListingsItem answer), judged by its top-level keys, and
// whether it decodes. They hold no events.
func checkListingsDocument(data []byte, has func(string) bool) (known bool, err error) {
	switch {
	case has("header") && has("messages"):
		_, err = decodeFeedDocument(data)
	case has("header") && (has("issues") || has("summary")):
		_, err = decodeReport(data)
	case has("sku") && has("status"):
		_, err = decodePatchResponse(data)
	default:
		return false, nil
	}
	return true, err
}

func normalizePayload(channel string, raw json.RawMessage) ([]connectors.Event, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("amazon payload: %w", err)
	}
	wrapped, err := json.Marshal(map[string]json.RawMessage{"payload": raw})
	if err != nil {
		return nil, fmt.Errorf("amazon payload: %w", err)
	}
	if _, ok := probe["Orders"]; ok {
		p, err := decodeOrdersPage(wrapped)
		if err != nil {
			return nil, err
		}
		out := make([]connectors.Event, 0, len(p.Payload.Orders))
		for _, o := range p.Payload.Orders {
			if o.AmazonOrderID == "" {
				return nil, fmt.Errorf("getOrders response: order without AmazonOrderId")
			}
			if _, err := statusV0(o.OrderStatus); err != nil {
				return nil, fmt.Errorf("getOrders response: order %s: %w", o.AmazonOrderID, err)
			}
			if _, err := parseTime("LastUpdateDate", o.LastUpdateDate); err != nil {
				return nil, fmt.Errorf("getOrders response: order %s: %w", o.AmazonOrderID, err)
			}
			out = append(out, connectors.Event{
				Kind: connectors.EventOrderChanged, Channel: channel, Topic: "getOrders",
				ID: o.AmazonOrderID + "@" + o.LastUpdateDate, OrderID: o.AmazonOrderID,
			})
		}
		return out, nil
	}
	if _, ok := probe["OrderItems"]; ok {
		p, err := decodeOrderItemsPage(wrapped)
		if err != nil {
			return nil, err
		}
		if p.Payload.AmazonOrderID == "" {
			return nil, fmt.Errorf("getOrderItems response without AmazonOrderId")
		}
		return []connectors.Event{{
			Kind: connectors.EventOrderChanged, Channel: channel, Topic: "getOrderItems", OrderID: p.Payload.AmazonOrderID,
		}}, nil
	}
	if _, ok := probe["AmazonOrderId"]; ok {
		// getOrder: the order without its items.
		var o orderV0
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("getOrder response: %w", err)
		}
		return []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: channel, Topic: "getOrder", OrderID: o.AmazonOrderID}}, nil
	}
	return nil, fmt.Errorf("amazon payload: unknown \"payload\" object")
}
