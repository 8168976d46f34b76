package shopify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// GraphQL shapes of an order, as the queries in queries.go ask for them.

type gqlPageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type gqlOrder struct {
	ID                     string     `json:"id"`
	Name                   string     `json:"name"`
	UpdatedAt              time.Time  `json:"updatedAt"`
	CancelledAt            *time.Time `json:"cancelledAt"`
	DisplayFinancialStatus *string    `json:"displayFinancialStatus"`
	RetailLocation         *struct {
		ID string `json:"id"`
	} `json:"retailLocation"`
	// ShippingAddress is a MailingAddress (null without shipping).
	ShippingAddress *struct {
		CountryCodeV2 string `json:"countryCodeV2"`
		ProvinceCode  string `json:"provinceCode"`
	} `json:"shippingAddress"`
	LineItems    gqlLineItems      `json:"lineItems"`
	Fulfillments *[]gqlFulfillment `json:"fulfillments"`
	Refunds      []gqlRefund       `json:"refunds"`
}

type gqlLineItems struct {
	PageInfo gqlPageInfo `json:"pageInfo"`
	Nodes    []gqlLine   `json:"nodes"`
}

type gqlLine struct {
	ID              string  `json:"id"`
	SKU             *string `json:"sku"`
	Quantity        int64   `json:"quantity"`
	CurrentQuantity *int64  `json:"currentQuantity"`
}

type gqlFulfillment struct {
	Status               string `json:"status"`
	FulfillmentLineItems struct {
		Nodes []struct {
			Quantity int64 `json:"quantity"`
			LineItem struct {
				ID string `json:"id"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"fulfillmentLineItems"`
}

type gqlRefund struct {
	ID              string    `json:"id"`
	CreatedAt       time.Time `json:"createdAt"`
	RefundLineItems struct {
		Nodes []struct {
			Quantity    int64   `json:"quantity"`
			RestockType *string `json:"restockType"`
			LineItem    struct {
				ID  string  `json:"id"`
				SKU *string `json:"sku"`
			} `json:"lineItem"`
		} `json:"nodes"`
	} `json:"refundLineItems"`
}

func (o *gqlOrder) source() (*orderSource, error) {
	id := numericID(o.ID)
	if id == "" {
		return nil, errors.New("order: missing or bad id")
	}
	src := &orderSource{
		ID:              id,
		Name:            o.Name,
		UpdatedAt:       o.UpdatedAt,
		Cancelled:       o.CancelledAt != nil && !o.CancelledAt.IsZero(),
		FinancialStatus: strings.ToLower(str(o.DisplayFinancialStatus)),
	}
	if o.RetailLocation != nil {
		src.LocationID = numericID(o.RetailLocation.ID)
	}
	if a := o.ShippingAddress; a != nil {
		src.ShipTo = connectors.NewAddress(a.CountryCodeV2, a.ProvinceCode)
	}
	for i, l := range o.LineItems.Nodes {
		lid := numericID(l.ID)
		if lid == "" {
			return nil, fmt.Errorf("order %s: lineItems[%d]: missing or bad id", id, i)
		}
		src.Lines = append(src.Lines, lineSource{ID: lid, SKU: str(l.SKU), Quantity: l.Quantity, CurrentQuantity: l.CurrentQuantity})
	}
	if o.Fulfillments != nil {
		src.HasFulfillments = true
		for _, f := range *o.Fulfillments {
			fs := fulfillmentSource{Status: strings.ToLower(f.Status)}
			for _, n := range f.FulfillmentLineItems.Nodes {
				fs.Lines = append(fs.Lines, lineQty{LineID: numericID(n.LineItem.ID), Quantity: n.Quantity})
			}
			src.Fulfillments = append(src.Fulfillments, fs)
		}
	}
	for _, r := range o.Refunds {
		rid := numericID(r.ID)
		if rid == "" {
			return nil, fmt.Errorf("order %s: refund without a valid id", id)
		}
		rs := refundSource{ID: rid, OrderID: id, CreatedAt: r.CreatedAt}
		for _, n := range r.RefundLineItems.Nodes {
			lid := numericID(n.LineItem.ID)
			if lid == "" {
				return nil, fmt.Errorf("order %s: refund %s: a line without a valid id", id, rid)
			}
			t := strings.ToLower(str(n.RestockType))
			if t == "" {
				// GraphQL always states the type; none means nothing restocked.
				t = "no_restock"
			}
			rs.Lines = append(rs.Lines, refundLineSource{LineID: lid, SKU: str(n.LineItem.SKU), Quantity: n.Quantity, RestockType: t})
		}
		src.Refunds = append(src.Refunds, rs)
	}
	return src, nil
}
