package woocommerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// Normalize parses a WooCommerce payload a user saved into events,
// without verifying a signature and without network I/O, with the
// built-in status mapping. It reads:
//
//   - an order resource (a GET /orders/{id} answer; the body of an
//     order.created, order.updated or order.restored webhook)
//   - a list of orders (a GET /orders page)
//   - an order.deleted body, {"id": N}
//
// Orders that name refunds, and deleted orders, become "order changed,
// fetch it" events (their refunds' lines, and a trashed order's state,
// are only in the API); checkout drafts are left out. A refunds list
// (GET /orders/{id}/refunds) alone is an error: it needs its order.
// What the ledger would refuse is an error, as in the webhook path
// (without the clock rule: Normalize has no clock).
func Normalize(channel string, data []byte) ([]connectors.Event, error) {
	m := newMapping(channel, "", nil)
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, fmt.Errorf("not a JSON list: %w", err)
		}
		var events []connectors.Event
		for i, raw := range items {
			if isRefund(raw) {
				return nil, fmt.Errorf("item %d is a refund: a refunds list needs its order (fetch the order)", i)
			}
			e, err := normalizeOrder(m, raw)
			if errors.Is(err, errNotAnOrder) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			events = append(events, e)
		}
		return events, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object or list: %w", err)
	}
	if _, ok := top["line_items"]; !ok {
		if _, ok := top["status"]; !ok && len(top) == 1 && top["id"] != nil {
			id, err := deletedID(data)
			if err != nil {
				return nil, err
			}
			return []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: channel, OrderID: id, Topic: topicDeleted}}, nil
		}
	}
	if isRefund(data) {
		return nil, errors.New("a refund: it needs its order (fetch the order)")
	}
	e, err := normalizeOrder(m, data)
	if errors.Is(err, errNotAnOrder) {
		return nil, fmt.Errorf("%w: %w", err, connectors.ErrIgnored)
	}
	if err != nil {
		return nil, err
	}
	return []connectors.Event{e}, nil
}

func normalizeOrder(m mapping, raw []byte) (connectors.Event, error) {
	e, _, _, err := readOrderPayload(m, raw)
	return e, err
}

// isRefund says whether an object looks like a refund resource (it has
// refunded_by or refunded_payment, and no status).
func isRefund(raw []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return false
	}
	_, status := top["status"]
	_, by := top["refunded_by"]
	_, paid := top["refunded_payment"]
	return !status && (by || paid)
}
