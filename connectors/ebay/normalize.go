package ebay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// Normalize is the connectors.Normalizer of eBay payloads saved by a
// user, without signature checks or network I/O. It reads:
//
//   - a notification body {"metadata":…,"notification":…}: an
//     order_changed event for ORDER_CONFIRMATION and ITEM_MARKED_SHIPPED;
//     other topics give no events and an error wrapping ErrIgnored that
//     names the topic;
//   - a getOrders page {"orders":[…]}: one order event per order;
//   - a getOrder answer {"orderId":…}: one order event;
//   - a file of signed notification test vectors {"CASE":{"signature",
//     "message",…},…} (eBay's SDK format): each message as a notification.
//
// Events of orders carry no ReceivedAt: the payload is not a delivery.
func Normalize(channel string, data []byte) ([]connectors.Event, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("eBay payload: %w", err)
	}
	switch {
	case probe["metadata"] != nil && probe["notification"] != nil:
		return parseNotification(channel, data, time.Time{})
	case probe["orders"] != nil:
		var page ordersPage
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, fmt.Errorf("eBay getOrders page: %w", err)
		}
		events := make([]connectors.Event, 0, len(page.Orders))
		for i := range page.Orders {
			o, err := toOrder(channel, &page.Orders[i])
			if err != nil {
				return nil, fmt.Errorf("eBay getOrders page, order %d: %w", i, err)
			}
			events = append(events, orderEvent(o))
		}
		return events, nil
	case probe["orderId"] != nil:
		var o apiOrder
		if err := json.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("eBay order: %w", err)
		}
		out, err := toOrder(channel, &o)
		if err != nil {
			return nil, fmt.Errorf("eBay order: %w", err)
		}
		return []connectors.Event{orderEvent(out)}, nil
	case isTestVectors(probe):
		return normalizeTestVectors(channel, probe)
	}
	return nil, errors.New("eBay payload: neither a notification, a getOrders page nor an order")
}

func orderEvent(o *connectors.Order) connectors.Event {
	return connectors.Event{Kind: connectors.EventOrder, Channel: o.Channel, Topic: "getOrders", Order: o, OrderID: o.OrderID}
}

func isTestVectors(probe map[string]json.RawMessage) bool {
	if len(probe) == 0 {
		return false
	}
	for _, v := range probe {
		var c struct {
			Signature *string         `json:"signature"`
			Message   json.RawMessage `json:"message"`
		}
		if json.Unmarshal(v, &c) != nil || c.Signature == nil || c.Message == nil {
			return false
		}
	}
	return true
}

// normalizeTestVectors normalizes each case's message as the body eBay
// would send: its compact serialisation.
func normalizeTestVectors(channel string, probe map[string]json.RawMessage) ([]connectors.Event, error) {
	var events []connectors.Event
	var ignored []error
	for _, name := range slices.Sorted(maps.Keys(probe)) {
		v := probe[name]
		var c struct {
			Message json.RawMessage `json:"message"`
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return nil, fmt.Errorf("test vector %s: %w", name, err)
		}
		var body bytes.Buffer
		if err := json.Compact(&body, c.Message); err != nil {
			return nil, fmt.Errorf("test vector %s: %w", name, err)
		}
		evs, err := parseNotification(channel, body.Bytes(), time.Time{})
		switch {
		case errors.Is(err, connectors.ErrIgnored):
			ignored = append(ignored, fmt.Errorf("test vector %s: %w", name, err))
		case err != nil:
			return nil, fmt.Errorf("test vector %s: %w", name, err)
		}
		events = append(events, evs...)
	}
	if len(events) == 0 && len(ignored) > 0 {
		return nil, errors.Join(ignored...)
	}
	return events, nil
}
