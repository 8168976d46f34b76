package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// carrierOther is the carrierCode of a carrier Amazon does not list: the
// carrier's name then goes in carrierName ("Required when carrierCode is
// Other", PackageDetail in ordersV0.json).
const carrierOther = "Other"

// carrierCodes is the built-in table: canonical carrier → Amazon's
// CarrierCode, spelt as Amazon lists it (the CarrierCode values of the
// order fulfillment feed's base schema, amzn-base.xsd, which the
// "CarrierCode value required in shipment confirmations" announcement
// points to; confirmShipment's sandbox example sends "FedEx"). A carrier
// that is not here goes as "Other" with its name (ConfirmShipment).
var carrierCodes = map[string]string{
	"usps":                 "USPS",
	"ups":                  "UPS",
	"ups_mail_innovations": "UPS Mail Innovations",
	"fedex":                "FedEx",
	"fedex_smartpost":      "FedEx SmartPost",
	"dhl":                  "DHL",
	"dhl_global_mail":      "DHL Global Mail",
	"ontrac":               "OnTrac",
	"lasership":            "Lasership",
	"newgistics":           "Newgistics",
	"osm":                  "OSM",
	"canada_post":          "Canada Post",
	"royal_mail":           "Royal Mail",
	"parcelforce":          "Parcelforce",
	"dpd":                  "DPD",
	"gls":                  "GLS",
	"tnt":                  "TNT",
	"hermes":               "Hermes Logistik Gruppe",
	"deutsche_post":        "Deutsche Post",
	"la_poste":             "La Poste",
	"chronopost":           "Chronopost",
	"poste_italiane":       "Poste Italiane",
	"sda":                  "SDA",
	"india_post":           "India Post",
	"bluedart":             "BlueDart",
	"aramex":               "Aramex",
	"yamato":               "YAMATO",
	"sagawa":               "SAGAWA",
}

// Carriers implements connectors.ShipmentConfirmer: the built-in table (a copy).
func (c *Connector) Carriers() map[string]string {
	out := make(map[string]string, len(carrierCodes))
	for k, v := range carrierCodes {
		out[k] = v
	}
	return out
}

// confirmShipmentRequest is confirmShipment's body (ConfirmShipmentRequest).
type confirmShipmentRequest struct {
	PackageDetail packageDetail `json:"packageDetail"`
	MarketplaceID string        `json:"marketplaceId"`
}

// packageDetail is one package (PackageDetail); shippingMethod,
// shipFromSupplySourceId and codCollectionMethod are not sent: shelfsync
// knows none of them.
type packageDetail struct {
	PackageReferenceID string                `json:"packageReferenceId"`
	CarrierCode        string                `json:"carrierCode"`
	CarrierName        string                `json:"carrierName,omitempty"`
	TrackingNumber     string                `json:"trackingNumber"`
	ShipDate           string                `json:"shipDate"`
	OrderItems         []confirmShipmentItem `json:"orderItems"`
}

type confirmShipmentItem struct {
	OrderItemID string `json:"orderItemId"`
	Quantity    int64  `json:"quantity"`
}

// PackageReferenceID is the packageReferenceId of shipment id: "a
// seller-supplied identifier that uniquely identifies a package within
// the scope of an order. Only positive numeric values are supported"
// (ordersV0.json), and a confirmation sent again with the same one edits
// that package instead of adding one ("Confirm the shipment status"). So
// it is a function of the shipment's id alone: FNV-1a of the id, kept to
// 31 bits (1 … 2³¹−1) so that it fits any integer Amazon may keep it in.
// Two shipments of one order share it with odds of about 1 in 10⁹ per
// pair.
func PackageReferenceID(shipmentID string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(shipmentID))
	v := h.Sum64() & math.MaxInt32
	if v == 0 {
		v = 1
	}
	return strconv.FormatUint(v, 10)
}

// ConfirmShipment implements connectors.ShipmentConfirmer: one
// confirmShipment call (POST /orders/v0/orders/{orderId}/shipmentConfirmation)
// per shipment, the shipment being one package. Amazon answers 204 with no
// body; the package's reference (PackageReferenceID) is the result's Ref.
// A 400 (InvalidInput: a carrier code, item or quantity Amazon does not
// take) and a 404 (no such order) are refused with Amazon's message; 429
// and 5xx, which the HTTP client already retried, come back as retry.
func (c *Connector) ConfirmShipment(ctx context.Context, s connectors.Shipment) (connectors.ShipmentResult, error) {
	body, reason := c.confirmBody(s)
	if reason != "" {
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: reason}, nil
	}
	market, err := c.orderMarketplace(ctx, s.OrderID)
	if errors.Is(err, connectors.ErrNotFound) {
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: "Amazon has no order " + s.OrderID}, nil
	}
	if err != nil {
		return connectors.ShipmentResult{}, fmt.Errorf("confirming shipment %s: %w", s.ID, err)
	}
	body.MarketplaceID = market
	payload, err := json.Marshal(body)
	if err != nil {
		return connectors.ShipmentResult{}, fmt.Errorf("confirming shipment %s: encoding: %w", s.ID, err)
	}
	u := c.baseURL + "/orders/v0/orders/" + url.PathEscape(s.OrderID) + "/shipmentConfirmation"
	resp, err := c.rest(opConfirmShipment).Send(ctx, connectors.APIRequest{
		Op: opConfirmShipment, Method: http.MethodPost, URL: u, Body: payload,
	})
	if err != nil {
		return connectors.ShipmentResult{}, fmt.Errorf("confirming shipment %s: %w", s.ID, err)
	}
	return c.confirmResult(s, body.PackageDetail.PackageReferenceID, resp)
}

// confirmBody builds the request of s, or says why s cannot be sent
// (Amazon would refuse it: PackageDetail's required fields).
func (c *Connector) confirmBody(s connectors.Shipment) (confirmShipmentRequest, string) {
	var r confirmShipmentRequest
	switch {
	case s.ID == "":
		return r, "shipment has no id"
	case strings.TrimSpace(s.TrackingNumber) == "":
		return r, "trackingNumber is required"
	case len(s.Lines) == 0:
		return r, "orderItems is required: the shipment has no lines"
	}
	d := packageDetail{
		PackageReferenceID: PackageReferenceID(s.ID),
		CarrierCode:        s.CarrierCode,
		TrackingNumber:     strings.TrimSpace(s.TrackingNumber),
	}
	if d.CarrierCode == "" || strings.EqualFold(d.CarrierCode, carrierOther) {
		if s.Carrier == "" {
			return r, "carrierCode is required: the shipment names no carrier"
		}
		d.CarrierCode, d.CarrierName = carrierOther, s.Carrier
	}
	shipped := s.ShippedAt
	if shipped.IsZero() {
		shipped = c.now()
	}
	d.ShipDate = shipped.UTC().Format(time.RFC3339)
	index := map[string]int{}
	for _, l := range s.Lines {
		if l.LineID == "" || l.Quantity <= 0 {
			return r, fmt.Sprintf("line %q: an order item id and a positive quantity are required", l.LineID)
		}
		if i, ok := index[l.LineID]; ok {
			d.OrderItems[i].Quantity += l.Quantity
			continue
		}
		index[l.LineID] = len(d.OrderItems)
		d.OrderItems = append(d.OrderItems, confirmShipmentItem{OrderItemID: l.LineID, Quantity: l.Quantity})
	}
	r.PackageDetail = d
	return r, ""
}

// orderMarketplace is the marketplace confirmShipment must name: the
// channel's one marketplace, or, when it sells in several, the order's
// own (getOrder v0's MarketplaceId, one call at getOrder's plan).
func (c *Connector) orderMarketplace(ctx context.Context, orderID string) (string, error) {
	if len(c.marketplace) == 1 {
		return c.marketplace[0], nil
	}
	var r orderResponse
	if _, err := c.call(ctx, opGetOrder, http.MethodGet, "/orders/v0/orders/"+url.PathEscape(orderID), nil, nil, &r); err != nil {
		return "", fmt.Errorf("reading the marketplace of order %s: %w", orderID, err)
	}
	if r.Payload.MarketplaceID == "" {
		return "", fmt.Errorf("getOrder %s answered without a MarketplaceId", orderID)
	}
	return r.Payload.MarketplaceID, nil
}

// confirmResult turns confirmShipment's answer into the shipment's outcome.
func (c *Connector) confirmResult(s connectors.Shipment, ref string, resp *connectors.APIResponse) (connectors.ShipmentResult, error) {
	st := resp.Status
	switch {
	case st >= 200 && st <= 299:
		return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed, Ref: ref}, nil
	case st == http.StatusBadRequest, st == http.StatusNotFound:
		return connectors.ShipmentResult{Status: connectors.ShipmentRefused, Reason: apiReason(st, resp.Body)}, nil
	case st == http.StatusTooManyRequests || st >= 500:
		return connectors.ShipmentResult{
			Status: connectors.ShipmentRetry, Reason: apiReason(st, resp.Body),
			RetryAfter: retryAfter(st, resp.Header, c.now()),
			Throttled:  st == http.StatusTooManyRequests,
		}, nil
	}
	// 401, 403 after a fresh token, and anything else Amazon does not
	// document for this operation: a whole-call failure, retried.
	return connectors.ShipmentResult{}, fmt.Errorf("confirming shipment %s: %w", s.ID, apiError(opConfirmShipment, st, resp.Body))
}

// apiReason is Amazon's error of an answer as a refusal's or retry's
// reason: "HTTP 400 InvalidInput: message".
func apiReason(status int, body []byte) string {
	e := ParseErrorBody(body)
	switch {
	case e.Code != "" && e.Message != "":
		return fmt.Sprintf("HTTP %d %s: %s", status, e.Code, e.Message)
	case e.Code != "" || e.Message != "":
		return fmt.Sprintf("HTTP %d %s%s", status, e.Code, e.Message)
	}
	if snip := connectors.Snippet(body, 200); snip != "" {
		return fmt.Sprintf("HTTP %d: %s", status, snip)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// ErrorEntry is the first entry of SP-API's error list.
type ErrorEntry struct {
	Code, Message, Details string
}

// ParseErrorBody reads SP-API's error body ({"errors":[{code, message,
// details}]}, ErrorList in every model): its first entry, or the zero
// entry when the body is not one. Control characters are dropped and the
// fields cut to 500 bytes, as they end up in logs and the admin API.
func ParseErrorBody(body []byte) ErrorEntry {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || len(eb.Errors) == 0 {
		return ErrorEntry{}
	}
	e := eb.Errors[0]
	return ErrorEntry{Code: clean(e.Code), Message: clean(e.Message), Details: clean(e.Details)}
}

// clean is s on one line, valid UTF-8, at most 500 bytes.
func clean(s string) string {
	return connectors.Snippet([]byte(s), 500)
}

// retryAfter is how long Amazon asks to wait after a 429 or 5xx: its
// Retry-After when it sends one (SP-API documents none), else, after a
// 429, one token of the rate in x-amzn-RateLimit-Limit (the plan it
// applied); 0 when it says neither.
func retryAfter(status int, h http.Header, now time.Time) time.Duration {
	if d, ok := connectors.RetryAfter(h.Get("Retry-After"), now); ok {
		return d
	}
	if r, ok := parseRateLimitHeader(h.Get("x-amzn-RateLimit-Limit")); ok && status == http.StatusTooManyRequests {
		return time.Duration(float64(time.Second) / r)
	}
	return 0
}
