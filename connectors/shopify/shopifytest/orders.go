package shopifytest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Order is an order held by the fake store. Quantities follow Shopify:
// Quantity is what was ordered, Removed the units an edit took out;
// currentQuantity excludes removed and refunded units.
type Order struct {
	ID          int64
	Name        string
	UpdatedAt   time.Time
	CancelledAt *time.Time
	// FinancialStatus is GraphQL's displayFinancialStatus (PAID, PENDING, AUTHORIZED…).
	FinancialStatus string
	// RetailLocationID is the location GID of a POS order, "" for online orders.
	RetailLocationID string
	// ShipTo is the shipping address's country (ISO alpha-2) and
	// province code; nil: the order has no shipping address.
	ShipTo       *Address
	Lines        []OrderLine
	Fulfillments []Fulfillment
	Refunds      []Refund
	// FulfillmentOrders are the order's fulfillment orders; AddOrder
	// creates one at the store's location holding every line when none
	// is given, as Shopify creates them with the order.
	FulfillmentOrders []FulfillmentOrder
}

// Address is the part of an order's shipping address the fake serves:
// GraphQL MailingAddress countryCodeV2 and provinceCode, REST
// shipping_address country_code and province_code.
type Address struct {
	CountryCode  string
	ProvinceCode string
}

// OrderLine is a line item; SKU "" is a custom item.
type OrderLine struct {
	ID       int64
	SKU      string
	Quantity int64
	Removed  int64
}

// Fulfillment is a shipment: Status SUCCESS, CANCELLED, FAILURE, OPEN…;
// Lines maps a line id to its units. ID is assigned by AddOrder when
// zero; Tracking and NotifyCustomer are what fulfillmentCreate was given.
type Fulfillment struct {
	ID             int64
	Status         string
	Lines          map[int64]int64
	Tracking       *Tracking
	NotifyCustomer bool
}

// Tracking is a fulfillment's tracking info.
type Tracking struct {
	Company, Number, URL string
}

// Refund refunds units of lines; RestockType is RETURN, CANCEL, NO_RESTOCK or LEGACY_RESTOCK.
type Refund struct {
	ID        int64
	CreatedAt time.Time
	Lines     []RefundLine
}

// RefundLine is one refunded line.
type RefundLine struct {
	LineID      int64
	Quantity    int64
	RestockType string
}

// AddOrder stores o (replacing an order with its id) and returns its id.
// A zero ID or line ID is assigned; a zero UpdatedAt is now. Times are
// stored as Shopify keeps them, in whole seconds (cut, not rounded): two
// states of an order within one second share their updated_at.
func (s *Server) AddOrder(o Order) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == 0 {
		s.nextID++
		o.ID = s.nextID
	}
	if o.Name == "" {
		o.Name = "#" + strconv.FormatInt(o.ID, 10)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = time.Now()
	}
	o.UpdatedAt = wholeSeconds(o.UpdatedAt)
	if o.CancelledAt != nil {
		at := wholeSeconds(*o.CancelledAt)
		o.CancelledAt = &at
	}
	o.Refunds = append([]Refund(nil), o.Refunds...)
	for i := range o.Refunds {
		o.Refunds[i].CreatedAt = wholeSeconds(o.Refunds[i].CreatedAt)
	}
	o.Lines = append([]OrderLine(nil), o.Lines...)
	for i := range o.Lines {
		if o.Lines[i].ID == 0 {
			s.nextID++
			o.Lines[i].ID = s.nextID
		}
	}
	o.Fulfillments = append([]Fulfillment(nil), o.Fulfillments...)
	for i := range o.Fulfillments {
		if o.Fulfillments[i].ID == 0 {
			s.nextID++
			o.Fulfillments[i].ID = s.nextID
		}
	}
	s.fulfillmentOrdersLocked(&o)
	s.orders[o.ID] = &o
	return o.ID
}

// Order returns a copy of the stored order.
func (s *Server) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// wholeSeconds is t as Shopify states times: UTC, whole seconds.
func wholeSeconds(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func (o *Order) currentQuantity(l OrderLine) int64 {
	q := l.Quantity - l.Removed
	for _, r := range o.Refunds {
		for _, rl := range r.Lines {
			if rl.LineID == l.ID {
				q -= rl.Quantity
			}
		}
	}
	return max(q, 0)
}

func (o *Order) fulfilled(lineID int64) int64 {
	var n int64
	for _, f := range o.Fulfillments {
		if strings.EqualFold(f.Status, "SUCCESS") {
			n += f.Lines[lineID]
		}
	}
	return n
}

func orderGID(id int64) string { return "gid://shopify/Order/" + strconv.FormatInt(id, 10) }
func lineGID(id int64) string  { return "gid://shopify/LineItem/" + strconv.FormatInt(id, 10) }

func skuValue(sku string) any {
	if sku == "" {
		return nil // GraphQL: a custom item has no SKU
	}
	return sku
}

// graphQL renders the order as the connector's ShelfsyncOrder fragment
// asks for it, with the first linesFirst lines; shippingAddress is the
// server's to add (shipToLocked), only when the query asks for it.
func (o *Order) graphQL(linesFirst int) map[string]any {
	lines, pi := o.lineNodes("", linesFirst)
	fulfillments := []any{}
	for _, f := range o.Fulfillments {
		ids := make([]int64, 0, len(f.Lines))
		for id := range f.Lines {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		nodes := []any{}
		for _, id := range ids {
			nodes = append(nodes, map[string]any{"quantity": f.Lines[id], "lineItem": map[string]any{"id": lineGID(id)}})
		}
		fulfillments = append(fulfillments, map[string]any{"status": strings.ToUpper(f.Status), "fulfillmentLineItems": map[string]any{"nodes": nodes}})
	}
	refunds := []any{}
	for _, r := range o.Refunds {
		nodes := []any{}
		for _, rl := range r.Lines {
			var sku string
			for _, l := range o.Lines {
				if l.ID == rl.LineID {
					sku = l.SKU
				}
			}
			nodes = append(nodes, map[string]any{"quantity": rl.Quantity, "restockType": strings.ToUpper(rl.RestockType), "lineItem": map[string]any{"id": lineGID(rl.LineID), "sku": skuValue(sku)}})
		}
		refunds = append(refunds, map[string]any{"id": "gid://shopify/Refund/" + strconv.FormatInt(r.ID, 10), "createdAt": r.CreatedAt.UTC().Format(time.RFC3339), "refundLineItems": map[string]any{"nodes": nodes}})
	}
	var loc any
	if o.RetailLocationID != "" {
		loc = map[string]any{"id": o.RetailLocationID}
	}
	var cancelled any
	if o.CancelledAt != nil {
		cancelled = o.CancelledAt.UTC().Format(time.RFC3339)
	}
	fs := o.FinancialStatus
	if fs == "" {
		fs = "PAID"
	}
	return map[string]any{
		"id":                     orderGID(o.ID),
		"name":                   o.Name,
		"updatedAt":              o.UpdatedAt.UTC().Format(time.RFC3339),
		"cancelledAt":            cancelled,
		"displayFinancialStatus": strings.ToUpper(fs),
		"retailLocation":         loc,
		"lineItems":              map[string]any{"pageInfo": pi, "nodes": lines},
		"fulfillments":           fulfillments,
		"refunds":                refunds,
	}
}

// lineNodes pages the order's lines: after is a cursor of this fake.
func (o *Order) lineNodes(after string, first int) ([]any, map[string]any) {
	start := cursorOffset(after)
	nodes := []any{}
	end := min(start+first, len(o.Lines))
	for i := start; i < end; i++ {
		l := o.Lines[i]
		nodes = append(nodes, map[string]any{"id": lineGID(l.ID), "sku": skuValue(l.SKU), "quantity": l.Quantity, "currentQuantity": o.currentQuantity(l)})
	}
	return nodes, pageInfo(end, len(o.Lines))
}

// WebhookBody renders the stored order as an orders/* webhook body: the
// REST order resource, bare.
func (s *Server) WebhookBody(id int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return nil, fmt.Errorf("shopifytest: no order %d", id)
	}
	lines := []any{}
	for _, l := range o.Lines {
		cur := o.currentQuantity(l)
		lines = append(lines, map[string]any{
			"id": l.ID, "sku": l.SKU, "quantity": l.Quantity, "current_quantity": cur,
			"fulfillable_quantity": max(cur-o.fulfilled(l.ID), 0),
			"variant_id":           nil,
		})
	}
	fulfillments := []any{}
	for _, f := range o.Fulfillments {
		fl := []any{}
		for id, q := range f.Lines {
			fl = append(fl, map[string]any{"id": id, "quantity": q})
		}
		fulfillments = append(fulfillments, map[string]any{"status": strings.ToLower(f.Status), "line_items": fl})
	}
	refunds := []any{}
	for _, r := range o.Refunds {
		rl := []any{}
		for _, l := range r.Lines {
			rl = append(rl, map[string]any{"line_item_id": l.LineID, "quantity": l.Quantity, "restock_type": strings.ToLower(l.RestockType)})
		}
		refunds = append(refunds, map[string]any{"id": r.ID, "order_id": o.ID, "created_at": r.CreatedAt.UTC().Format(time.RFC3339), "refund_line_items": rl})
	}
	var loc any
	if id := o.RetailLocationID; id != "" {
		n, _ := strconv.ParseInt(id[strings.LastIndexByte(id, '/')+1:], 10, 64)
		loc = n
	}
	var cancelled any
	if o.CancelledAt != nil {
		cancelled = o.CancelledAt.UTC().Format(time.RFC3339)
	}
	return json.Marshal(map[string]any{
		"id": o.ID, "name": o.Name, "updated_at": o.UpdatedAt.UTC().Format(time.RFC3339),
		"cancelled_at": cancelled, "financial_status": strings.ToLower(o.FinancialStatus), "location_id": loc,
		"shipping_address": o.restShipTo(),
		"line_items":       lines, "fulfillments": fulfillments, "refunds": refunds,
	})
}

// graphQLShipTo is the order's shippingAddress (a MailingAddress, only
// the fields the connector asks for), or null.
func (o *Order) graphQLShipTo() any {
	if o.ShipTo == nil {
		return nil
	}
	return map[string]any{"countryCodeV2": o.ShipTo.CountryCode, "provinceCode": o.ShipTo.ProvinceCode}
}

// restShipTo is the REST order's shipping_address, or null.
func (o *Order) restShipTo() any {
	if o.ShipTo == nil {
		return nil
	}
	return map[string]any{"country_code": o.ShipTo.CountryCode, "province_code": o.ShipTo.ProvinceCode}
}
