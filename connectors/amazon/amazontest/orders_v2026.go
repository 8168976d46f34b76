package amazontest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Orders API v2026-01-01 (models/orders-api-model/orders_2026-01-01.json):
// searchOrders and getOrder, over the same orders as v0.

// v2026 enums the fake checks requests against.
var (
	includedDataValues = []string{"BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
		"FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"}
	fulfilledByValues         = []string{"MERCHANT", "AMAZON"}
	fulfillmentStatusValues   = []string{"PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED", "UNFULFILLABLE"}
	maxSearchMarketplaces     = 50
	searchOrdersTokenLifetime = 24 * time.Hour
)

// statusV2026 is v0's OrderStatus in v2026-01-01's FulfillmentStatus enum.
// That enum has no InvoiceUnconfirmed ("all items in the order have been
// shipped", v0): it is SHIPPED here.
func statusV2026(v0 string) string {
	switch v0 {
	case "PendingAvailability":
		return "PENDING_AVAILABILITY"
	case "Pending":
		return "PENDING"
	case "Unshipped":
		return "UNSHIPPED"
	case "PartiallyShipped":
		return "PARTIALLY_SHIPPED"
	case "Shipped", "InvoiceUnconfirmed":
		return "SHIPPED"
	case "Canceled":
		return "CANCELLED"
	case "Unfulfillable":
		return "UNFULFILLABLE"
	}
	return strings.ToUpper(v0)
}

// searchOrdersState is what a searchOrders paginationToken stands for: the
// rest of a result, and the query it must come back with.
type searchOrdersState struct {
	query    string // the request's parameters but paginationToken, maxResultsPerPage and includedData
	orderIDs []string
	offset   int
	expires  time.Time
}

// csvParam reads an array query parameter: comma-separated (the models'
// default collectionFormat), or repeated.
func csvParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// searchKey is the part of a searchOrders request a paginationToken binds:
// every parameter "with the same values", but maxResultsPerPage and
// includedData, which may change between calls.
func searchKey(q url.Values) string {
	k := url.Values{}
	for name, v := range q {
		switch name {
		case "paginationToken", "maxResultsPerPage", "includedData":
		default:
			k[name] = v
		}
	}
	return k.Encode()
}

// handleSearchOrders is searchOrders: orders created (createdAfter,
// createdBefore) or updated (lastUpdatedAfter, lastUpdatedBefore) in a
// window, exactly one of the two kinds; the end of the window at least two
// minutes before now (400 otherwise), and two minutes before now when
// left out, so a change shows only once it is two minutes old; filtered by
// marketplaceIds (≤ 50), fulfilledBy and fulfillmentStatuses; items always
// in, order and item fulfillment only with includedData=FULFILLMENT; pages
// of maxResultsPerPage (1–100, default 100, capped by
// Options.OrdersPageSize) with pagination.nextToken, which must come back
// as paginationToken with the same other parameters, within 24 hours.
func (s *Server) handleSearchOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.opts.Now()
	pg, bad := s.parseSearchOrdersPage(q)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	if s.refusedRecipient(w, pg.included) {
		return
	}
	if tok := q.Get("paginationToken"); tok != "" {
		s.continueSearchOrders(w, q, tok, now, pg)
		return
	}
	f, bad := parseSearchOrders(q, now)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	st := searchOrdersState{query: searchKey(q), orderIDs: s.searchOrderIDs(f), expires: now.Add(searchOrdersTokenLifetime)}
	s.writeSearchOrdersPage(w, q, st, pg.size, pg.included)
}

// searchOrdersPage is what shapes every searchOrders page, the first or a
// later one: both may change between calls.
type searchOrdersPage struct {
	size     int
	included []string
}

// parseSearchOrdersPage reads maxResultsPerPage (1–100, default 100,
// capped by Options.OrdersPageSize) and includedData; "" when they are
// good, else the InvalidInput message.
func (s *Server) parseSearchOrdersPage(q url.Values) (searchOrdersPage, string) {
	pg := searchOrdersPage{size: 100}
	if v := q.Get("maxResultsPerPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return pg, "maxResultsPerPage must be between 1 and 100."
		}
		pg.size = n
	}
	pg.size = min(pg.size, s.opts.OrdersPageSize)
	pg.included = csvParam(q, "includedData")
	return pg, badEnumValue(pg.included, includedDataValues, "includedData")
}

// badEnumValue is the InvalidInput message for the first of vals that is
// not among allowed, or "" when all are.
func badEnumValue(vals, allowed []string, name string) string {
	for _, v := range vals {
		if !slices.Contains(allowed, v) {
			return "Invalid " + name + " value " + v + "."
		}
	}
	return ""
}

// continueSearchOrders answers the next page of a search: a
// paginationToken is good for one page, within its lifetime, and only
// with the parameters of the request that returned it.
func (s *Server) continueSearchOrders(w http.ResponseWriter, q url.Values, tok string, now time.Time, pg searchOrdersPage) {
	s.mu.Lock()
	st, ok := s.orderSearches[tok]
	delete(s.orderSearches, tok)
	s.mu.Unlock()
	switch {
	case !ok || now.After(st.expires):
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid or expired paginationToken.")
		return
	case st.query != searchKey(q):
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "The parameters must be the same as those of the request that returned the paginationToken.")
		return
	}
	s.writeSearchOrdersPage(w, q, st, pg.size, pg.included)
}

// searchOrdersQuery is what a first searchOrders call asks for.
type searchOrdersQuery struct {
	// byCreation windows on the creation time, else on the update time.
	byCreation bool
	// after and before bound the window, both included.
	after, before time.Time
	// markets, by and statuses filter when not empty.
	markets, by, statuses []string
}

// searchWindowKind names the parameters of one kind of window.
type searchWindowKind struct {
	byCreation            bool
	afterName, beforeName string
}

// parseSearchOrders reads a first searchOrders call's window and filters;
// "" when they are good, else the InvalidInput message.
func parseSearchOrders(q url.Values, now time.Time) (searchOrdersQuery, string) {
	var f searchOrdersQuery
	kind, bad := parseSearchWindowKind(q)
	if bad != "" {
		return f, bad
	}
	f.byCreation = kind.byCreation
	if f.after, f.before, bad = parseSearchWindow(q, kind, now); bad != "" {
		return f, bad
	}
	f.markets = csvParam(q, "marketplaceIds")
	if len(f.markets) > maxSearchMarketplaces {
		return f, "marketplaceIds takes at most 50 values."
	}
	f.by = csvParam(q, "fulfilledBy")
	if bad := badEnumValue(f.by, fulfilledByValues, "fulfilledBy"); bad != "" {
		return f, bad
	}
	f.statuses = csvParam(q, "fulfillmentStatuses")
	return f, badEnumValue(f.statuses, fulfillmentStatusValues, "fulfillmentStatuses")
}

// parseSearchWindowKind tells which kind of window a call asks for:
// exactly one of createdAfter and lastUpdatedAfter, and no end of the
// other kind.
func parseSearchWindowKind(q url.Values) (searchWindowKind, string) {
	byCreation := q.Get("createdAfter") != ""
	switch {
	case byCreation == (q.Get("lastUpdatedAfter") != ""):
		return searchWindowKind{}, "Exactly one of createdAfter and lastUpdatedAfter is required."
	case byCreation && q.Has("lastUpdatedBefore"):
		return searchWindowKind{}, "lastUpdatedBefore can not be used with createdAfter."
	case !byCreation && q.Has("createdBefore"):
		return searchWindowKind{}, "createdBefore can not be used with lastUpdatedAfter."
	}
	if byCreation {
		return searchWindowKind{byCreation: true, afterName: "createdAfter", beforeName: "createdBefore"}, ""
	}
	return searchWindowKind{afterName: "lastUpdatedAfter", beforeName: "lastUpdatedBefore"}, ""
}

// parseSearchWindow reads a window's bounds, holding the two-minute rule:
// an end later than now − 2 minutes is refused, and that is the end when
// none is given.
func parseSearchWindow(q url.Values, kind searchWindowKind, now time.Time) (after, before time.Time, bad string) {
	after, err := time.Parse(time.RFC3339, q.Get(kind.afterName))
	if err != nil {
		return after, before, kind.afterName + " must be an ISO 8601 date-time."
	}
	latest := now.Add(-visibilityDelay)
	before = latest
	if v := q.Get(kind.beforeName); v != "" {
		b, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			return after, before, kind.beforeName + " must be an ISO 8601 date-time."
		case b.After(latest):
			return after, before, kind.beforeName + " must be at least two minutes before the time of the request."
		case b.Before(after):
			return after, before, kind.beforeName + " must be equal to or after " + kind.afterName + "."
		}
		before = b
	}
	return after, before, ""
}

// matches tells whether o is in the window and passes the filters.
func (f *searchOrdersQuery) matches(o *Order) bool {
	at := o.LastUpdate
	if f.byCreation {
		at = o.Created
	}
	switch {
	case at.Before(f.after) || at.After(f.before):
	case len(f.markets) > 0 && !slices.Contains(f.markets, o.MarketplaceID):
	case len(f.by) > 0 && !slices.Contains(f.by, fulfilledBy(o)):
	case len(f.statuses) > 0 && !slices.Contains(f.statuses, statusV2026(o.Status)):
	default:
		return true
	}
	return false
}

// searchOrderIDs is the ids of the orders a search finds, by update time,
// then id.
func (s *Server) searchOrderIDs(f searchOrdersQuery) []string {
	s.mu.Lock()
	var match []*Order
	for _, o := range s.orders {
		if f.matches(o) {
			match = append(match, o)
		}
	}
	s.mu.Unlock()
	sortOrders(match)
	ids := make([]string, 0, len(match))
	for _, o := range match {
		ids = append(ids, o.AmazonOrderID)
	}
	return ids
}

func (s *Server) writeSearchOrdersPage(w http.ResponseWriter, q url.Values, st searchOrdersState, size int, included []string) {
	end := min(st.offset+size, len(st.orderIDs))
	s.mu.Lock()
	orders := make([]map[string]any, 0, end-st.offset)
	for _, id := range st.orderIDs[st.offset:end] {
		if o, ok := s.orders[id]; ok {
			orders = append(orders, orderJSON2026(o, included))
		}
	}
	resp := map[string]any{"orders": orders}
	if end < len(st.orderIDs) {
		tok := s.newID()
		next := st
		next.offset = end
		s.orderSearches[tok] = next
		resp["pagination"] = map[string]any{"nextToken": tok}
	}
	s.mu.Unlock()
	// The answer names the end of its window, as Amazon's does.
	if v := q.Get("lastUpdatedBefore"); v != "" {
		resp["lastUpdatedBefore"] = v
	} else if v := q.Get("createdBefore"); v != "" {
		resp["createdBefore"] = v
	}
	writeJSON(w, http.StatusOK, resp)
}

func fulfilledBy(o *Order) string {
	if o.FulfillmentChannel == "AFN" {
		return "AMAZON"
	}
	return "MERCHANT"
}

// orderJSON2026 is o in the v2026-01-01 model: items always included,
// the fulfillment blocks (order status, fulfilledBy, item quantities) only
// with includedData=FULFILLMENT.
func orderJSON2026(o *Order, included []string) map[string]any {
	fulfillment := slices.Contains(included, "FULFILLMENT")
	items := make([]map[string]any, 0, len(o.Items))
	for _, it := range o.Items {
		m := map[string]any{
			"orderItemId":     it.OrderItemID,
			"quantityOrdered": it.Ordered,
			"product":         map[string]any{"asin": "B000TEST00", "sellerSku": it.SellerSKU},
		}
		if fulfillment {
			m["fulfillment"] = map[string]any{"quantityFulfilled": it.Shipped, "quantityUnfulfilled": max(it.Ordered-it.Shipped, 0)}
		}
		items = append(items, m)
	}
	out := map[string]any{
		"orderId":         o.AmazonOrderID,
		"createdTime":     o.Created.UTC().Format(time.RFC3339),
		"lastUpdatedTime": o.LastUpdate.UTC().Format(time.RFC3339),
		"salesChannel":    map[string]any{"channelName": "AMAZON", "marketplaceId": o.MarketplaceID},
		"orderItems":      items,
	}
	if fulfillment {
		out["fulfillment"] = map[string]any{"fulfillmentStatus": statusV2026(o.Status), "fulfilledBy": fulfilledBy(o)}
	}
	if slices.Contains(included, "RECIPIENT") && o.ShipTo != nil {
		// Only the parts Amazon does not count as PII ("Access Orders
		// PII"), which are all the connector reads. An app without the
		// Direct-to-Consumer Delivery role gets none of it: the call is
		// refused (Options.RefuseRecipient).
		out["recipient"] = map[string]any{"deliveryAddress": map[string]any{
			"city": o.ShipTo.City, "stateOrRegion": o.ShipTo.StateOrRegion, "countryCode": o.ShipTo.CountryCode,
		}}
	}
	return out
}

// handleGetOrder2026 is v2026-01-01's getOrder: the order with its items,
// and the datasets includedData names.
func (s *Server) handleGetOrder2026(w http.ResponseWriter, r *http.Request) {
	included := csvParam(r.URL.Query(), "includedData")
	if bad := badEnumValue(included, includedDataValues, "includedData"); bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	if s.refusedRecipient(w, included) {
		return
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	var body map[string]any
	if ok {
		body = orderJSON2026(o, included)
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The order was not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": body})
}

// refusedRecipient answers Options.RefuseRecipient to a call asking for
// RECIPIENT, and says whether it did.
func (s *Server) refusedRecipient(w http.ResponseWriter, included []string) bool {
	st := s.opts.RefuseRecipient
	if st == 0 || !slices.Contains(included, "RECIPIENT") {
		return false
	}
	if st == http.StatusForbidden {
		writeErrors(w, st, "Unauthorized", "Access to requested resource is denied.")
		return true
	}
	writeErrors(w, st, "InvalidInput", "Application do not have access to some or all requested resource")
	return true
}
