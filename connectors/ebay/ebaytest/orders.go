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

// CancelOrder cancels an order as a cancellation on eBay does (state
// CANCELED, payment FULLY_REFUNDED, modified now), keeping its lines and
// their fulfillments; it reports whether the order exists.
func (s *Server) CancelOrder(orderID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return false
	}
	o.CancelState = "CANCELED"
	o.OrderPaymentStatus = "FULLY_REFUNDED"
	o.LastModifiedDate = s.opts.Now().UTC()
	return true
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

// lookBack is how far back getOrders' date filters may start.
const lookBack = 90 * 24 * time.Hour

// orderFilter is a parsed getOrders filter.
type orderFilter struct {
	field    string // "creationdate" or "lastmodifieddate"
	from, to time.Time
	statuses map[string]bool // orderfulfillmentstatus; nil is any
}

func (f *orderFilter) match(o *Order) bool {
	t := o.LastModifiedDate
	if f.field == "creationdate" {
		t = o.CreationDate
	}
	if t.Before(f.from) || (!f.to.IsZero() && t.After(f.to)) {
		return false
	}
	return f.statuses == nil || f.statuses[o.OrderFulfillmentStatus]
}

// filterError is a getOrders filter eBay refuses: the error to answer.
type filterError struct {
	id  int
	msg string
}

// parseOrderFilter reads getOrders' filter as eBay documents it: one or
// more comma-separated criteria, creationdate:[FROM..] or [FROM..TO],
// lastmodifieddate likewise (ignored when creationdate is given too), and
// orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS} or
// {FULFILLED|IN_PROGRESS}. Timestamps are UTC with milliseconds; a range
// must start within the last 90 days, not after its end, and neither end
// may be in the future. No filter at all is orders created within the
// last 90 days.
func parseOrderFilter(raw string, now time.Time) (*orderFilter, *filterError) {
	f := &orderFilter{field: "creationdate", from: now.Add(-lookBack)}
	if raw == "" {
		return f, nil
	}
	var created, modified *orderFilter
	for _, crit := range strings.Split(raw, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(crit), ":")
		if !ok {
			return nil, &filterError{30700, "Invalid filter name: " + crit}
		}
		switch name {
		case "creationdate", "lastmodifieddate":
			from, to, ferr := parseDateRange(name, value, now)
			if ferr != nil {
				return nil, ferr
			}
			r := &orderFilter{field: name, from: from, to: to}
			if name == "creationdate" {
				created = r
			} else {
				modified = r
			}
		case "orderfulfillmentstatus":
			switch value {
			case "{NOT_STARTED|IN_PROGRESS}", "{IN_PROGRESS|NOT_STARTED}":
				f.statuses = map[string]bool{"NOT_STARTED": true, "IN_PROGRESS": true}
			case "{FULFILLED|IN_PROGRESS}", "{IN_PROGRESS|FULFILLED}":
				f.statuses = map[string]bool{"FULFILLED": true, "IN_PROGRESS": true}
			default:
				return nil, &filterError{30800, "Invalid filter value " + value + " for filter orderfulfillmentstatus"}
			}
		default:
			return nil, &filterError{30700, "Invalid filter name: " + name}
		}
	}
	// "If creationdate and lastmodifieddate are both included, only
	// creationdate is used."
	switch {
	case created != nil:
		f.field, f.from, f.to = created.field, created.from, created.to
	case modified != nil:
		f.field, f.from, f.to = modified.field, modified.from, modified.to
	}
	return f, nil
}

// parseDateRange reads [FROM..] or [FROM..TO] with eBay's strict format.
func parseDateRange(name, v string, now time.Time) (from, to time.Time, ferr *filterError) {
	inner, ok := strings.CutPrefix(v, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	var a, b string
	if ok {
		a, b, ok = strings.Cut(inner, "..")
	}
	if !ok {
		return from, to, &filterError{30800, "Invalid filter value " + v + " for filter " + name}
	}
	if a == "" {
		return from, to, &filterError{30820, "Start date is missing"}
	}
	from, err := time.Parse(dateFormat, a)
	if err != nil {
		return from, to, &filterError{30810, "Invalid date format"}
	}
	if b != "" {
		if to, err = time.Parse(dateFormat, b); err != nil {
			return from, to, &filterError{30810, "Invalid date format"}
		}
	}
	switch {
	case from.After(now) || to.After(now):
		return from, to, &filterError{30850, "Start and end dates can't be in the future"}
	case !to.IsZero() && from.After(to):
		return from, to, &filterError{30840, "Start date should be before end date"}
	case from.Before(now.Add(-lookBack)):
		return from, to, &filterError{30830, "Start date must be within 90 days of end date and current date."}
	}
	return from, to, nil
}

// handleGetOrders is GET /sell/fulfillment/v1/order with filter, limit
// (1 to 200, default 50) and offset (default 0). Orders awaiting payment
// are left out, as eBay leaves them out of getOrders; getOrder returns
// them.
func (s *Server) handleGetOrders(w http.ResponseWriter, r *http.Request) {
	q, bad := s.parseGetOrders(r)
	if bad != nil {
		writeErrors(w, http.StatusBadRequest, *bad)
		return
	}
	page, total := s.ordersPage(q)
	resp := map[string]any{
		"href":   s.srv.URL + r.URL.RequestURI(),
		"total":  total,
		"limit":  q.limit,
		"offset": q.offset,
		"orders": page,
	}
	if q.offset+q.limit < total {
		resp["next"] = s.ordersLink(r, q.offset+q.limit)
	}
	if q.offset > 0 {
		resp["prev"] = s.ordersLink(r, max(q.offset-q.limit, 0))
	}
	writeJSON(w, http.StatusOK, resp)
}

// getOrdersQuery is a getOrders call's parameters.
type getOrdersQuery struct {
	filter        *orderFilter
	limit, offset int
}

// parseGetOrders reads a getOrders call's parameters, or the error eBay
// answers (400) for the first one it refuses.
func (s *Server) parseGetOrders(r *http.Request) (getOrdersQuery, *Error) {
	// eBay wants the filter's brackets, braces and bar percent-encoded.
	if strings.ContainsAny(r.URL.RawQuery, "[]{}|") {
		return getOrdersQuery{}, &Error{ErrorID: 30800, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid filter value. The filter value must be URL encoded."}
	}
	q := r.URL.Query()
	filter, ferr := parseOrderFilter(q.Get("filter"), s.opts.Now())
	if ferr != nil {
		return getOrdersQuery{}, &Error{ErrorID: ferr.id, Domain: "API_FULFILLMENT", Category: "REQUEST", Message: ferr.msg}
	}
	limit, offset, bad := paging(q, 50, maxOrdersLimit)
	switch bad {
	case "limit":
		return getOrdersQuery{}, &Error{ErrorID: 31100, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid limit: " + q.Get("limit")}
	case "offset":
		return getOrdersQuery{}, &Error{ErrorID: 31000, Domain: "API_FULFILLMENT", Category: "REQUEST",
			Message: "Invalid offset: " + q.Get("offset")}
	}
	return getOrdersQuery{filter: filter, limit: limit, offset: offset}, nil
}

// ordersPage is the page of matching orders q asks for, newest first as
// eBay answers, and how many match. Orders awaiting payment are left out.
func (s *Server) ordersPage(q getOrdersQuery) ([]map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*Order
	for _, o := range s.orders {
		if o.OrderPaymentStatus != "PENDING" && q.filter.match(o) {
			match = append(match, o)
		}
	}
	sort.Slice(match, func(i, j int) bool {
		if !match[i].CreationDate.Equal(match[j].CreationDate) {
			return match[i].CreationDate.After(match[j].CreationDate) // eBay: newest first
		}
		return match[i].OrderID < match[j].OrderID
	})
	page := []map[string]any{}
	for i := q.offset; i < len(match) && i < q.offset+q.limit; i++ {
		page = append(page, match[i].json())
	}
	return page, len(match)
}

// ordersLink is the URL of the request's page at offset off: the same
// parameters, re-encoded.
func (s *Server) ordersLink(r *http.Request, off int) string {
	u := *r.URL
	nq := r.URL.Query()
	nq.Set("offset", strconv.Itoa(off))
	u.RawQuery = nq.Encode()
	return s.srv.URL + u.RequestURI()
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

// paging reads limit (1 to max, default def) and offset (0 or more,
// default 0); bad names the parameter that is not valid.
func paging(q url.Values, def, max int) (limit, offset int, bad string) {
	limit, offset = def, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > max {
			return 0, 0, "limit"
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, "offset"
		}
	}
	return limit, offset, ""
}
