package shopify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// REST shapes: what webhook bodies carry (the REST resource of the topic,
// bare) and what REST list responses carry (wrapped). Only the fields that
// move stock are declared; the decoder ignores the rest, so Shopify adding
// fields breaks nothing.

type restOrder struct {
	ID              json.Number        `json:"id"`
	Name            string             `json:"name"`
	UpdatedAt       time.Time          `json:"updated_at"`
	CancelledAt     *time.Time         `json:"cancelled_at"`
	FinancialStatus *string            `json:"financial_status"`
	LocationID      json.Number        `json:"location_id"`
	LineItems       []restLine         `json:"line_items"`
	Fulfillments    *[]restFulfillment `json:"fulfillments"`
	Refunds         []restRefund       `json:"refunds"`
	ShippingAddress *struct {
		CountryCode  string `json:"country_code"`
		ProvinceCode string `json:"province_code"`
	} `json:"shipping_address"`
}

type restLine struct {
	ID                  json.Number `json:"id"`
	SKU                 *string     `json:"sku"`
	Quantity            int64       `json:"quantity"`
	CurrentQuantity     *int64      `json:"current_quantity"`
	FulfillmentStatus   *string     `json:"fulfillment_status"`
	FulfillableQuantity *int64      `json:"fulfillable_quantity"`
}

type restFulfillment struct {
	Status    string `json:"status"`
	LineItems []struct {
		ID       json.Number `json:"id"`
		Quantity int64       `json:"quantity"`
	} `json:"line_items"`
}

type restRefund struct {
	ID              json.Number      `json:"id"`
	OrderID         json.Number      `json:"order_id"`
	CreatedAt       time.Time        `json:"created_at"`
	Restock         bool             `json:"restock"`
	RefundLineItems []restRefundLine `json:"refund_line_items"`
}

type restRefundLine struct {
	LineItemID  json.Number `json:"line_item_id"`
	Quantity    int64       `json:"quantity"`
	RestockType *string     `json:"restock_type"`
	LineItem    *struct {
		ID  json.Number `json:"id"`
		SKU *string     `json:"sku"`
	} `json:"line_item"`
}

type restInventoryLevel struct {
	InventoryItemID json.Number `json:"inventory_item_id"`
	LocationID      json.Number `json:"location_id"`
	Available       *int64      `json:"available"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (o *restOrder) source() (*orderSource, error) {
	id := numericID(o.ID.String())
	if id == "" {
		return nil, errors.New("order: missing or bad id")
	}
	src := &orderSource{
		ID:              id,
		Name:            o.Name,
		UpdatedAt:       o.UpdatedAt,
		Cancelled:       o.CancelledAt != nil && !o.CancelledAt.IsZero(),
		FinancialStatus: strings.ToLower(str(o.FinancialStatus)),
		LocationID:      numericID(o.LocationID.String()),
	}
	if a := o.ShippingAddress; a != nil {
		src.ShipTo = connectors.NewAddress(a.CountryCode, a.ProvinceCode)
	}
	for i, l := range o.LineItems {
		lid := numericID(l.ID.String())
		if lid == "" {
			return nil, fmt.Errorf("order %s: line_items[%d]: missing or bad id", id, i)
		}
		src.Lines = append(src.Lines, lineSource{
			ID:                  lid,
			SKU:                 str(l.SKU),
			Quantity:            l.Quantity,
			CurrentQuantity:     l.CurrentQuantity,
			FulfillmentStatus:   strings.ToLower(str(l.FulfillmentStatus)),
			FulfillableQuantity: l.FulfillableQuantity,
		})
	}
	if o.Fulfillments != nil {
		src.HasFulfillments = true
		for _, f := range *o.Fulfillments {
			fs := fulfillmentSource{Status: strings.ToLower(f.Status)}
			for _, l := range f.LineItems {
				fs.Lines = append(fs.Lines, lineQty{LineID: numericID(l.ID.String()), Quantity: l.Quantity})
			}
			src.Fulfillments = append(src.Fulfillments, fs)
		}
	}
	for _, r := range o.Refunds {
		rs, err := r.source(id)
		if err != nil {
			return nil, fmt.Errorf("order %s: %w", id, err)
		}
		src.Refunds = append(src.Refunds, *rs)
	}
	return src, nil
}

// source reads a refund; orderID fills a refund nested in its order.
func (r *restRefund) source(orderID string) (*refundSource, error) {
	id := numericID(r.ID.String())
	if id == "" {
		return nil, errors.New("refund: missing or bad id")
	}
	oid := numericID(r.OrderID.String())
	if oid == "" {
		oid = orderID
	}
	src := &refundSource{ID: id, OrderID: oid, CreatedAt: r.CreatedAt, Restock: r.Restock}
	for i, l := range r.RefundLineItems {
		lid := numericID(l.LineItemID.String())
		var sku string
		if l.LineItem != nil {
			if lid == "" {
				lid = numericID(l.LineItem.ID.String())
			}
			sku = str(l.LineItem.SKU)
		}
		if lid == "" {
			return nil, fmt.Errorf("refund %s: refund_line_items[%d]: no line_item_id", id, i)
		}
		src.Lines = append(src.Lines, refundLineSource{
			LineID:      lid,
			SKU:         sku,
			Quantity:    l.Quantity,
			RestockType: strings.ToLower(str(l.RestockType)),
		})
	}
	return src, nil
}
