package ebay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// apiOrder is a Fulfillment API order, the fields that move stock.
type apiOrder struct {
	OrderID                string `json:"orderId"`
	LegacyOrderID          string `json:"legacyOrderId"`
	CreationDate           string `json:"creationDate"`
	LastModifiedDate       string `json:"lastModifiedDate"`
	OrderFulfillmentStatus string `json:"orderFulfillmentStatus"`
	OrderPaymentStatus     string `json:"orderPaymentStatus"`
	CancelStatus           struct {
		CancelState string `json:"cancelState"`
	} `json:"cancelStatus"`
	LineItems []apiLineItem `json:"lineItems"`
	// Where the order ships to (the first instruction that says), for
	// routing: fulfillmentStartInstructions[].shippingStep.shipTo.
	FulfillmentStartInstructions []struct {
		ShippingStep struct {
			ShipTo struct {
				ContactAddress struct {
					CountryCode     string `json:"countryCode"`
					StateOrProvince string `json:"stateOrProvince"`
				} `json:"contactAddress"`
			} `json:"shipTo"`
		} `json:"shippingStep"`
	} `json:"fulfillmentStartInstructions"`
}

// shipTo is the order's destination, nil when no instruction names one.
func (o *apiOrder) shipTo() *connectors.Address {
	for _, f := range o.FulfillmentStartInstructions {
		a := f.ShippingStep.ShipTo.ContactAddress
		if to := connectors.NewAddress(a.CountryCode, a.StateOrProvince); to != nil {
			return to
		}
	}
	return nil
}

type apiLineItem struct {
	LineItemID                string          `json:"lineItemId"`
	LegacyItemID              string          `json:"legacyItemId"`
	SKU                       string          `json:"sku"`
	Quantity                  json.RawMessage `json:"quantity"`
	LineItemFulfillmentStatus string          `json:"lineItemFulfillmentStatus"`
}

// ordersPage is a getOrders answer.
type ordersPage struct {
	Total  int        `json:"total"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
	Next   string     `json:"next"`
	Orders []apiOrder `json:"orders"`
}

// parseTime reads eBay's timestamps (ISO 8601 UTC, milliseconds).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// toOrder maps an eBay order to the canonical model.
//
// Status: a CANCELED cancelState cancels every unit not shipped; else
// orderPaymentStatus PENDING is pending (getOrders leaves such orders out,
// getOrder may show them); else orderFulfillmentStatus NOT_STARTED is
// open, IN_PROGRESS partially shipped, FULFILLED shipped. An unknown
// fulfillment status is taken as open: it keeps the units reserved, the
// safe side against overselling.
//
// Lines: eBay says per line only whether it is fulfilled, not how many
// units shipped. FULFILLED ships the whole quantity; IN_PROGRESS (some
// packages out) ships nothing yet, so the units stay reserved until the
// line is FULFILLED. Available stock is the same either way (shipping
// lowers on-hand and reserved together); only the split waits.
//
// What the ledger would refuse is a *refusal: an order or line id, or a
// SKU, holding a control character; a quantity below 0 or above
// MaxQuantity. The version's distance from the clock is the connector's
// check (Connector.order), not this one's: Normalize has no clock.
func toOrder(channel string, o *apiOrder) (*connectors.Order, error) {
	if o.OrderID == "" {
		return nil, errors.New("order has no orderId")
	}
	if err := connectors.CheckID("orderId", o.OrderID); err != nil {
		return nil, err
	}
	updated, err := parseTime(o.LastModifiedDate)
	if err != nil {
		// An order never modified may carry only its creation date.
		if updated, err = parseTime(o.CreationDate); err != nil {
			return nil, fmt.Errorf("order %s: lastModifiedDate %q: %w", o.OrderID, o.LastModifiedDate, err)
		}
	}
	out := &connectors.Order{
		Channel:   channel,
		OrderID:   o.OrderID,
		Name:      o.LegacyOrderID,
		UpdatedAt: updated,
		Status:    orderStatus(o),
		ShipTo:    o.shipTo(),
		Lines:     make([]connectors.Line, 0, len(o.LineItems)),
	}
	if out.Name == "" {
		out.Name = o.OrderID
	}
	for i := range o.LineItems {
		l, err := toLine(o, i)
		if err != nil {
			return nil, err
		}
		out.Lines = append(out.Lines, l)
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	return out, nil
}

// orderStatus is the order's status by the rules on toOrder.
func orderStatus(o *apiOrder) connectors.OrderStatus {
	switch {
	case o.CancelStatus.CancelState == "CANCELED":
		return connectors.StatusCancelled
	case o.OrderPaymentStatus == "PENDING":
		return connectors.StatusPending
	case o.OrderFulfillmentStatus == "FULFILLED":
		return connectors.StatusShipped
	case o.OrderFulfillmentStatus == "IN_PROGRESS":
		return connectors.StatusPartiallyShipped
	default:
		return connectors.StatusOpen
	}
}

// toLine maps the order's line i by the rules on toOrder, refusing what
// the ledger would refuse.
func toLine(o *apiOrder, i int) (connectors.Line, error) {
	li := &o.LineItems[i]
	qty, err := quantity(li.Quantity)
	if err != nil {
		return connectors.Line{}, fmt.Errorf("order %s line %d: quantity: %w", o.OrderID, i, err)
	}
	if li.LineItemID != "" {
		if err := connectors.CheckID("lineItemId", li.LineItemID); err != nil {
			return connectors.Line{}, fmt.Errorf("order %s line %d: %w", o.OrderID, i, err)
		}
	}
	if li.SKU != "" {
		if err := connectors.CheckSKU(li.SKU); err != nil {
			return connectors.Line{}, fmt.Errorf("order %s line %d: %w", o.OrderID, i, err)
		}
	}
	cancelled := o.CancelStatus.CancelState == "CANCELED"
	l := connectors.Line{LineID: li.LineItemID, SKU: li.SKU, Quantity: qty, NoSKU: li.SKU == ""}
	if li.LineItemFulfillmentStatus == "FULFILLED" || (o.OrderFulfillmentStatus == "FULFILLED" && !cancelled) {
		l.Shipped = qty
	}
	if cancelled {
		l.Cancelled = qty - l.Shipped
	}
	return l, nil
}

// quantity reads a line's quantity: eBay sends an integer; a missing one
// is an error rather than a silent zero, which would release stock. An
// integer past int64 is refused like any quantity above MaxQuantity.
func quantity(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, errors.New("missing")
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		var num json.Number
		if json.Unmarshal(raw, &num) == nil {
			if _, perr := strconv.ParseInt(num.String(), 10, 64); errors.Is(perr, strconv.ErrRange) {
				return 0, connectors.Refuse("quantity", "%s is out of range", num)
			}
		}
		return 0, err
	}
	return n, connectors.CheckQuantity("quantity", n)
}
