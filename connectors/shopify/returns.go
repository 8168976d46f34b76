package shopify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// restReturn is a returns/* webhook body: the return, with its id, its
// status (lower case: requested, open, declined, closed, canceled) and its
// order. Shopify's pages found do not show the body (README.md, "Returns
// webhooks"), so the reader takes the fields it needs wherever the
// REST-style body may hold them and nothing more: the order's id from
// order.id, order_id or order.admin_graphql_api_id; the return's id from
// id or admin_graphql_api_id; lines, when there are any, from
// return_line_items (the order line through fulfillment_line_item.line_item,
// line_item or line_item_id).
type restReturn struct {
	ID         json.Number `json:"id"`
	AdminGID   string      `json:"admin_graphql_api_id"`
	Status     *string     `json:"status"`
	CreatedAt  *time.Time  `json:"created_at"`
	OrderID    json.Number `json:"order_id"`
	Order      *restRef    `json:"order"`
	ReturnLine []struct {
		ID           json.Number          `json:"id"`
		Quantity     int64                `json:"quantity"`
		ReturnReason *string              `json:"return_reason"`
		LineItemID   json.Number          `json:"line_item_id"`
		LineItem     *restRef             `json:"line_item"`
		Fulfillment  *restFulfillmentLine `json:"fulfillment_line_item"`
	} `json:"return_line_items"`
}

// restFulfillmentLine is a return line's fulfillment line item.
type restFulfillmentLine struct {
	LineItem *restRef `json:"line_item"`
}

// restRef is a nested resource: its id, GID and SKU (for a line item).
type restRef struct {
	ID       json.Number `json:"id"`
	AdminGID string      `json:"admin_graphql_api_id"`
	SKU      *string     `json:"sku"`
}

func (r *restRef) numeric() string {
	if r == nil {
		return ""
	}
	if id := numericID(r.ID.String()); id != "" {
		return id
	}
	return numericID(r.AdminGID)
}

// returnReceived is the status that says the items are back with the
// merchant: CLOSED, "a return is complete, either when a refund has been
// made and items restocked, or simply when it has been marked as returned"
// (returnClose; README.md, "Returns webhooks").
const returnReceived = "closed"

// returnStatuses are Shopify's ReturnStatus values, lower case.
var returnStatuses = map[string]bool{"requested": true, "open": true, "declined": true, "closed": true, "canceled": true}

// returnEvents reads a returns/* body into one return event. status is
// the topic's; a body stating a known status of its own wins (the latest
// state when deliveries arrive out of order). The event names the order:
// the engine fetches it (its refunds carry the units Shopify refunded and
// restocked), then books the return's lines by the channel's returns
// policy: a closed return's lines are Received.
func returnEvents(channel, status string, body []byte) ([]connectors.Event, error) {
	var r restReturn
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("reading return: %w", err)
	}
	ret, err := r.toReturn(status)
	if err != nil {
		return nil, err
	}
	return []connectors.Event{{Kind: connectors.EventReturn, Channel: channel, OrderID: ret.OrderID, Return: ret}}, nil
}

func (r *restReturn) toReturn(status string) (*connectors.Return, error) {
	id := numericID(r.ID.String())
	if id == "" {
		id = numericID(r.AdminGID)
	}
	orderID := numericID(r.OrderID.String())
	if orderID == "" {
		orderID = r.Order.numeric()
	}
	if id == "" || orderID == "" {
		return nil, errors.New("return without an id or an order id")
	}
	if s := strings.ToLower(strings.TrimSpace(str(r.Status))); returnStatuses[s] {
		status = s
	}
	out := &connectors.Return{OrderID: orderID, ReturnID: id, Status: status, Facts: true, Lines: []connectors.ReturnLine{}}
	if r.CreatedAt != nil {
		out.CreatedAt = r.CreatedAt.UTC()
		if err := connectors.CheckVersionFloor("created_at", out.CreatedAt); err != nil {
			return nil, err
		}
	}
	for i, l := range r.ReturnLine {
		line, err := returnLine(i, l.Quantity, str(l.ReturnReason), l.LineItemID, l.LineItem, l.Fulfillment)
		if err != nil {
			return nil, fmt.Errorf("return %s: %w", id, err)
		}
		line.Received = status == returnReceived
		out.Lines = append(out.Lines, line)
	}
	return out, nil
}

// returnLine reads return_line_items[i]: the order line, its units and
// Shopify's return reason (Received is the caller's: the return's status).
func returnLine(i int, qty int64, reason string, lineItemID json.Number, lineItem *restRef, fl *restFulfillmentLine) (connectors.ReturnLine, error) {
	ref := lineItem
	if fl != nil && fl.LineItem != nil {
		ref = fl.LineItem
	}
	id := ref.numeric()
	if id == "" {
		id = numericID(lineItemID.String())
	}
	if id == "" {
		return connectors.ReturnLine{}, fmt.Errorf("return_line_items[%d]: no line item id", i)
	}
	if err := connectors.CheckQuantity(fmt.Sprintf("return_line_items[%d].quantity", i), qty); err != nil {
		return connectors.ReturnLine{}, err
	}
	var sku string
	if ref != nil {
		sku = strings.TrimSpace(str(ref.SKU))
	}
	if sku != "" {
		if err := connectors.CheckSKU(sku); err != nil {
			return connectors.ReturnLine{}, err
		}
	}
	reason = strings.ToLower(strings.TrimSpace(reason))
	if reason != "" {
		if err := connectors.CheckID("return_reason", reason); err != nil {
			return connectors.ReturnLine{}, err
		}
	}
	return connectors.ReturnLine{LineID: id, SKU: sku, Quantity: qty, Reason: reason}, nil
}
