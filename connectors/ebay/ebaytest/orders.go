package ebaytest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Order is an order as the fake keeps it; it is served with eBay's field
// names. Zero CreationDate/LastModifiedDate take the time AddOrder runs.
type Order struct {
	OrderID                string
	LegacyOrderID          string
	CreationDate           time.Time
	LastModifiedDate       time.Time
	OrderFulfillmentStatus string // NOT_STARTED, IN_PROGRESS, FULFILLED
	OrderPaymentStatus     string // PAID, PENDING, FAILED, FULLY_REFUNDED, PARTIALLY_REFUNDED
	CancelState            string // NONE_REQUESTED, IN_PROGRESS, CANCELED
	LineItems              []LineItem
}

// LineItem is one line of an Order.
type LineItem struct {
	LineItemID                string
	LegacyItemID              string
	SKU                       string // empty: a listing without SKU
	Title                     string
	Quantity                  int64
	LineItemFulfillmentStatus string // NOT_STARTED, IN_PROGRESS, FULFILLED
}

// dateFormat is eBay's timestamp format: UTC with milliseconds.
const dateFormat = "2006-01-02T15:04:05.000Z"

// maxOrdersLimit is getOrders' largest page.
const maxOrdersLimit = 200

// AddOrder stores (or replaces) an order.
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().UTC()
	if o.CreationDate.IsZero() {
		o.CreationDate = now
	}
	if o.LastModifiedDate.IsZero() {
		o.LastModifiedDate = now
	}
	if o.OrderFulfillmentStatus == "" {
		o.OrderFulfillmentStatus = "NOT_STARTED"
	}
	if o.OrderPaymentStatus == "" {
		o.OrderPaymentStatus = "PAID"
	}
	if o.CancelState == "" {
		o.CancelState = "NONE_REQUESTED"
	}
	o.LineItems = append([]LineItem(nil), o.LineItems...)
	s.orders[o.OrderID] = &o
}

func (o *Order) json() map[string]any {
	lines := make([]map[string]any, 0, len(o.LineItems))
	for _, l := range o.LineItems {
		m := map[string]any{
			"lineItemId":                l.LineItemID,
			"legacyItemId":              l.LegacyItemID,
			"title":                     l.Title,
			"quantity":                  l.Quantity,
			"lineItemFulfillmentStatus": l.LineItemFulfillmentStatus,
			"lineItemCost":              map[string]string{"value": "10.00", "currency": "USD"},
		}
		if l.SKU != "" {
			m["sku"] = l.SKU
		}
		if m["lineItemFulfillmentStatus"] == "" {
			m["lineItemFulfillmentStatus"] = "NOT_STARTED"
		}
		lines = append(lines, m)
	}
	return map[string]any{
		"orderId":                o.OrderID,
		"legacyOrderId":          o.LegacyOrderID,
		"creationDate":           o.CreationDate.UTC().Format(dateFormat),
		"lastModifiedDate":       o.LastModifiedDate.UTC().Format(dateFormat),
		"orderFulfillmentStatus": o.OrderFulfillmentStatus,
		"orderPaymentStatus":     o.OrderPaymentStatus,
		"sellerId":               "ebaytest_seller",
		"cancelStatus":           map[string]any{"cancelState": o.CancelState, "cancelRequests": []any{}},
		"salesRecordReference":   "0",
		"lineItems":              lines,
	}
}

// handleGetOrders is GET /sell/fulfillment/v1/order with
// filter=lastmodifieddate:[FROM..] or [FROM..TO], limit and offset.
func (s *Server) handleGetOrders(w http.ResponseWriter, r *http.Request) {
	// eBay wants the filter's brackets percent-encoded.
	if strings.ContainsAny(r.URL.RawQuery, "[]{}|") {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 30700, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid filter value. The filter value must be URL encoded."})
		return
	}
	q := r.URL.Query()
	from, to, ok := parseModifiedFilter(q.Get("filter"))
	if !ok {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 30700, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid filter value " + q.Get("filter") + "."})
		return
	}
	if from.Before(s.opts.Now().Add(-90 * 24 * time.Hour)) {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 30700, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid filter value: dates can go back at most 90 days."})
		return
	}
	limit, offset, ok := paging(q, 50, maxOrdersLimit)
	if !ok {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 30800, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid limit or offset."})
		return
	}
	s.mu.Lock()
	var match []*Order
	for _, o := range s.orders {
		if !o.LastModifiedDate.Before(from) && (to.IsZero() || !o.LastModifiedDate.After(to)) {
			match = append(match, o)
		}
	}
	sort.Slice(match, func(i, j int) bool {
		if !match[i].CreationDate.Equal(match[j].CreationDate) {
			return match[i].CreationDate.After(match[j].CreationDate) // eBay: newest first
		}
		return match[i].OrderID < match[j].OrderID
	})
	total := len(match)
	page := []map[string]any{}
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, match[i].json())
	}
	s.mu.Unlock()
	resp := map[string]any{
		"href":   s.srv.URL + r.URL.RequestURI(),
		"total":  total,
		"limit":  limit,
		"offset": offset,
		"orders": page,
	}
	if offset+limit < total {
		next := *r.URL
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(offset+limit))
		next.RawQuery = nq.Encode()
		resp["next"] = s.srv.URL + next.RequestURI()
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleGetOrder is GET /sell/fulfillment/v1/order/{orderId}.
func (s *Server) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	var body map[string]any
	if ok {
		body = o.json()
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, Error{ErrorID: 32100, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid order ID: " + r.PathValue("id")})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// parseModifiedFilter reads lastmodifieddate:[FROM..] or [FROM..TO] with
// eBay's strict timestamp format.
func parseModifiedFilter(f string) (from, to time.Time, ok bool) {
	rest, found := strings.CutPrefix(f, "lastmodifieddate:[")
	if !found || !strings.HasSuffix(rest, "]") {
		return from, to, false
	}
	a, b, found := strings.Cut(strings.TrimSuffix(rest, "]"), "..")
	if !found {
		return from, to, false
	}
	from, err := time.Parse(dateFormat, a)
	if err != nil {
		return from, to, false
	}
	if b != "" {
		if to, err = time.Parse(dateFormat, b); err != nil {
			return from, to, false
		}
	}
	return from, to, true
}

func paging(q url.Values, def, max int) (limit, offset int, ok bool) {
	limit, offset = def, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > max {
			return 0, 0, false
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, false
		}
	}
	return limit, offset, true
}
