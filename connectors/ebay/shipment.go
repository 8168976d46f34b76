package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// carrierCodes is the built-in table of Carriers: canonical carrier name →
// eBay's ShippingCarrierCodeType value (Trading API, the list the
// Fulfillment API's shippingCarrierCode takes). Only codes read on eBay's
// pages are here; the channel's carriers override adds others.
var carrierCodes = map[string]string{
	"ups":            "UPS",
	"usps":           "USPS",
	"fedex":          "FedEx",
	"dhl":            "DHL",
	"deutsche_post":  "DeutschePost",
	"hermes":         "Hermes",
	"royal_mail":     "RoyalMail",
	"parcelforce":    "Parcelforce",
	"australia_post": "AustraliaPost",
	"an_post":        "AnPost",
	"bpost":          "BPost",
	"canpar":         "CanPar",
	"china_post":     "ChinaPost",
	"chronopost":     "Chronopost",
	"correos":        "Correos",
	"seur":           "Seur",
	"bartolini":      "Bartolini",
	"aramex":         "ARAMEX",
}

// Carriers implements connectors.ShipmentConfirmer.
func (c *Connector) Carriers() map[string]string {
	out := make(map[string]string, len(carrierCodes))
	for k, v := range carrierCodes {
		out[k] = v
	}
	return out
}

// attemptTTL is how long a shipment's attempt mark is kept: longer than
// any retry schedule of a confirmation.
const attemptTTL = 30 * 24 * time.Hour

// fulfillmentLine is a LineItemReference: a line and its units in one package.
type fulfillmentLine struct {
	LineItemID string `json:"lineItemId"`
	Quantity   int64  `json:"quantity"`
}

// fulfillmentRequest is createShippingFulfillment's body
// (ShippingFulfillmentDetails).
type fulfillmentRequest struct {
	LineItems           []fulfillmentLine `json:"lineItems"`
	ShippedDate         string            `json:"shippedDate,omitempty"`
	ShippingCarrierCode string            `json:"shippingCarrierCode"`
	TrackingNumber      string            `json:"trackingNumber"`
}

// shippingFulfillment is one entry of getShippingFulfillments.
type shippingFulfillment struct {
	FulfillmentID          string            `json:"fulfillmentId"`
	LineItems              []fulfillmentLine `json:"lineItems"`
	ShipmentTrackingNumber string            `json:"shipmentTrackingNumber"`
	ShippingCarrierCode    string            `json:"shippingCarrierCode"`
	ShippedDate            string            `json:"shippedDate"`
}

// fulfillmentsPage is getShippingFulfillments' answer
// (ShippingFulfillmentPagedCollection).
type fulfillmentsPage struct {
	Fulfillments []shippingFulfillment `json:"fulfillments"`
	Total        int                   `json:"total"`
}

// fulfillmentPath is an order's shipping_fulfillment collection.
func fulfillmentPath(orderID string) string {
	return ordersPath + "/" + url.PathEscape(orderID) + "/shipping_fulfillment"
}

// ConfirmShipment implements connectors.ShipmentConfirmer with the
// Fulfillment API's createShippingFulfillment: one package, its lines and
// units, the carrier's code and the tracking number.
//
// eBay takes no idempotency key, so a repeat is found by reading: the
// first attempt of a shipment marks its ID in the channel cache before
// it posts; every later attempt (a retry after a lost answer, a 5xx, a
// crash) first reads the order's fulfillments and takes one with the same
// tracking number and the same lines and units as this shipment's
// confirmation. When the cache cannot say, the fulfillments are read too.
// So a repeat costs one more call, the first attempt none.
func (c *Connector) ConfirmShipment(ctx context.Context, s connectors.Shipment) (connectors.ShipmentResult, error) {
	req, reason := shipmentRequest(s)
	if reason != "" {
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: reason}, nil
	}
	key := "ebay:shipment:" + s.ID
	_, seen, err := c.cacheGet(ctx, key)
	if err != nil || seen {
		res, found, lerr := c.findFulfillment(ctx, s.OrderID, req)
		if lerr != nil || found {
			return res, lerr
		}
	}
	if err := c.cacheSet(ctx, key, "1", attemptTTL); err != nil {
		// Without the mark a lost answer could not be told from a
		// fulfillment never made: post nothing yet.
		return connectors.ShipmentResult{}, fmt.Errorf("eBay shipment %s: marking the attempt: %w", s.ID, err)
	}
	res, err := c.createFulfillment(ctx, s.OrderID, req)
	if err != nil || res.Status != connectors.ShipmentRefused || seen {
		return res, err
	}
	// eBay refuses units already fulfilled: if this very fulfillment is
	// there (an attempt whose mark the cache lost), it is confirmed.
	found, ok, lerr := c.findFulfillment(ctx, s.OrderID, req)
	if lerr == nil && ok && found.Status == connectors.ShipmentConfirmed {
		return found, nil
	}
	return res, nil
}

// shipmentRequest is s as createShippingFulfillment's body, or the reason
// eBay would refuse it (checked here so nothing is posted).
func shipmentRequest(s connectors.Shipment) (fulfillmentRequest, string) {
	req := fulfillmentRequest{
		ShippingCarrierCode: strings.TrimSpace(s.CarrierCode),
		TrackingNumber:      strings.TrimSpace(s.TrackingNumber),
	}
	switch {
	case s.ID == "":
		return req, "the shipment has no id"
	case s.OrderID == "":
		return req, "the shipment has no order id"
	case req.ShippingCarrierCode == "":
		return req, "no eBay carrier code for carrier " + s.Carrier
	case req.TrackingNumber == "":
		return req, "no tracking number"
	case len(s.Lines) == 0:
		return req, "the shipment has no lines"
	}
	units := map[string]int64{}
	for _, l := range s.Lines {
		if l.LineID == "" || l.Quantity <= 0 {
			return req, fmt.Sprintf("line %q: a line id and a quantity above 0 are required", l.LineID)
		}
		if _, ok := units[l.LineID]; !ok {
			req.LineItems = append(req.LineItems, fulfillmentLine{LineItemID: l.LineID})
		}
		units[l.LineID] += l.Quantity
	}
	for i := range req.LineItems {
		req.LineItems[i].Quantity = units[req.LineItems[i].LineItemID]
	}
	if !s.ShippedAt.IsZero() {
		req.ShippedDate = s.ShippedAt.UTC().Format(filterTimeFormat)
	}
	return req, ""
}

// createFulfillment posts the fulfillment and maps eBay's answer.
func (c *Connector) createFulfillment(ctx context.Context, orderID string, req fulfillmentRequest) (connectors.ShipmentResult, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return connectors.ShipmentResult{}, fmt.Errorf("encoding the fulfillment: %w", err)
	}
	// The POST goes on a client that never sends it again by itself: a
	// 5xx or a timeout may hide a fulfillment eBay made, and only a read
	// of the order's fulfillments (the next attempt) can tell.
	a := c.rest(false)
	a.Client = c.postHTTP
	resp, err := c.sendWith(ctx, a, http.MethodPost, fulfillmentPath(orderID), nil, body)
	if err != nil {
		return connectors.ShipmentResult{}, fmt.Errorf("confirming eBay order %s: %w", orderID, err)
	}
	return fulfillmentResult("POST "+fulfillmentPath(orderID), resp, c.deps.Now()), nil
}

// fulfillmentResult maps createShippingFulfillment's answer: 2xx is
// confirmed (the fulfillment id is the last segment of Location); 429 and
// 5xx (what is left after the HTTP client's retries) are retry, with
// eBay's Retry-After; 401 (a fresh token refused too) is retry; any other
// 4xx is refused with eBay's messages.
func fulfillmentResult(op string, resp *response, now time.Time) connectors.ShipmentResult {
	switch {
	case resp.status >= 200 && resp.status <= 299:
		return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: fulfillmentID(resp.header.Get("Location"))}
	case resp.status == http.StatusTooManyRequests || resp.status >= 500 || resp.status == http.StatusUnauthorized:
		res := connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: newAPIError(op, resp).Error(),
			Throttled: resp.status == http.StatusTooManyRequests}
		if d, ok := connectors.RetryAfter(resp.header.Get("Retry-After"), now); ok && d > 0 {
			res.RetryAfter = d
		}
		return res
	default:
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: refusalReason(resp)}
	}
}

// refusalReason is eBay's messages of a refused call, or its status.
func refusalReason(resp *response) string {
	e := newAPIError("", resp)
	if m := messages(e.Errors); m != "" {
		return "eBay refused the fulfillment: " + m
	}
	return fmt.Sprintf("eBay refused the fulfillment: HTTP %d", resp.status)
}

// fulfillmentID is the id at the end of createShippingFulfillment's
// Location header ("" when there is none).
func fulfillmentID(location string) string {
	if location == "" {
		return ""
	}
	if u, err := url.Parse(location); err == nil {
		location = u.Path
	}
	id := path.Base(strings.TrimRight(location, "/"))
	if id == "." || id == "/" || connectors.CheckID("fulfillmentId", id) != nil {
		return ""
	}
	return id
}

// findFulfillment reads the order's fulfillments and reports whether one
// already is req (same tracking number, same lines and units). An order
// eBay does not know is refused; any other failure is an error.
func (c *Connector) findFulfillment(ctx context.Context, orderID string, req fulfillmentRequest) (connectors.ShipmentResult, bool, error) {
	var page fulfillmentsPage
	err := c.getJSON(ctx, fulfillmentPath(orderID), nil, &page)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.hasError(32100)) {
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: "eBay does not know order " + orderID}, true, nil
	}
	if err != nil {
		return connectors.ShipmentResult{}, false, fmt.Errorf("reading the fulfillments of eBay order %s: %w", orderID, err)
	}
	if f := matchFulfillment(page.Fulfillments, req); f != nil {
		return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: f.FulfillmentID}, true, nil
	}
	return connectors.ShipmentResult{}, false, nil
}

// matchFulfillment is the fulfillment that is req, or nil: the same
// tracking number (spaces and case aside) and exactly req's lines and units.
func matchFulfillment(fs []shippingFulfillment, req fulfillmentRequest) *shippingFulfillment {
	want := lineUnits(req.LineItems)
	for i := range fs {
		f := &fs[i]
		if normTracking(f.ShipmentTrackingNumber) != normTracking(req.TrackingNumber) {
			continue
		}
		got := lineUnits(f.LineItems)
		if len(got) == len(want) && !slices.ContainsFunc(req.LineItems, func(l fulfillmentLine) bool {
			return got[l.LineItemID] != want[l.LineItemID]
		}) {
			return f
		}
	}
	return nil
}

func lineUnits(ls []fulfillmentLine) map[string]int64 {
	m := make(map[string]int64, len(ls))
	for _, l := range ls {
		q := l.Quantity
		if q == 0 {
			q = 1 // LineItemReference.quantity defaults to 1
		}
		m[l.LineItemID] += q
	}
	return m
}

func normTracking(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

// cacheGet and cacheSet use the channel cache; without one, every
// attempt is taken as a repeat (the fulfillments are read first).
func (c *Connector) cacheGet(ctx context.Context, key string) (string, bool, error) {
	if c.deps.Cache == nil {
		return "", true, nil
	}
	return c.deps.Cache.Get(ctx, key)
}

func (c *Connector) cacheSet(ctx context.Context, key, value string, ttl time.Duration) error {
	if c.deps.Cache == nil {
		return nil
	}
	return c.deps.Cache.Set(ctx, key, value, ttl)
}
