package amazon

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// Orders API v0 shapes: only the fields that move stock. Unknown fields
// are ignored so Amazon may add more.

// ordersPage is getOrders' answer. CreatedBefore/LastUpdatedBefore are
// left out on purpose: the static sandbox sends "1.569521782042E9" there.
type ordersPage struct {
	Payload struct {
		NextToken string    `json:"NextToken"`
		Orders    []orderV0 `json:"Orders"`
	} `json:"payload"`
}

type orderV0 struct {
	AmazonOrderID      string `json:"AmazonOrderId"`
	SellerOrderID      string `json:"SellerOrderId"`
	LastUpdateDate     string `json:"LastUpdateDate"`
	PurchaseDate       string `json:"PurchaseDate"`
	OrderStatus        string `json:"OrderStatus"`
	FulfillmentChannel string `json:"FulfillmentChannel"`
	// MarketplaceID is the marketplace the order was placed in
	// (confirmShipment names it).
	MarketplaceID string `json:"MarketplaceId"`
	// ShippingAddress: only where the order goes is read, for routing.
	ShippingAddress *struct {
		CountryCode   string `json:"CountryCode"`
		StateOrRegion string `json:"StateOrRegion"`
	} `json:"ShippingAddress"`
}

// orderResponse is getOrder's answer.
type orderResponse struct {
	Payload orderV0 `json:"payload"`
}

// orderItemsPage is getOrderItems' answer.
type orderItemsPage struct {
	Payload struct {
		AmazonOrderID string        `json:"AmazonOrderId"`
		NextToken     string        `json:"NextToken"`
		OrderItems    []orderItemV0 `json:"OrderItems"`
	} `json:"payload"`
}

type orderItemV0 struct {
	OrderItemID     string `json:"OrderItemId"`
	SellerSKU       string `json:"SellerSKU"`
	QuantityOrdered int64  `json:"QuantityOrdered"`
	QuantityShipped int64  `json:"QuantityShipped"`
}

// statusV0 maps an Orders v0 OrderStatus (the spelling ORDER_CHANGE's
// Summary.OrderStatus uses too). Pending orders already hold stock on
// Amazon's side, so they reserve here too; Unfulfillable orders will never
// ship, like cancelled ones. InvoiceUnconfirmed is "all items in the order
// have been shipped" (ordersV0.json, OrderStatus): shipped, not open.
func statusV0(s string) (connectors.OrderStatus, error) {
	switch s {
	case "Pending", "PendingAvailability":
		return connectors.StatusPending, nil
	case "Unshipped":
		return connectors.StatusOpen, nil
	case "PartiallyShipped":
		return connectors.StatusPartiallyShipped, nil
	case "Shipped", "InvoiceUnconfirmed":
		return connectors.StatusShipped, nil
	case "Canceled", "Unfulfillable":
		return connectors.StatusCancelled, nil
	}
	return "", fmt.Errorf("unknown OrderStatus %q", s)
}

// parseTime reads SP-API's ISO 8601 timestamps.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is missing", field)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t.UTC(), nil
}

// isAmazonFulfilled: FBA orders ship from Amazon's stock, not the seller's.
func (o *orderV0) isAmazonFulfilled() bool { return strings.EqualFold(o.FulfillmentChannel, "AFN") }

// toOrder builds the canonical order of o with items.
func (o *orderV0) toOrder(channel string, items []orderItemV0) (*connectors.Order, error) {
	if o.AmazonOrderID == "" {
		return nil, fmt.Errorf("order without AmazonOrderId")
	}
	st, err := statusV0(o.OrderStatus)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.AmazonOrderID, err)
	}
	upd, err := parseTime("LastUpdateDate", o.LastUpdateDate)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.AmazonOrderID, err)
	}
	ord, err := orderState(channel, o.AmazonOrderID, o.SellerOrderID, st, upd, o.isAmazonFulfilled(), items)
	if err == nil && o.ShippingAddress != nil {
		ord.ShipTo = connectors.NewAddress(o.ShippingAddress.CountryCode, o.ShippingAddress.StateOrRegion)
	}
	return ord, err
}

// orderState is the one place an Amazon order's canonical state is built,
// whatever said it: getOrders/getOrder + getOrderItems (v0), searchOrders
// or getOrder (v2026-01-01), or an ORDER_CHANGE notification's Summary. So
// the poller, FetchOrder and a notification agree on the same facts. An
// Amazon-fulfilled order keeps no lines: it moves none of the seller's stock.
func orderState(channel, id, name string, st connectors.OrderStatus, updated time.Time, amazonFulfilled bool, items []orderItemV0) (*connectors.Order, error) {
	ord := &connectors.Order{
		Channel:   channel,
		OrderID:   id,
		Name:      name,
		Status:    st,
		UpdatedAt: updated,
		Lines:     []connectors.Line{},
	}
	if amazonFulfilled {
		return ord, nil
	}
	for _, it := range items {
		ord.Lines = append(ord.Lines, lineV0(st, it))
	}
	if err := ord.Validate(); err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return ord, nil
}

// lineV0 maps one order item. Amazon never reports more shipped than
// ordered, but a bad answer must not make an invalid line; whatever of a
// cancelled order did not ship is cancelled.
func lineV0(st connectors.OrderStatus, it orderItemV0) connectors.Line {
	q := max(it.QuantityOrdered, 0)
	shipped := min(max(it.QuantityShipped, 0), q)
	l := connectors.Line{
		LineID:   it.OrderItemID,
		SKU:      it.SellerSKU,
		Quantity: q,
		Shipped:  shipped,
		NoSKU:    it.SellerSKU == "",
	}
	if st == connectors.StatusCancelled {
		l.Cancelled = q - shipped
	}
	return l
}

// decodeOrdersPage parses a getOrders answer.
func decodeOrdersPage(data []byte) (*ordersPage, error) {
	var p ordersPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("getOrders response: %w", err)
	}
	return &p, nil
}

// decodeOrderItemsPage parses a getOrderItems answer.
func decodeOrderItemsPage(data []byte) (*orderItemsPage, error) {
	var p orderItemsPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("getOrderItems response: %w", err)
	}
	for i, it := range p.Payload.OrderItems {
		if it.OrderItemID == "" {
			return nil, fmt.Errorf("getOrderItems response: item %d has no OrderItemId", i)
		}
	}
	return &p, nil
}
