package woocommerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The JSON shapes of WooCommerce's REST API v3 this connector reads, as
// the documentation states them
// (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties,
// #order-refund-properties, #product-properties,
// #product-variation-properties). WooCommerce sends many more fields;
// they are not read. A field of the wrong JSON type makes the whole
// payload unreadable (malformed), never a zero.

// wcOrder is an order resource: a GET /orders/{id} answer, an element of
// GET /orders, and the body of an order.created, order.updated or
// order.restored webhook ("exactly the same as if requested via the REST
// API", #webhooks).
type wcOrder struct {
	ID     wcInt  `json:"id"`
	Number wcText `json:"number"`
	Status string `json:"status"`
	// Dates without a zone are GMT in the *_gmt fields; the others are
	// site time and are not read.
	DateCreatedGMT   wcTime   `json:"date_created_gmt"`
	DateModifiedGMT  wcTime   `json:"date_modified_gmt"`
	DateCompletedGMT wcTime   `json:"date_completed_gmt"`
	LineItems        []wcLine `json:"line_items"`
	// Shipping is the shipping address; only where it goes is read
	// (country: ISO 3166-1 alpha-2, state: the state code), for routing.
	Shipping *struct {
		Country string `json:"country"`
		State   string `json:"state"`
	} `json:"shipping"`
	// Refunds names the order's refunds ({id, reason, total}) without
	// their lines: those come from GET /orders/{id}/refunds.
	Refunds []struct {
		ID wcInt `json:"id"`
	} `json:"refunds"`
}

// wcLine is an order line item, or a line of a refund (whose quantity is
// negative and whose meta _refunded_item_id names the order line).
type wcLine struct {
	ID          wcInt    `json:"id"`
	ProductID   wcInt    `json:"product_id"`
	VariationID wcInt    `json:"variation_id"`
	Quantity    wcInt    `json:"quantity"`
	SKU         *string  `json:"sku"`
	MetaData    []wcMeta `json:"meta_data"`
}

type wcMeta struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// wcRefund is an element of GET /orders/{id}/refunds.
type wcRefund struct {
	ID             wcInt    `json:"id"`
	DateCreatedGMT wcTime   `json:"date_created_gmt"`
	LineItems      []wcLine `json:"line_items"`
}

// Line item meta keys WooCommerce core writes (includes/wc-order-functions.php):
const (
	// metaRefundedItem is on a refund's line: the order line it refunds.
	metaRefundedItem = "_refunded_item_id"
	// metaRestocked is on an order line: the running total of its refunded
	// units WooCommerce put back in stock (from WooCommerce 5.5).
	metaRestocked = "_restock_refunded_items"
)

// metaInt reads an integer meta value (a JSON number or a numeric string).
// ok is false when the key is absent.
func (l *wcLine) metaInt(key string) (v int64, ok bool, err error) {
	for _, m := range l.MetaData {
		if m.Key != key {
			continue
		}
		var n wcInt
		if err := json.Unmarshal(m.Value, &n); err != nil || !n.set {
			return 0, true, fmt.Errorf("meta %s: %s is not an integer", key, truncate(string(m.Value), 40))
		}
		v, err := n.int64()
		if err != nil {
			return 0, true, fmt.Errorf("meta %s: %w", key, err)
		}
		return v, true, nil
	}
	return 0, false, nil
}

// wcProduct is a product or a variation as the products and variations
// endpoints answer it, and an element of a batch answer (which carries
// error instead when the item failed).
type wcProduct struct {
	ID       wcInt  `json:"id"`
	ParentID wcInt  `json:"parent_id"`
	Type     string `json:"type"`
	// SKU is "" (not null) for a product without one.
	SKU           *string       `json:"sku"`
	ManageStock   wcManageStock `json:"manage_stock"`
	StockQuantity wcStock       `json:"stock_quantity"`
	Error         *wcError      `json:"error"`
}

// wcBatch is the answer of POST /products/batch and
// POST /products/{id}/variations/batch: one element per update, in the
// order sent, each the updated resource or {id, error}.
type wcBatch struct {
	Update []wcProduct `json:"update"`
}

// wcError is WooCommerce's error object: the body of a failed call and
// the error of a failed batch item (#errors).
type wcError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// status is the HTTP status the error's data names (0 if none).
func (e *wcError) status() int {
	var d struct {
		Status json.Number `json:"status"`
	}
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &d) != nil {
		return 0
	}
	n, err := strconv.Atoi(d.Status.String())
	if err != nil {
		return 0
	}
	return n
}

// wcInt is an integer WooCommerce sends as a JSON number or as a numeric
// string (meta values, some ids); null leaves it unset.
type wcInt struct {
	raw string
	set bool
}

func (n *wcInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = wcInt{}
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	} else {
		var num json.Number
		if err := json.Unmarshal(b, &num); err != nil {
			return fmt.Errorf("%s is not a number", truncate(string(b), 40))
		}
		s = num.String()
	}
	*n = wcInt{raw: s, set: true}
	return nil
}

// errNotWhole marks a number with a fraction where a whole one belongs.
var errNotWhole = errors.New("not a whole number")

// int64 is the integer; "2.0" is 2, "1.5" is errNotWhole, "" or words
// are an error.
func (n wcInt) int64() (int64, error) {
	if !n.set {
		return 0, errors.New("missing")
	}
	if v, err := strconv.ParseInt(n.raw, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(n.raw, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a number", truncate(n.raw, 40))
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("%q: %w", truncate(n.raw, 40), errNotWhole)
	}
	if f >= math.MaxInt64 || f < math.MinInt64 { // MaxInt64 rounds up to 2^63 as a float64
		return 0, fmt.Errorf("%q is out of range", truncate(n.raw, 40))
	}
	return int64(f), nil
}

// id reads a resource id: a whole number above 0.
func (n wcInt) id(what string) (int64, error) {
	v, err := n.int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%s %d is not an id", what, v)
	}
	return v, nil
}

// optionalID reads an id that may be absent or 0 (product_id of a deleted
// product, variation_id of a simple product, parent_id of a product).
func (n wcInt) optionalID(what string) (int64, error) {
	if !n.set {
		return 0, nil
	}
	v, err := n.int64()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s %d is negative", what, v)
	}
	return v, nil
}

// wcText is a string WooCommerce may send as a JSON string or number
// (an order's number).
type wcText string

func (t *wcText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = wcText(s)
	default:
		var num json.Number
		if err := json.Unmarshal(b, &num); err != nil {
			return fmt.Errorf("%s is neither a string nor a number", truncate(string(b), 40))
		}
		*t = wcText(num.String())
	}
	return nil
}

// wcTime is a *_gmt date: "2017-03-22T19:28:08" (GMT, no zone), or with
// a zone or fractional seconds; null or "" leaves it unset.
type wcTime struct {
	t time.Time
}

func (w *wcTime) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*w = wcTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date %s is not a string", truncate(string(b), 40))
	}
	if s == "" {
		*w = wcTime{}
		return nil
	}
	t, err := parseGMT(s)
	if err != nil {
		return err
	}
	*w = wcTime{t: t}
	return nil
}

// parseGMT reads a WooCommerce GMT date.
func parseGMT(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("date %q is not an ISO 8601 date-time", truncate(s, 40))
}

// formatGMT writes a time the way WooCommerce reads a GMT query date
// (dates_are_gmt=true): whole seconds, no zone.
func formatGMT(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05")
}

// wcManageStock is manage_stock: true or false for a product; a variation
// answers "parent" when its parent product manages the stock it sells
// from (WC_Product_Variation::managing_stock).
type wcManageStock string

const (
	manageYes    wcManageStock = "yes"
	manageNo     wcManageStock = "no"
	manageParent wcManageStock = "parent"
)

func (m *wcManageStock) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true":
		*m = manageYes
	case "false", "null":
		*m = manageNo
	case `"parent"`:
		*m = manageParent
	default:
		return fmt.Errorf("manage_stock %s is neither a boolean nor \"parent\"", truncate(string(b), 40))
	}
	return nil
}

// wcStock is stock_quantity: null when WooCommerce does not manage the
// product's stock; a whole number otherwise (a store whose filters allow
// fractions is read rounded down).
type wcStock struct {
	v   int64
	set bool
}

func (s *wcStock) UnmarshalJSON(b []byte) error {
	var n wcInt
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	if !n.set {
		*s = wcStock{}
		return nil
	}
	v, err := n.int64()
	if errors.Is(err, errNotWhole) {
		f, _ := strconv.ParseFloat(n.raw, 64)
		v, err = int64(math.Floor(f)), nil
	}
	if err != nil {
		return fmt.Errorf("stock_quantity: %w", err)
	}
	*s = wcStock{v: v, set: true}
	return nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
