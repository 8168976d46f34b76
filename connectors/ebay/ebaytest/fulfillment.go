package ebaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fulfillment is a shipping fulfillment the fake recorded.
type Fulfillment struct {
	ID             string
	OrderID        string
	Lines          []FulfillmentLine
	CarrierCode    string
	TrackingNumber string
	ShippedDate    time.Time
}

// FulfillmentLine is a line and its units in a Fulfillment.
type FulfillmentLine struct {
	LineItemID string
	Quantity   int64
}

// CarrierCodes are the shippingCarrierCode values the fake takes: part of
// eBay's ShippingCarrierCodeType list.
var CarrierCodes = map[string]bool{
	"A1CourierServices": true, "ABF": true, "AeroPost": true, "ALLIEDEXPRESS": true, "AMWST": true,
	"AnPost": true, "APC": true, "ARAMEX": true, "ARVATO": true, "ASM": true, "AustraliaPost": true,
	"Bartolini": true, "BELGIANPOST": true, "BPost": true, "CanPar": true, "ChinaPost": true,
	"Chronopost": true, "Correos": true, "DeutschePost": true, "DHL": true, "FedEx": true,
	"Hermes": true, "Other": true, "Parcelforce": true, "RoyalMail": true, "Seur": true,
	"UPS": true, "USPS": true,
}

// Error ids the fake answers createShippingFulfillment with (not
// documented by eBay; 32100 is getOrder's "Invalid order ID").
const (
	ErrInvalidOrder     = 32100
	ErrInvalidLineItem  = 34100
	ErrInvalidQuantity  = 34200
	ErrInvalidCarrier   = 34300
	ErrMissingTracking  = 34400
	ErrInvalidShipDate  = 34500
	ErrInvalidRequest   = 34600
	ErrOrderCancelled   = 34700
	maxFulfillmentBytes = 1 << 20
)

// Fulfillments returns the fulfillments recorded for an order.
func (s *Server) Fulfillments(orderID string) []Fulfillment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Fulfillment(nil), s.fulfillments[orderID]...)
}

// LoseFulfillmentAnswers makes the next n createShippingFulfillment calls
// record the fulfillment and then answer 502, as when eBay made it but
// the answer was lost on the way.
func (s *Server) LoseFulfillmentAnswers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loseAnswers = n
}

// fulfillmentBody is ShippingFulfillmentDetails.
type fulfillmentBody struct {
	LineItems []struct {
		LineItemID string `json:"lineItemId"`
		Quantity   *int64 `json:"quantity"`
	} `json:"lineItems"`
	ShippedDate         string `json:"shippedDate"`
	ShippingCarrierCode string `json:"shippingCarrierCode"`
	TrackingNumber      string `json:"trackingNumber"`
}

// handleCreateFulfillment is POST /sell/fulfillment/v1/order/{orderId}/
// shipping_fulfillment: a JSON body (else 415); an order the fake knows
// (else 404 32100) and not cancelled (else 400 34700); at least one line, each a line item of the order
// named once, with a whole quantity above 0 (default 1) not above the
// line's units not yet fulfilled; a known shippingCarrierCode with a
// trackingNumber, and the other way round; shippedDate, if given, in
// eBay's format and not in the future. Each refusal is 400 with eBay's
// error list. A fulfillment is answered 201 with its URI in Location.
func (s *Server) handleCreateFulfillment(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeErrors(w, http.StatusUnsupportedMediaType, fulfillmentError(ErrInvalidRequest, "Content-Type must be application/json"))
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFulfillmentBytes))
	var body fulfillmentBody
	if err != nil || json.Unmarshal(data, &body) != nil {
		writeErrors(w, http.StatusBadRequest, fulfillmentError(ErrInvalidRequest, "The request body is not valid JSON"))
		return
	}
	orderID := r.PathValue("id")
	s.mu.Lock()
	f, status, bad := s.createFulfillment(orderID, &body)
	lose := false
	if bad == nil && s.loseAnswers > 0 {
		s.loseAnswers--
		lose = true
	}
	s.mu.Unlock()
	switch {
	case bad != nil:
		writeErrors(w, status, *bad)
	case lose:
		writeErrors(w, http.StatusBadGateway, Error{ErrorID: 2003, Domain: "ACCESS", Category: "APPLICATION", Message: "Internal error"})
	default:
		w.Header().Set("Location", s.srv.URL+"/sell/fulfillment/v1/order/"+orderID+"/shipping_fulfillment/"+f.ID)
		w.WriteHeader(http.StatusCreated)
	}
}

func fulfillmentError(id int, msg string) Error {
	return Error{ErrorID: id, Domain: "API_FULFILLMENT", Category: "REQUEST", Message: msg}
}

// createFulfillment checks body against the order (with s.mu held) and
// records it, or says why not.
func (s *Server) createFulfillment(orderID string, body *fulfillmentBody) (Fulfillment, int, *Error) {
	o, ok := s.orders[orderID]
	if !ok {
		e := fulfillmentError(ErrInvalidOrder, "Invalid order ID: "+orderID)
		return Fulfillment{}, http.StatusNotFound, &e
	}
	if o.CancelState == "CANCELED" {
		e := fulfillmentError(ErrOrderCancelled, "The order "+orderID+" is cancelled")
		return Fulfillment{}, http.StatusBadRequest, &e
	}
	f := Fulfillment{OrderID: orderID, CarrierCode: body.ShippingCarrierCode, TrackingNumber: body.TrackingNumber, ShippedDate: s.opts.Now().UTC()}
	if e := s.checkShipping(body, &f); e != nil {
		return Fulfillment{}, http.StatusBadRequest, e
	}
	lines, e := s.checkLines(o, body)
	if e != nil {
		return Fulfillment{}, http.StatusBadRequest, e
	}
	f.Lines = lines
	f.ID = strconv.Itoa(s.nextFulfillment)
	s.nextFulfillment++
	s.fulfillments[orderID] = append(s.fulfillments[orderID], f)
	s.applyFulfillment(o, lines)
	return f, http.StatusCreated, nil
}

// checkShipping checks the carrier, tracking number and date.
func (s *Server) checkShipping(body *fulfillmentBody, f *Fulfillment) *Error {
	var e Error
	switch {
	case body.ShippingCarrierCode != "" && !CarrierCodes[body.ShippingCarrierCode]:
		e = fulfillmentError(ErrInvalidCarrier, "Invalid shipping carrier code: "+body.ShippingCarrierCode)
	case (body.ShippingCarrierCode == "") != (strings.TrimSpace(body.TrackingNumber) == ""):
		e = fulfillmentError(ErrMissingTracking, "shippingCarrierCode and trackingNumber must be given together")
	case body.ShippedDate != "":
		t, err := time.Parse(dateFormat, body.ShippedDate)
		if err != nil || t.After(s.opts.Now()) {
			e = fulfillmentError(ErrInvalidShipDate, "Invalid shippedDate: "+body.ShippedDate)
			break
		}
		f.ShippedDate = t
		return nil
	default:
		return nil
	}
	return &e
}

// checkLines checks the lines against the order's open units.
func (s *Server) checkLines(o *Order, body *fulfillmentBody) ([]FulfillmentLine, *Error) {
	if len(body.LineItems) == 0 {
		e := fulfillmentError(ErrInvalidLineItem, "At least one line item is required")
		return nil, &e
	}
	lines := make([]FulfillmentLine, 0, len(body.LineItems))
	seen := map[string]bool{}
	for _, li := range body.LineItems {
		l := o.line(li.LineItemID)
		if l == nil || seen[li.LineItemID] {
			e := fulfillmentError(ErrInvalidLineItem, "Invalid line item id: "+li.LineItemID)
			return nil, &e
		}
		seen[li.LineItemID] = true
		qty := int64(1)
		if li.Quantity != nil {
			qty = *li.Quantity
		}
		if open := l.Quantity - s.fulfilledUnits(o.OrderID, l.LineItemID); qty < 1 || qty > open {
			e := fulfillmentError(ErrInvalidQuantity, fmt.Sprintf("Invalid quantity %d for line item %s: %d not yet fulfilled", qty, l.LineItemID, open))
			return nil, &e
		}
		lines = append(lines, FulfillmentLine{LineItemID: l.LineItemID, Quantity: qty})
	}
	return lines, nil
}

// line is the order's line item with id, or nil.
func (o *Order) line(id string) *LineItem {
	for i := range o.LineItems {
		if o.LineItems[i].LineItemID == id && id != "" {
			return &o.LineItems[i]
		}
	}
	return nil
}

// fulfilledUnits is a line's units in the order's fulfillments.
func (s *Server) fulfilledUnits(orderID, lineID string) int64 {
	var n int64
	for _, f := range s.fulfillments[orderID] {
		for _, l := range f.Lines {
			if l.LineItemID == lineID {
				n += l.Quantity
			}
		}
	}
	return n
}

// applyFulfillment moves the order's statuses as eBay does: a line all of
// whose units are fulfilled is FULFILLED, the order FULFILLED when every
// line is, else IN_PROGRESS; the order is modified now.
func (s *Server) applyFulfillment(o *Order, lines []FulfillmentLine) {
	all := true
	for i := range o.LineItems {
		l := &o.LineItems[i]
		switch done := s.fulfilledUnits(o.OrderID, l.LineItemID); {
		case done >= l.Quantity:
			l.LineItemFulfillmentStatus = "FULFILLED"
		case done > 0:
			l.LineItemFulfillmentStatus = "IN_PROGRESS"
			all = false
		default:
			all = false
		}
	}
	o.OrderFulfillmentStatus = "IN_PROGRESS"
	if all {
		o.OrderFulfillmentStatus = "FULFILLED"
	}
	o.LastModifiedDate = s.opts.Now().UTC()
}

// handleGetFulfillments is GET /sell/fulfillment/v1/order/{orderId}/
// shipping_fulfillment: the order's fulfillments
// (ShippingFulfillmentPagedCollection), 404 for an order it does not know.
func (s *Server) handleGetFulfillments(w http.ResponseWriter, r *http.Request) {
	orderID := r.PathValue("id")
	s.mu.Lock()
	_, ok := s.orders[orderID]
	fs := append([]Fulfillment(nil), s.fulfillments[orderID]...)
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, fulfillmentError(ErrInvalidOrder, "Invalid order ID: "+orderID))
		return
	}
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		lines := make([]map[string]any, 0, len(f.Lines))
		for _, l := range f.Lines {
			lines = append(lines, map[string]any{"lineItemId": l.LineItemID, "quantity": l.Quantity})
		}
		out = append(out, map[string]any{
			"fulfillmentId":          f.ID,
			"lineItems":              lines,
			"shipmentTrackingNumber": f.TrackingNumber,
			"shippingCarrierCode":    f.CarrierCode,
			"shippedDate":            f.ShippedDate.UTC().Format(dateFormat),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"fulfillments": out, "total": len(out), "warnings": []any{}})
}
