package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// Normalize parses a Shopify payload a user saved into events, without
// verifying a signature and without network I/O. It reads:
//
//   - a bare REST order (an orders/* webhook body), {"order": …}, {"orders": […]}
//   - a bare refund (a refunds/create body) or {"refund": …}
//   - a bare inventory level (an inventory_levels/update body),
//     {"inventory_level": …}, {"inventory_levels": […]}
//   - a GraphQL response of this connector's queries: {"data": {"orders": …}}
//     or {"data": {"order": …}}
//
// {"inventory_items": …} and {"locations": …} are read but carry no event:
// the result wraps connectors.ErrIgnored. Anything else is an error that
// says what was expected.
func Normalize(channel string, data []byte) ([]connectors.Event, error) {
	return payloadReader{channel: channel}.parse(data)
}

// payloadReader reads payloads for one channel. locations maps a Shopify
// location's numeric id to a shelfsync location (nil: orders name none).
// Stock events carry the inventory item id only: the webhook path adds
// the SKU from the cache.
type payloadReader struct {
	channel   string
	locations map[string]string
}

// parse detects the payload's shape by its keys.
func (p payloadReader) parse(data []byte) ([]connectors.Event, error) {
	data = bytes.TrimSpace(data)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case has(top, "order"):
		return p.ordersEvents("order", top["order"], false)
	case has(top, "orders"):
		return p.ordersEvents("orders", top["orders"], true)
	case has(top, "refund"):
		return p.refundEvents(top["refund"])
	case has(top, "inventory_level"):
		return p.stockEvents(top["inventory_level"], false)
	case has(top, "inventory_levels"):
		return p.stockEvents(top["inventory_levels"], true)
	case has(top, "data") || has(top, "errors"):
		return p.graphqlEvents(data)
	case has(top, "line_items"):
		return p.ordersEvents("order", data, false)
	case has(top, "refund_line_items"):
		return p.refundEvents(data)
	case has(top, "inventory_item_id"):
		return p.stockEvents(data, false)
	case has(top, "inventory_items"), has(top, "locations"):
		return nil, fmt.Errorf("an inventory item or location list carries no events: %w", connectors.ErrIgnored)
	}
	return nil, errors.New(`not a Shopify order, refund, inventory level or GraphQL orders response (expected keys such as "line_items", "order", "orders", "refund", "inventory_level", "data")`)
}

func has(m map[string]json.RawMessage, k string) bool {
	v, ok := m[k]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (p payloadReader) ordersEvents(field string, raw json.RawMessage, list bool) ([]connectors.Event, error) {
	var orders []restOrder
	if list {
		if err := json.Unmarshal(raw, &orders); err != nil {
			return nil, fmt.Errorf("reading %s: %w", field, err)
		}
	} else {
		var o restOrder
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, fmt.Errorf("reading %s: %w", field, err)
		}
		orders = []restOrder{o}
	}
	return p.decodedOrders(field, orders)
}

// orderBody reads the body of an orders/* webhook. Shopify sends the bare
// order (the REST resource), so it is decoded once, straight into an
// order, where parse would first decode the whole body into a map of its
// top-level keys to find its shape: this is every sale's path. A wrapped
// {"order": …} (as saved payloads hold it) is read in the same decode. A
// body that reads as neither (an error, no id, no line_items, or another
// key parse looks for before line_items) goes through parse, which finds
// its shape or says what is wrong.
func (p payloadReader) orderBody(data []byte) ([]connectors.Event, error) {
	var o bareOrder
	err := json.Unmarshal(data, &o)
	switch {
	case err != nil:
	case o.Order != nil:
		return p.decodedOrders("order", []restOrder{*o.Order})
	case o.ID != "" && o.LineItems != nil && !o.shaped():
		return p.decodedOrders("order", []restOrder{o.restOrder})
	}
	return p.parse(data)
}

// bareOrder is a REST order with the keys parse looks for before
// "line_items" beside it: a wrapped order, or another shape (sent to
// parse).
type bareOrder struct {
	restOrder
	Order           *restOrder      `json:"order"`
	Orders          json.RawMessage `json:"orders"`
	Refund          json.RawMessage `json:"refund"`
	InventoryLevel  json.RawMessage `json:"inventory_level"`
	InventoryLevels json.RawMessage `json:"inventory_levels"`
	Data            json.RawMessage `json:"data"`
	Errors          json.RawMessage `json:"errors"`
}

func (o *bareOrder) shaped() bool {
	for _, v := range []json.RawMessage{o.Orders, o.Refund, o.InventoryLevel, o.InventoryLevels, o.Data, o.Errors} {
		if v != nil {
			return true
		}
	}
	return false
}

// decodedOrders turns decoded REST orders into order events.
func (p payloadReader) decodedOrders(field string, orders []restOrder) ([]connectors.Event, error) {
	events := make([]connectors.Event, 0, len(orders))
	for i := range orders {
		src, err := orders[i].source()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", field, err)
		}
		o, err := src.toCanonical(p.channel, p.locations)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", field, err)
		}
		events = append(events, connectors.Event{Kind: connectors.EventOrder, Channel: p.channel, Order: o})
	}
	return events, nil
}

func (p payloadReader) refundEvents(raw json.RawMessage) ([]connectors.Event, error) {
	var r restRefund
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("reading refund: %w", err)
	}
	src, err := r.source("")
	if err != nil {
		return nil, fmt.Errorf("reading refund: %w", err)
	}
	ret, err := src.toReturn()
	if err != nil {
		return nil, fmt.Errorf("reading refund: %w", err)
	}
	return []connectors.Event{{Kind: connectors.EventReturn, Channel: p.channel, OrderID: ret.OrderID, Return: ret}}, nil
}

func (p payloadReader) stockEvents(raw json.RawMessage, list bool) ([]connectors.Event, error) {
	var levels []restInventoryLevel
	if list {
		if err := json.Unmarshal(raw, &levels); err != nil {
			return nil, fmt.Errorf("reading inventory levels: %w", err)
		}
	} else {
		var l restInventoryLevel
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("reading inventory level: %w", err)
		}
		levels = []restInventoryLevel{l}
	}
	events := make([]connectors.Event, 0, len(levels))
	for i, l := range levels {
		item := numericID(l.InventoryItemID.String())
		if item == "" {
			return nil, fmt.Errorf("inventory level %d: missing or bad inventory_item_id", i)
		}
		if l.Available == nil {
			// Shopify sends null for an untracked item: no quantity to report.
			continue
		}
		if err := connectors.CheckLevel("available", *l.Available); err != nil {
			return nil, fmt.Errorf("inventory level %d: %w", i, err)
		}
		sc := &connectors.StockChange{ItemID: item, Quantity: *l.Available, At: l.UpdatedAt.UTC()}
		if loc := numericID(l.LocationID.String()); loc != "" {
			sc.ChannelLocation = gid("Location", loc)
		}
		events = append(events, connectors.Event{Kind: connectors.EventStockChanged, Channel: p.channel, Stock: sc})
	}
	return events, nil
}

// graphqlEvents reads a saved GraphQL response of the orders or order query.
func (p payloadReader) graphqlEvents(data []byte) ([]connectors.Event, error) {
	var resp struct {
		Data *struct {
			Orders *struct {
				Nodes []gqlOrder `json:"nodes"`
				Edges []struct {
					Node gqlOrder `json:"node"`
				} `json:"edges"`
			} `json:"orders"`
			Order *gqlOrder `json:"order"`
		} `json:"data"`
		Errors []gqlError `json:"errors"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("reading GraphQL response: %w", err)
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("the GraphQL response holds errors: %s", resp.Errors[0].Message)
	}
	var orders []gqlOrder
	switch {
	case resp.Data == nil:
		return nil, errors.New("GraphQL response without data")
	case resp.Data.Orders != nil:
		orders = resp.Data.Orders.Nodes
		for _, e := range resp.Data.Orders.Edges {
			orders = append(orders, e.Node)
		}
	case resp.Data.Order != nil:
		orders = []gqlOrder{*resp.Data.Order}
	default:
		return nil, errors.New("GraphQL response holds neither data.orders nor data.order")
	}
	events := make([]connectors.Event, 0, len(orders))
	for i := range orders {
		src, err := orders[i].source()
		if err != nil {
			return nil, fmt.Errorf("reading GraphQL order: %w", err)
		}
		o, err := src.toCanonical(p.channel, p.locations)
		if err != nil {
			return nil, fmt.Errorf("reading GraphQL order: %w", err)
		}
		events = append(events, connectors.Event{Kind: connectors.EventOrder, Channel: p.channel, Order: o})
	}
	return events, nil
}
