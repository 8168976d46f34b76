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
	size := 100
	if v := q.Get("maxResultsPerPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "maxResultsPerPage must be between 1 and 100.")
			return
		}
		size = n
	}
	size = min(size, s.opts.OrdersPageSize)
	included := csvParam(q, "includedData")
	for _, v := range included {
		if !slices.Contains(includedDataValues, v) {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid includedData value "+v+".")
			return
		}
	}
	if tok := q.Get("paginationToken"); tok != "" {
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
		s.writeSearchOrdersPage(w, q, st, size, included)
		return
	}

	createdAfter, updatedAfter := q.Get("createdAfter"), q.Get("lastUpdatedAfter")
	byCreation := createdAfter != ""
	switch {
	case byCreation == (updatedAfter != ""):
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
		return
	case byCreation && (q.Has("lastUpdatedBefore")):
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "lastUpdatedBefore can not be used with createdAfter.")
		return
	case !byCreation && q.Has("createdBefore"):
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "createdBefore can not be used with lastUpdatedAfter.")
		return
	}
	afterName, beforeName, afterValue := "lastUpdatedAfter", "lastUpdatedBefore", updatedAfter
	if byCreation {
		afterName, beforeName, afterValue = "createdAfter", "createdBefore", createdAfter
	}
	after, err := time.Parse(time.RFC3339, afterValue)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", afterName+" must be an ISO 8601 date-time.")
		return
	}
	latest := now.Add(-visibilityDelay)
	before := latest
	if v := q.Get(beforeName); v != "" {
		b, err := time.Parse(time.RFC3339, v)
		switch {
		case err != nil:
			writeErrors(w, http.StatusBadRequest, "InvalidInput", beforeName+" must be an ISO 8601 date-time.")
			return
		case b.After(latest):
			writeErrors(w, http.StatusBadRequest, "InvalidInput", beforeName+" must be at least two minutes before the time of the request.")
			return
		case b.Before(after):
			writeErrors(w, http.StatusBadRequest, "InvalidInput", beforeName+" must be equal to or after "+afterName+".")
			return
		}
		before = b
	}
	markets := csvParam(q, "marketplaceIds")
	if len(markets) > maxSearchMarketplaces {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "marketplaceIds takes at most 50 values.")
		return
	}
	by := csvParam(q, "fulfilledBy")
	for _, v := range by {
		if !slices.Contains(fulfilledByValues, v) {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid fulfilledBy value "+v+".")
			return
		}
	}
	statuses := csvParam(q, "fulfillmentStatuses")
	for _, v := range statuses {
		if !slices.Contains(fulfillmentStatusValues, v) {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid fulfillmentStatuses value "+v+".")
			return
		}
	}

	s.mu.Lock()
	var match []*Order
	for _, o := range s.orders {
		at := o.LastUpdate
		if byCreation {
			at = o.Created
		}
		switch {
		case at.Before(after) || at.After(before):
		case len(markets) > 0 && !slices.Contains(markets, o.MarketplaceID):
		case len(by) > 0 && !slices.Contains(by, fulfilledBy(o)):
		case len(statuses) > 0 && !slices.Contains(statuses, statusV2026(o.Status)):
		default:
			match = append(match, o)
		}
	}
	s.mu.Unlock()
	sortOrders(match)
	ids := make([]string, 0, len(match))
	for _, o := range match {
		ids = append(ids, o.AmazonOrderID)
	}
	st := searchOrdersState{query: searchKey(q), orderIDs: ids, expires: now.Add(searchOrdersTokenLifetime)}
	s.writeSearchOrdersPage(w, q, st, size, included)
}

func (s *Server) writeSearchOrdersPage(w http.ResponseWriter, q url.Values, st searchOrdersState, size int, included []string) {
	end := min(st.offset+size, len(st.orderIDs))
	fulfillment := slices.Contains(included, "FULFILLMENT")
	s.mu.Lock()
	orders := make([]map[string]any, 0, end-st.offset)
	for _, id := range st.orderIDs[st.offset:end] {
		if o, ok := s.orders[id]; ok {
			orders = append(orders, orderJSON2026(o, fulfillment))
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
func orderJSON2026(o *Order, fulfillment bool) map[string]any {
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
	return out
}

// handleGetOrder2026 is v2026-01-01's getOrder: the order with its items,
// and the datasets includedData names.
func (s *Server) handleGetOrder2026(w http.ResponseWriter, r *http.Request) {
	included := csvParam(r.URL.Query(), "includedData")
	for _, v := range included {
		if !slices.Contains(includedDataValues, v) {
			writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid includedData value "+v+".")
			return
		}
	}
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	var body map[string]any
	if ok {
		body = orderJSON2026(o, slices.Contains(included, "FULFILLMENT"))
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The order was not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": body})
}
