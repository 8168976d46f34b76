package woocommercetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Order is an order held by the fake store.
type Order struct {
	ID int64
	// Number is the merchant-facing number (default: the id).
	Number string
	// Status is a WooCommerce status: pending, processing, on-hold,
	// completed, cancelled, refunded, failed, trash, checkout-draft… (default
	// processing).
	Status string
	// Created defaults to Modified; Modified to the clock. Both are kept
	// in whole seconds.
	Created  time.Time
	Modified time.Time
	// Completed is date_completed; set to Modified when the status becomes
	// completed and it is nil.
	Completed *time.Time
	Lines     []OrderLine
	Refunds   []Refund
	// StockReduced is the order's stock-reduced flag (the data store's
	// order_stock_reduced, _order_stock_reduced meta): set when its stock
	// was taken (Sell, or a status change to processing, completed or
	// on-hold), cleared when put back (a change to cancelled or pending).
	// AddOrder stores it as given, touching no stock.
	StockReduced bool
	// trashedFrom is the status before Trash, for Restore.
	trashedFrom string
}

// OrderLine is a line item. A zero ID is assigned. SKU "" is a line
// without a SKU; NullSKU answers sku null (a deleted product).
type OrderLine struct {
	ID          int64
	SKU         string
	NullSKU     bool
	ProductID   int64
	VariationID int64
	Quantity    int64
	// Restocked is the _restock_refunded_items meta: refunded units put
	// back in stock (0: no meta).
	Restocked int64
	// ReducedStock is the _reduced_stock meta (0: no meta).
	ReducedStock int64
}

// Refund is a refund of an order; a zero ID is assigned, a zero Created
// is the clock.
type Refund struct {
	ID      int64
	Created time.Time
	Lines   []RefundLine
}

// RefundLine refunds Quantity units (a positive count; WooCommerce
// answers it negated) of the order line LineID.
type RefundLine struct {
	ID       int64
	LineID   int64
	Quantity int64
}

// ErrNoOrder is returned for an order the store does not hold.
var ErrNoOrder = errors.New("woocommercetest: no such order")

// AddOrder stores o (replacing an order with its id) and returns its id.
// Zero ids are assigned; a line with a SKU the catalog holds and no
// product id gets the product's (or variation's) ids.
func (s *Server) AddOrder(o Order) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == 0 {
		o.ID = s.newIDLocked()
	}
	if o.Modified.IsZero() {
		o.Modified = s.opts.Now()
	}
	s.normalizeOrderLocked(&o)
	if o.Created.IsZero() || o.Created.After(o.Modified) {
		o.Created = o.Modified
	}
	s.orders[o.ID] = &o
	return o.ID
}

// normalizeOrderLocked fills defaults and ids, and cuts times to seconds.
func (s *Server) normalizeOrderLocked(o *Order) {
	if o.Status == "" {
		o.Status = "processing"
	}
	if o.Number == "" {
		o.Number = strconv.FormatInt(o.ID, 10)
	}
	o.Modified = wholeSeconds(o.Modified)
	o.Created = wholeSeconds(o.Created)
	if o.Status == "completed" && o.Completed == nil {
		at := o.Modified
		o.Completed = &at
	}
	if o.Completed != nil {
		at := wholeSeconds(*o.Completed)
		o.Completed = &at
	}
	o.Lines = append([]OrderLine(nil), o.Lines...)
	for i := range o.Lines {
		l := &o.Lines[i]
		if l.ID == 0 {
			l.ID = s.newIDLocked()
		}
		if l.ProductID == 0 && l.SKU != "" {
			if p := s.bySKULocked(l.SKU); p != nil {
				if p.ParentID > 0 {
					l.ProductID, l.VariationID = p.ParentID, p.ID
				} else {
					l.ProductID = p.ID
				}
			}
		}
	}
	o.Refunds = append([]Refund(nil), o.Refunds...)
	for i := range o.Refunds {
		r := &o.Refunds[i]
		if r.ID == 0 {
			r.ID = s.newIDLocked()
		}
		if r.Created.IsZero() {
			r.Created = o.Modified
		}
		r.Created = wholeSeconds(r.Created)
		r.Lines = append([]RefundLine(nil), r.Lines...)
		for j := range r.Lines {
			if r.Lines[j].ID == 0 {
				r.Lines[j].ID = s.newIDLocked()
			}
		}
	}
}

// UpdateOrder changes an order with f. Unless f moves Modified, it is set
// to the clock (WooCommerce stamps every save), in whole seconds. A status
// change runs core's stock hooks (see stockHookLocked): to processing,
// completed or on-hold the order's stock is reduced once, to cancelled or
// pending it is put back once.
func (s *Server) UpdateOrder(id int64, f func(*Order)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return ErrNoOrder
	}
	c := o.clone()
	before := c.Modified
	f(&c)
	c.ID = id
	if c.Modified.Equal(before) {
		c.Modified = s.opts.Now()
	}
	s.normalizeOrderLocked(&c)
	if c.Status != o.Status {
		s.stockHookLocked(&c)
	}
	s.orders[id] = &c
	return nil
}

// stockHookLocked is what WooCommerce core (includes/wc-stock-functions.php)
// hooks on woocommerce_order_status_{to}, run when an order's status
// changed to o.Status:
//   - processing, completed, on-hold: wc_maybe_reduce_stock_levels. Unless
//     the order's stock is already reduced, each line without a
//     _reduced_stock meta whose listing manages stock has its quantity
//     taken off (backorders may take it below zero) and the meta set;
//     the order is marked reduced either way.
//   - cancelled, pending: wc_maybe_increase_stock_levels. Only if the
//     order is marked reduced: each line with a _reduced_stock meta whose
//     listing manages stock gets that many units back and loses the meta;
//     the mark is cleared.
//
// Other statuses (refunded, failed, trash, checkout-draft) touch no stock.
func (s *Server) stockHookLocked(o *Order) {
	switch o.Status {
	case "processing", "completed", "on-hold":
		if o.StockReduced {
			return
		}
		for i := range o.Lines {
			l := &o.Lines[i]
			if p := s.listingOfLocked(l); l.ReducedStock == 0 && l.Quantity > 0 && p != nil && p.managesLocked(s) {
				s.stockHolderLocked(p).Stock -= l.Quantity
				l.ReducedStock = l.Quantity
			}
		}
		o.StockReduced = true
	case "cancelled", "pending":
		if !o.StockReduced {
			return
		}
		for i := range o.Lines {
			l := &o.Lines[i]
			if p := s.listingOfLocked(l); l.ReducedStock > 0 && p != nil && p.managesLocked(s) {
				s.stockHolderLocked(p).Stock += l.ReducedStock
				l.ReducedStock = 0
			}
		}
		o.StockReduced = false
	}
}

// Order returns a copy of an order.
func (s *Server) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return o.clone(), true
}

func (o *Order) clone() Order {
	c := *o
	c.Lines = append([]OrderLine(nil), o.Lines...)
	c.Refunds = make([]Refund, len(o.Refunds))
	for i, r := range o.Refunds {
		r.Lines = append([]RefundLine(nil), r.Lines...)
		c.Refunds[i] = r
	}
	if o.Completed != nil {
		at := *o.Completed
		c.Completed = &at
	}
	return c
}

// Trash moves an order to the trash, as the admin's "Move to Trash" and
// DELETE /orders/{id} do (WordPress stamps the change): it reads with
// status trash, and an order.deleted webhook would be sent.
func (s *Server) Trash(id int64) error {
	return s.UpdateOrder(id, func(o *Order) {
		if o.Status != "trash" {
			o.trashedFrom = o.Status
			o.Status = "trash"
		}
	})
}

// Restore takes an order out of the trash, back to its former status.
func (s *Server) Restore(id int64) error {
	return s.UpdateOrder(id, func(o *Order) {
		if o.Status == "trash" {
			o.Status = o.trashedFrom
			if o.Status == "" {
				o.Status = "pending"
			}
		}
	})
}

// DeleteOrder removes an order for good (DELETE /orders/{id}?force=true):
// it reads as a 404 from then on.
func (s *Server) DeleteOrder(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.orders, id)
}

// Refund refunds units of an order's lines (line id → units) as
// wc_create_refund does: a refund dated now, the order's modification
// stamped, and, with restock, the units put back in stock of listings
// that manage stock and counted in the line's _restock_refunded_items.
// It returns the refund's id.
func (s *Server) Refund(orderID int64, restock bool, units map[int64]int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return 0, ErrNoOrder
	}
	c := o.clone()
	now := s.opts.Now()
	r := Refund{ID: s.newIDLocked(), Created: now}
	ids := make([]int64, 0, len(units))
	for id := range units {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, lineID := range ids {
		n := units[lineID]
		k := -1
		for i := range c.Lines {
			if c.Lines[i].ID == lineID {
				k = i
			}
		}
		if k < 0 || n <= 0 {
			return 0, fmt.Errorf("woocommercetest: order %d has no line %d to refund %d units of", orderID, lineID, n)
		}
		r.Lines = append(r.Lines, RefundLine{ID: s.newIDLocked(), LineID: lineID, Quantity: n})
		if restock {
			l := &c.Lines[k]
			if p := s.listingOfLocked(l); p != nil && p.managesLocked(s) {
				s.stockHolderLocked(p).Stock += n
				l.Restocked += n
				l.ReducedStock = max(l.ReducedStock-n, 0)
			}
		}
	}
	c.Refunds = append(c.Refunds, r)
	c.Modified = now
	s.normalizeOrderLocked(&c)
	s.orders[orderID] = &c
	return r.ID, nil
}

// OrderJSON is the order's REST resource: what GET /orders/{id} answers
// and an order.created/updated/restored webhook carries.
func (s *Server) OrderJSON(id int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return nil, ErrNoOrder
	}
	return json.Marshal(s.orderResourceLocked(o))
}

// orderResource is the REST shape (the fields the documentation's
// example carries that matter here).
type orderResource struct {
	ID               int64            `json:"id"`
	ParentID         int64            `json:"parent_id"`
	Number           string           `json:"number"`
	OrderKey         string           `json:"order_key"`
	CreatedVia       string           `json:"created_via"`
	Status           string           `json:"status"`
	Currency         string           `json:"currency"`
	DateCreated      string           `json:"date_created"`
	DateCreatedGMT   string           `json:"date_created_gmt"`
	DateModified     string           `json:"date_modified"`
	DateModifiedGMT  string           `json:"date_modified_gmt"`
	DateCompleted    *string          `json:"date_completed"`
	DateCompletedGMT *string          `json:"date_completed_gmt"`
	Total            string           `json:"total"`
	LineItems        []lineResource   `json:"line_items"`
	Refunds          []refundRef      `json:"refunds"`
	Links            map[string][]any `json:"_links"`
}

type lineResource struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	ProductID   int64          `json:"product_id"`
	VariationID int64          `json:"variation_id"`
	Quantity    int64          `json:"quantity"`
	Subtotal    string         `json:"subtotal"`
	Total       string         `json:"total"`
	MetaData    []metaResource `json:"meta_data"`
	SKU         *string        `json:"sku"`
	Price       float64        `json:"price"`
}

type metaResource struct {
	ID    int64  `json:"id"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

type refundRef struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
	Total  string `json:"total"`
}

func (s *Server) orderResourceLocked(o *Order) orderResource {
	r := orderResource{
		ID: o.ID, Number: o.Number, OrderKey: fmt.Sprintf("wc_order_%d", o.ID), CreatedVia: "checkout",
		Status: o.Status, Currency: "USD",
		DateCreated: s.local(o.Created), DateCreatedGMT: gmt(o.Created),
		DateModified: s.local(o.Modified), DateModifiedGMT: gmt(o.Modified),
		Total:     "0.00",
		LineItems: make([]lineResource, 0, len(o.Lines)),
		Refunds:   make([]refundRef, 0, len(o.Refunds)),
		Links:     map[string][]any{"self": {map[string]string{"href": s.srv.URL + s.opts.APIPath + "/orders/" + strconv.FormatInt(o.ID, 10)}}},
	}
	if o.Completed != nil {
		l, g := s.local(*o.Completed), gmt(*o.Completed)
		r.DateCompleted, r.DateCompletedGMT = &l, &g
	}
	meta := int64(o.ID * 100)
	for _, l := range o.Lines {
		lr := lineResource{ID: l.ID, Name: "Product " + l.SKU, ProductID: l.ProductID, VariationID: l.VariationID,
			Quantity: l.Quantity, Subtotal: "0.00", Total: "0.00", MetaData: []metaResource{}}
		if !l.NullSKU {
			sku := l.SKU
			lr.SKU = &sku
		}
		if l.ReducedStock > 0 {
			meta++
			lr.MetaData = append(lr.MetaData, metaResource{ID: meta, Key: "_reduced_stock", Value: strconv.FormatInt(l.ReducedStock, 10)})
		}
		if l.Restocked > 0 {
			meta++
			lr.MetaData = append(lr.MetaData, metaResource{ID: meta, Key: "_restock_refunded_items", Value: strconv.FormatInt(l.Restocked, 10)})
		}
		r.LineItems = append(r.LineItems, lr)
	}
	for _, rf := range o.Refunds {
		r.Refunds = append(r.Refunds, refundRef{ID: rf.ID, Total: "-0.00"})
	}
	return r
}

// refundResource is an element of GET /orders/{id}/refunds.
type refundResource struct {
	ID              int64          `json:"id"`
	DateCreated     string         `json:"date_created"`
	DateCreatedGMT  string         `json:"date_created_gmt"`
	Amount          string         `json:"amount"`
	Reason          string         `json:"reason"`
	RefundedBy      int64          `json:"refunded_by"`
	RefundedPayment bool           `json:"refunded_payment"`
	MetaData        []metaResource `json:"meta_data"`
	LineItems       []lineResource `json:"line_items"`
}

func (s *Server) refundResourceLocked(o *Order, r Refund) refundResource {
	out := refundResource{ID: r.ID, DateCreated: s.local(r.Created), DateCreatedGMT: gmt(r.Created),
		Amount: "0.00", RefundedBy: 1, MetaData: []metaResource{}, LineItems: []lineResource{}}
	for _, rl := range r.Lines {
		var src OrderLine
		for _, l := range o.Lines {
			if l.ID == rl.LineID {
				src = l
			}
		}
		lr := lineResource{ID: rl.ID, Name: "Product " + src.SKU, ProductID: src.ProductID, VariationID: src.VariationID,
			Quantity: -rl.Quantity, Subtotal: "-0.00", Total: "-0.00",
			MetaData: []metaResource{{ID: rl.ID + 1, Key: "_refunded_item_id", Value: strconv.FormatInt(rl.LineID, 10)}}}
		if !src.NullSKU {
			sku := src.SKU
			lr.SKU = &sku
		}
		out.LineItems = append(out.LineItems, lr)
	}
	return out
}

// orderStatuses are the statuses status= accepts (any and trash besides).
var orderStatuses = map[string]bool{
	"pending": true, "processing": true, "on-hold": true, "completed": true, "cancelled": true,
	"refunded": true, "failed": true, "checkout-draft": true, "trash": true,
}

// dateFilter is one of after, before, modified_after, modified_before.
type dateFilter struct {
	modified, after bool
	at              time.Time // wall clock in the compared column's frame
}

// parseDateParam reads a date query parameter as WordPress does
// (WP_Date_Query::build_mysql_datetime): a date without a zone is taken
// as written, in the frame of the column compared (GMT with dates_are_gmt,
// site time without); a date with a zone is first converted to site
// time, so with dates_are_gmt a zone shifts it by the site's offset.
func (s *Server) parseDateParam(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false
	}
	site := t.UTC().Add(s.opts.SiteOffset)
	return time.Date(site.Year(), site.Month(), site.Day(), site.Hour(), site.Minute(), site.Second(), 0, time.UTC), true
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := paging(w, r)
	if !ok {
		return
	}
	oq, bad := s.parseOrderQuery(r.URL.Query())
	if bad != "" {
		writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+bad)
		return
	}
	s.mu.Lock()
	var list []*Order
	for _, o := range s.orders {
		if oq.matches(o, s.opts.SiteOffset) {
			list = append(list, o)
		}
	}
	oq.sort(list)
	out := make([]orderResource, 0, len(list))
	for _, o := range list {
		out = append(out, s.orderResourceLocked(o))
	}
	s.mu.Unlock()
	s.runHook("GET /orders", page)
	writePage(w, out, page, perPage)
}

// orderQuery is a GET /orders query's filters and sort order.
type orderQuery struct {
	statuses map[string]bool // {"any": true} for every status but trash
	gmtDates bool            // dates_are_gmt: compare the GMT columns
	filters  []dateFilter
	orderby  string
	desc     bool
}

// parseOrderQuery reads GET /orders' parameters, checked in the order
// WooCommerce checks them; bad names the first invalid parameter.
func (s *Server) parseOrderQuery(q url.Values) (oq orderQuery, bad string) {
	var ok bool
	if oq.statuses, ok = parseStatuses(q); !ok {
		return oq, "status"
	}
	oq.gmtDates = q.Get("dates_are_gmt") == "true" || q.Get("dates_are_gmt") == "1"
	if oq.filters, bad = s.parseDateFilters(q); bad != "" {
		return oq, bad
	}
	oq.orderby = q.Get("orderby")
	if oq.orderby == "" {
		oq.orderby = "date"
	}
	if !validOrderby[oq.orderby] {
		return oq, "orderby"
	}
	oq.desc = q.Get("order") != "asc"
	return oq, ""
}

// validOrderby are the orderby values the orders endpoint accepts.
var validOrderby = map[string]bool{"date": true, "id": true, "modified": true, "include": true, "title": true, "slug": true}

// parseStatuses reads status= and status[]= (each comma separated); ok
// is false for a status the endpoint does not accept.
func parseStatuses(q url.Values) (map[string]bool, bool) {
	statuses := map[string]bool{}
	for _, v := range append(q["status"], q["status[]"]...) {
		for _, st := range strings.Split(v, ",") {
			if st != "any" && !orderStatuses[st] {
				return nil, false
			}
			statuses[st] = true
		}
	}
	if len(statuses) == 0 || statuses["any"] {
		// WC_REST_Orders_Controller stops at "any": every status but
		// those WordPress excludes from search (trash).
		statuses = map[string]bool{"any": true}
	}
	return statuses, true
}

// parseDateFilters reads after, before, modified_after and
// modified_before; bad names the first that is not a date.
func (s *Server) parseDateFilters(q url.Values) ([]dateFilter, string) {
	var filters []dateFilter
	for _, f := range []struct {
		name            string
		modified, after bool
	}{{"after", false, true}, {"before", false, false}, {"modified_after", true, true}, {"modified_before", true, false}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		at, ok := s.parseDateParam(v)
		if !ok {
			return nil, f.name
		}
		filters = append(filters, dateFilter{modified: f.modified, after: f.after, at: at})
	}
	return filters, ""
}

// matches says whether the query lists the order: its status is asked
// for and it passes every date filter.
func (oq orderQuery) matches(o *Order, siteOffset time.Duration) bool {
	if oq.statuses["any"] {
		if o.Status == "trash" {
			return false
		}
	} else if !oq.statuses[o.Status] {
		return false
	}
	for _, f := range oq.filters {
		if !f.passes(o, oq.gmtDates, siteOffset) {
			return false
		}
	}
	return true
}

// passes compares the order's column as WordPress stores it: whole
// seconds, in GMT with dates_are_gmt and in site time without.
func (f dateFilter) passes(o *Order, gmtDates bool, siteOffset time.Duration) bool {
	col := o.Created
	if f.modified {
		col = o.Modified
	}
	col = wholeSeconds(col)
	if !gmtDates {
		col = col.Add(siteOffset)
	}
	// WP_Date_Query: after is >, before is < (not inclusive).
	if f.after {
		return col.After(f.at)
	}
	return col.Before(f.at)
}

// sort orders the list by the orderby column, ties by id; orderby values
// without a column here (id, include, title, slug) sort by id alone.
func (oq orderQuery) sort(list []*Order) {
	key := func(o *Order) time.Time {
		switch oq.orderby {
		case "modified":
			return o.Modified
		case "date":
			return o.Created
		}
		return time.Time{}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		ka, kb := key(a), key(b)
		if !ka.Equal(kb) {
			return ka.Before(kb) != oq.desc
		}
		return (a.ID < b.ID) != oq.desc
	})
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.orders[pathID(r)]
	var res orderResource
	if ok {
		res = s.orderResourceLocked(o)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) listRefunds(w http.ResponseWriter, r *http.Request) {
	page, perPage, ok := paging(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	o, found := s.orders[pathID(r)]
	var out []refundResource
	if found {
		rs := append([]Refund(nil), o.Refunds...)
		// Newest first, like the documentation's example (WordPress's
		// default order: date, desc).
		sort.Slice(rs, func(i, j int) bool {
			if !rs[i].Created.Equal(rs[j].Created) {
				return rs[i].Created.After(rs[j].Created)
			}
			return rs[i].ID > rs[j].ID
		})
		for _, rf := range rs {
			out = append(out, s.refundResourceLocked(o, rf))
		}
	}
	s.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
		return
	}
	writePage(w, out, page, perPage)
}
