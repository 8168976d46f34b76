package amazontest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is an order the fake holds, in Orders v0 terms.
type Order struct {
	AmazonOrderID string
	// Status is an Orders v0 OrderStatus (Pending, Unshipped, Shipped, Canceled...).
	Status     string
	LastUpdate time.Time
	// Created is the purchase date (default LastUpdate).
	Created time.Time
	// FulfillmentChannel is MFN (default) or AFN.
	FulfillmentChannel string
	MarketplaceID      string
	Items              []Item
	// ShipTo is where the order goes (nil: not said): v2026-01-01's
	// recipient.deliveryAddress with includedData=RECIPIENT.
	ShipTo *Address
}

// Address is the part of a delivery address the fake serves.
type Address struct {
	City, StateOrRegion, CountryCode string
}

// Item is one order item.
type Item struct {
	OrderItemID string
	SellerSKU   string
	Ordered     int64
	Shipped     int64
}

// AddOrder stores o, replacing an order of the same id.
func (s *Server) AddOrder(o Order) {
	if o.FulfillmentChannel == "" {
		o.FulfillmentChannel = "MFN"
	}
	if o.MarketplaceID == "" {
		o.MarketplaceID = DefaultMarketplace
	}
	if o.Created.IsZero() {
		o.Created = o.LastUpdate
	}
	o.Items = slices.Clone(o.Items)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders[o.AmazonOrderID] = &o
}

// pageState is what a NextToken stands for: the rest of a result.
type pageState struct {
	orderIDs []string // getOrders: the matching ids, in order
	offset   int
	size     int
	orderID  string // getOrderItems
}

// visibilityDelay: getOrders and searchOrders refuse a LastUpdatedBefore
// later than this before now ("at least two minutes before the time of the
// request"), and take it as the end of the window when none is given.
const visibilityDelay = 2 * time.Minute

func (s *Server) handleGetOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("MarketplaceIds") == "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "MarketplaceIds is required.")
		return
	}
	if tok := q.Get("NextToken"); tok != "" {
		s.continueOrders(w, tok)
		return
	}
	f, bad := s.parseGetOrders(q)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	s.writeOrdersPage(w, pageState{orderIDs: s.matchOrders(f), size: f.size})
}

// continueOrders answers the next page of a getOrders result; a NextToken
// is good for one page only, and only getOrders' own.
func (s *Server) continueOrders(w http.ResponseWriter, tok string) {
	s.mu.Lock()
	st, ok := s.pages[tok]
	delete(s.pages, tok)
	s.mu.Unlock()
	if !ok || st.orderIDs == nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid NextToken.")
		return
	}
	s.writeOrdersPage(w, st)
}

// getOrdersQuery is a first getOrders call's parameters.
type getOrdersQuery struct {
	// after and before bound LastUpdateDate, both included.
	after, before time.Time
	size          int
	markets       []string
	// channels are the FulfillmentChannels asked for; nil is any.
	channels []string
}

// parseGetOrders reads a first getOrders call's parameters; "" when they
// are good, else the InvalidInput message.
func (s *Server) parseGetOrders(q url.Values) (getOrdersQuery, string) {
	var f getOrdersQuery
	var bad string
	if f.after, f.before, bad = s.updatedWindow(q); bad != "" {
		return f, bad
	}
	if f.size, bad = s.ordersPageSize(q.Get("MaxResultsPerPage")); bad != "" {
		return f, bad
	}
	f.markets = strings.Split(q.Get("MarketplaceIds"), ",")
	if channels := q.Get("FulfillmentChannels"); channels != "" {
		f.channels = strings.Split(channels, ",")
	}
	return f, ""
}

// updatedWindow reads LastUpdatedAfter and LastUpdatedBefore, holding the
// two-minute rule: a LastUpdatedBefore later than now − 2 minutes is
// refused, and that is the window's end when none is given.
func (s *Server) updatedWindow(q url.Values) (after, before time.Time, bad string) {
	now := s.opts.Now()
	after, err := time.Parse(time.RFC3339, q.Get("LastUpdatedAfter"))
	if err != nil {
		return after, before, "LastUpdatedAfter is required and must be ISO 8601."
	}
	before = now.Add(-visibilityDelay)
	if v := q.Get("LastUpdatedBefore"); v != "" {
		b, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return after, before, "LastUpdatedBefore must be ISO 8601."
		}
		if b.After(before) {
			return after, before, "LastUpdatedBefore must be at least 2 minutes before the time of the request."
		}
		before = b
	}
	if !after.Before(before) {
		return after, before, "LastUpdatedAfter must be before LastUpdatedBefore."
	}
	return after, before, ""
}

// ordersPageSize is MaxResultsPerPage (1 to 100, default 100), capped by
// Options.OrdersPageSize to exercise paging.
func (s *Server) ordersPageSize(v string) (int, string) {
	size := 100
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "MaxResultsPerPage must be between 1 and 100."
		}
		size = n
	}
	return min(size, s.opts.OrdersPageSize), ""
}

// matchOrders is the ids of the orders a getOrders call finds, by update
// time, then id.
func (s *Server) matchOrders(f getOrdersQuery) []string {
	s.mu.Lock()
	var match []*Order
	for _, o := range s.orders {
		if o.LastUpdate.Before(f.after) || o.LastUpdate.After(f.before) || !slices.Contains(f.markets, o.MarketplaceID) {
			continue
		}
		if f.channels != nil && !slices.Contains(f.channels, o.FulfillmentChannel) {
			continue
		}
		match = append(match, o)
	}
	s.mu.Unlock()
	sortOrders(match)
	ids := make([]string, 0, len(match))
	for _, o := range match {
		ids = append(ids, o.AmazonOrderID)
	}
	return ids
}

// sortOrders orders a result by update time, then id.
func sortOrders(orders []*Order) {
	slices.SortFunc(orders, func(a, b *Order) int {
		if c := a.LastUpdate.Compare(b.LastUpdate); c != 0 {
			return c
		}
		return strings.Compare(a.AmazonOrderID, b.AmazonOrderID)
	})
}

func (s *Server) writeOrdersPage(w http.ResponseWriter, st pageState) {
	end := min(st.offset+st.size, len(st.orderIDs))
	s.mu.Lock()
	orders := make([]map[string]any, 0, end-st.offset)
	for _, id := range st.orderIDs[st.offset:end] {
		if o, ok := s.orders[id]; ok {
			orders = append(orders, orderJSON(o))
		}
	}
	payload := map[string]any{"Orders": orders}
	if end < len(st.orderIDs) {
		tok := s.newID()
		s.pages[tok] = pageState{orderIDs: st.orderIDs, offset: end, size: st.size}
		payload["NextToken"] = tok
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"payload": payload})
}

func orderJSON(o *Order) map[string]any {
	var shipped, unshipped int64
	for _, it := range o.Items {
		shipped += it.Shipped
		unshipped += it.Ordered - it.Shipped
	}
	return map[string]any{
		"AmazonOrderId":          o.AmazonOrderID,
		"PurchaseDate":           o.Created.UTC().Format(time.RFC3339),
		"LastUpdateDate":         o.LastUpdate.UTC().Format(time.RFC3339),
		"OrderStatus":            o.Status,
		"FulfillmentChannel":     o.FulfillmentChannel,
		"MarketplaceId":          o.MarketplaceID,
		"NumberOfItemsShipped":   shipped,
		"NumberOfItemsUnshipped": unshipped,
		"OrderType":              "StandardOrder",
	}
}

func (s *Server) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	var body map[string]any
	if ok {
		body = orderJSON(o)
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The order was not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": body})
}

func (s *Server) handleGetOrderItems(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	offset := 0
	if tok := r.URL.Query().Get("NextToken"); tok != "" {
		s.mu.Lock()
		st, ok := s.pages[tok]
		delete(s.pages, tok)
		s.mu.Unlock()
		if !ok || st.orderID != id {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid NextToken.")
			return
		}
		offset = st.offset
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The order was not found.")
		return
	}
	end := min(offset+s.opts.ItemsPageSize, len(o.Items))
	items := make([]map[string]any, 0, end-offset)
	for _, it := range o.Items[offset:end] {
		items = append(items, map[string]any{
			"OrderItemId": it.OrderItemID, "SellerSKU": it.SellerSKU, "ASIN": "B000TEST00",
			"QuantityOrdered": it.Ordered, "QuantityShipped": it.Shipped,
		})
	}
	payload := map[string]any{"AmazonOrderId": id, "OrderItems": items}
	if end < len(o.Items) {
		tok := s.newID()
		s.pages[tok] = pageState{orderID: id, offset: end}
		payload["NextToken"] = tok
	}
	// s.mu is held until the answer is built; writing is cheap.
	writeJSON(w, http.StatusOK, map[string]any{"payload": payload})
}
