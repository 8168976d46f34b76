package amazon

import (
	"encoding/json"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// Orders API v2026-01-01 (searchOrders, getOrder) shapes: the camelCase model
// that carries the items inside the order, so one call replaces getOrders +
// getOrderItems. The source that calls it is ordersV2026 (poller.go).

type searchOrdersPage struct {
	Orders     []orderV2026 `json:"orders"`
	Pagination struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
	LastUpdatedBefore string `json:"lastUpdatedBefore"`
}

// getOrderResponse2026 is v2026-01-01 getOrder's answer.
type getOrderResponse2026 struct {
	Order *orderV2026 `json:"order"`
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
	// Recipient comes with includedData=RECIPIENT; only where the order
	// goes is read, for routing.
	Recipient *struct {
		DeliveryAddress *struct {
			CountryCode   string `json:"countryCode"`
			StateOrRegion string `json:"stateOrRegion"`
		} `json:"deliveryAddress"`
	} `json:"recipient"`
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

// statusV2026 maps v2026-01-01's fulfillment.fulfillmentStatus (the
// FulfillmentStatus enum of orders_2026-01-01.json: the v0 states in
// SCREAMING_SNAKE_CASE, without InvoiceUnconfirmed). INVOICE_UNCONFIRMED is
// not in that enum; it is read as v0's InvoiceUnconfirmed in case it comes.
func statusV2026(s string) (connectors.OrderStatus, error) {
	switch s {
	case "PENDING", "PENDING_AVAILABILITY":
		return connectors.StatusPending, nil
	case "UNSHIPPED":
		return connectors.StatusOpen, nil
	case "PARTIALLY_SHIPPED":
		return connectors.StatusPartiallyShipped, nil
	case "SHIPPED", "INVOICE_UNCONFIRMED":
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
	name := ""
	for _, a := range o.OrderAliases {
		if a.AliasType == "SELLER_ORDER_ID" {
			name = a.AliasID
		}
	}
	items := make([]orderItemV0, 0, len(o.OrderItems))
	for _, it := range o.OrderItems {
		items = append(items, orderItemV0{
			OrderItemID:     it.OrderItemID,
			SellerSKU:       it.Product.SellerSKU,
			QuantityOrdered: it.QuantityOrdered,
			QuantityShipped: it.Fulfillment.QuantityFulfilled,
		})
	}
	ord, err := orderState(channel, o.OrderID, name, st, upd, o.isAmazonFulfilled(), items)
	if err == nil && o.Recipient != nil && o.Recipient.DeliveryAddress != nil {
		a := o.Recipient.DeliveryAddress
		ord.ShipTo = connectors.NewAddress(a.CountryCode, a.StateOrRegion)
	}
	return ord, err
}

// isAmazonFulfilled: fulfilledBy AMAZON (FBA) ships from Amazon's stock.
func (o *orderV2026) isAmazonFulfilled() bool { return o.Fulfillment.FulfilledBy == "AMAZON" }

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

// decodeGetOrder2026 parses a v2026-01-01 getOrder answer into its order.
func decodeGetOrder2026(channel string, data []byte) (*connectors.Order, error) {
	var r getOrderResponse2026
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("getOrder response: %w", err)
	}
	if r.Order == nil {
		return nil, fmt.Errorf("getOrder response without an order")
	}
	o, err := r.Order.toOrder(channel)
	if err != nil {
		return nil, fmt.Errorf("getOrder response: %w", err)
	}
	return o, nil
}
