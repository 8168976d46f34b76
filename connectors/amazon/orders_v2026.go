package amazon

import (
	"encoding/json"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// Orders API v2026-01-01 (searchOrders, getOrder) shapes: the camelCase model
// that carries the items inside the order, so one call replaces getOrders +
// getOrderItems. Only the parser is here; a v2026 orderSource beside
// ordersV0 makes the poller use it.

type searchOrdersPage struct {
	Orders     []orderV2026 `json:"orders"`
	Pagination struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
	LastUpdatedBefore string `json:"lastUpdatedBefore"`
}

type orderV2026 struct {
	OrderID         string `json:"orderId"`
	LastUpdatedTime string `json:"lastUpdatedTime"`
	OrderAliases    []struct {
		AliasID   string `json:"aliasId"`
		AliasType string `json:"aliasType"`
	} `json:"orderAliases"`
	Fulfillment struct {
		FulfillmentStatus string `json:"fulfillmentStatus"`
		FulfilledBy       string `json:"fulfilledBy"`
	} `json:"fulfillment"`
	OrderItems []struct {
		OrderItemID     string `json:"orderItemId"`
		QuantityOrdered int64  `json:"quantityOrdered"`
		Product         struct {
			SellerSKU string `json:"sellerSku"`
		} `json:"product"`
		Fulfillment struct {
			QuantityFulfilled   int64 `json:"quantityFulfilled"`
			QuantityUnfulfilled int64 `json:"quantityUnfulfilled"`
		} `json:"fulfillment"`
	} `json:"orderItems"`
}

// statusV2026 maps v2026-01-01's fulfillmentStatus (SCREAMING_SNAKE_CASE
// spellings of the v0 states).
func statusV2026(s string) (connectors.OrderStatus, error) {
	switch s {
	case "PENDING", "PENDING_AVAILABILITY":
		return connectors.StatusPending, nil
	case "UNSHIPPED", "INVOICE_UNCONFIRMED":
		return connectors.StatusOpen, nil
	case "PARTIALLY_SHIPPED":
		return connectors.StatusPartiallyShipped, nil
	case "SHIPPED":
		return connectors.StatusShipped, nil
	case "CANCELLED", "UNFULFILLABLE":
		return connectors.StatusCancelled, nil
	}
	return "", fmt.Errorf("unknown fulfillmentStatus %q", s)
}

func (o *orderV2026) toOrder(channel string) (*connectors.Order, error) {
	if o.OrderID == "" {
		return nil, fmt.Errorf("order without orderId")
	}
	st, err := statusV2026(o.Fulfillment.FulfillmentStatus)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	upd, err := parseTime("lastUpdatedTime", o.LastUpdatedTime)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	ord := &connectors.Order{Channel: channel, OrderID: o.OrderID, Status: st, UpdatedAt: upd, Lines: []connectors.Line{}}
	for _, a := range o.OrderAliases {
		if a.AliasType == "SELLER_ORDER_ID" {
			ord.Name = a.AliasID
		}
	}
	if o.Fulfillment.FulfilledBy == "AMAZON" {
		return ord, nil
	}
	for _, it := range o.OrderItems {
		ord.Lines = append(ord.Lines, lineV0(st, orderItemV0{
			OrderItemID:     it.OrderItemID,
			SellerSKU:       it.Product.SellerSKU,
			QuantityOrdered: it.QuantityOrdered,
			QuantityShipped: it.Fulfillment.QuantityFulfilled,
		}))
	}
	if err := ord.Validate(); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	return ord, nil
}

// decodeSearchOrders parses a v2026-01-01 searchOrders answer into orders.
func decodeSearchOrders(channel string, data []byte) ([]connectors.Order, string, error) {
	var p searchOrdersPage
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, "", fmt.Errorf("searchOrders response: %w", err)
	}
	out := make([]connectors.Order, 0, len(p.Orders))
	for i := range p.Orders {
		o, err := p.Orders[i].toOrder(channel)
		if err != nil {
			return nil, "", fmt.Errorf("searchOrders response: %w", err)
		}
		out = append(out, *o)
	}
	return out, p.Pagination.NextToken, nil
}
