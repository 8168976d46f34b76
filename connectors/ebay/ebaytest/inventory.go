package ebaytest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// maxBulkRequests is bulk_update_price_quantity's item limit.
const maxBulkRequests = 25

type inventoryItem struct {
	sku       string
	quantity  int64
	revisions int
	// day (UTC, 2006-01-02) and dayRevisions count the revisions of one
	// day, for Options.RevisionsPerDay.
	day          string
	dayRevisions int
	// dists are the item's availabilityDistributions (locations.go).
	dists []distribution
}

type offer struct {
	id          string
	sku         string
	marketplace string
	listingID   string
	quantity    int64
}

// ItemFailure is what bulk_update_price_quantity answers for a SKU that
// FailItem set up: the item's statusCode and one error.
type ItemFailure struct {
	Status  int
	ErrorID int
	Message string
}

// AddListing creates an inventory item with ship-to quantity and offers
// published offers for it on EBAY_US, each with availableQuantity
// quantity; it returns the new offer ids.
func (s *Server) AddListing(sku string, quantity int64, offers int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[sku] = &inventoryItem{sku: sku, quantity: quantity}
	ids := make([]string, 0, offers)
	for range offers {
		id := strconv.Itoa(s.nextOfferID)
		s.nextOfferID++
		s.offers[id] = &offer{id: id, sku: sku, marketplace: "EBAY_US", listingID: "11" + id, quantity: quantity}
		ids = append(ids, id)
	}
	return ids
}

// Sell takes n units off sku as an eBay sale does, in one step: the
// inventory item's quantity and every offer's availableQuantity drop by n,
// not below zero. It reports whether the SKU is listed.
func (s *Server) Sell(sku string, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return false
	}
	it.quantity = max(it.quantity-n, 0)
	for _, o := range s.offers {
		if o.sku == sku {
			o.quantity = max(o.quantity-n, 0)
		}
	}
	return true
}

// DeleteOffer withdraws and deletes an offer, as a seller can on eBay.
func (s *Server) DeleteOffer(offerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.offers, offerID)
}

// Quantity is the inventory item's ship-to-location quantity.
func (s *Server) Quantity(sku string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return 0, false
	}
	return it.quantity, true
}

// OfferQuantity is the offer's availableQuantity.
func (s *Server) OfferQuantity(offerID string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.offers[offerID]
	if !ok {
		return 0, false
	}
	return o.quantity, true
}

// Revisions counts the successful quantity updates of a SKU.
func (s *Server) Revisions(sku string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[sku]; ok {
		return it.revisions
	}
	return 0
}

// FailItem makes every bulk update of sku fail with f; a zero f clears it.
func (s *Server) FailItem(sku string, f ItemFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Status == 0 {
		delete(s.fail, sku)
		return
	}
	s.fail[sku] = f
}

func (it *inventoryItem) json() map[string]any {
	return map[string]any{
		"sku":       it.sku,
		"locale":    "en_US",
		"condition": "NEW",
		"product":   map[string]any{"title": "Item " + it.sku},
		"availability": map[string]any{
			"shipToLocationAvailability": it.shipTo(),
		},
	}
}

// handleGetOffers is GET /sell/inventory/v1/offer?sku=&marketplace_id=.
func (s *Server) handleGetOffers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sku := q.Get("sku")
	if sku == "" {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25707, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "This is an invalid value for a SKU."})
		return
	}
	s.mu.Lock()
	var found []map[string]any
	for _, o := range s.offers {
		if o.sku != sku || (q.Get("marketplace_id") != "" && q.Get("marketplace_id") != o.marketplace) {
			continue
		}
		found = append(found, map[string]any{
			"offerId": o.id, "sku": o.sku, "marketplaceId": o.marketplace, "format": "FIXED_PRICE",
			"availableQuantity": o.quantity, "status": "PUBLISHED",
			"listing": map[string]any{"listingId": o.listingID, "listingStatus": "ACTIVE"},
		})
	}
	s.mu.Unlock()
	if len(found) == 0 {
		writeErrors(w, http.StatusNotFound, Error{ErrorID: 25713, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "This Offer is not available."})
		return
	}
	sort.Slice(found, func(i, j int) bool { return found[i]["offerId"].(string) < found[j]["offerId"].(string) })
	writeJSON(w, http.StatusOK, map[string]any{
		"href": s.srv.URL + r.URL.RequestURI(), "limit": 100, "size": len(found), "total": len(found), "offers": found,
	})
}

// handleGetItems is GET /sell/inventory/v1/inventory_item?limit=&offset=.
func (s *Server) handleGetItems(w http.ResponseWriter, r *http.Request) {
	limit, offset, bad := paging(r.URL.Query(), 25, 200)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25706, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "You have provided invalid pagination values."})
		return
	}
	s.mu.Lock()
	skus := make([]string, 0, len(s.items))
	for sku := range s.items {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	page := []map[string]any{}
	for i := offset; i < len(skus) && i < offset+limit; i++ {
		page = append(page, s.items[skus[i]].json())
	}
	s.mu.Unlock()
	resp := map[string]any{
		"href": s.srv.URL + r.URL.RequestURI(), "limit": limit, "size": len(page), "total": len(skus), "inventoryItems": page,
	}
	if offset+limit < len(skus) {
		resp["next"] = s.srv.URL + "/sell/inventory/v1/inventory_item?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(offset+limit)
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleGetItem is GET /sell/inventory/v1/inventory_item/{sku}.
func (s *Server) handleGetItem(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	it, ok := s.items[r.PathValue("sku")]
	var body map[string]any
	if ok {
		body = it.json()
	}
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, Error{ErrorID: 25710, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "We didn't find the resource/entity you are requesting. Please verify the request"})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

type bulkRequest struct {
	Requests []bulkRequestItem `json:"requests"`
}

type bulkRequestItem struct {
	SKU                        string `json:"sku"`
	ShipToLocationAvailability *struct {
		Quantity                  *int64            `json:"quantity"`
		AvailabilityDistributions []bulkRequestDist `json:"availabilityDistributions"`
	} `json:"shipToLocationAvailability"`
	Offers []bulkRequestOffer `json:"offers"`
}

type bulkRequestOffer struct {
	OfferID           string `json:"offerId"`
	AvailableQuantity *int64 `json:"availableQuantity"`
	// Price is accepted (eBay takes it) and left alone: the fake keeps no prices.
	Price *struct {
		Value    string `json:"value"`
		Currency string `json:"currency"`
	} `json:"price"`
}

// maxOffersPerItem is how many offers of one inventory item one call may
// update ("up to 25 offers associated with an inventory item").
const maxOffersPerItem = 25

// DefaultRevisionsPerDay is eBay's limit: "each listing can be revised up
// to 250 times in one calendar day".
const DefaultRevisionsPerDay = 250

type bulkResponse struct {
	StatusCode int     `json:"statusCode"`
	SKU        string  `json:"sku"`
	OfferID    string  `json:"offerId,omitempty"`
	Errors     []Error `json:"errors,omitempty"`
	Warnings   []Error `json:"warnings,omitempty"`
}

// BeforeBulkUpdate sets f to run before each bulk update (a valid body)
// is applied, without the fake's lock: what happens on eBay between a
// client's read and its write. nil clears it.
func (s *Server) BeforeBulkUpdate(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeBulk = f
}

// RefuseBulk makes the next n bulk updates answer 400 with a request-level
// error and no per-item results, as eBay does for a body it can not read.
func (s *Server) RefuseBulk(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseBulk = n
}

// handleBulkUpdate is POST /sell/inventory/v1/bulk_update_price_quantity,
// as eBay documents it: a JSON body (Content-Type application/json) of 1
// to 25 requests, each one SKU with at most 25 offers; one response entry
// per offer (or per SKU when no offer is named) with its own statusCode;
// the call answers 200 when every entry succeeded, 207 when some did, 400
// when none did. Per entry it refuses (400, 25709) an offer named twice in
// one request, an offer with neither availableQuantity nor price, a
// negative quantity, and a request that updates nothing; an offer of
// another SKU, or one eBay does not know, is 404 25713; a SKU past its
// revisions of the UTC day (Options.RevisionsPerDay) is 400 25002.
func (s *Server) handleBulkUpdate(w http.ResponseWriter, r *http.Request) {
	if !jsonBody(w, r) {
		return
	}
	s.mu.Lock()
	refuse := s.refuseBulk > 0
	if refuse {
		s.refuseBulk--
	}
	s.mu.Unlock()
	if refuse {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25709, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "Invalid value for requests. The request body is not valid."})
		return
	}
	var req bulkRequest
	if !readBulk(w, r, &req, func() int { return len(req.Requests) }) {
		return
	}
	s.mu.Lock()
	hook := s.beforeBulk
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	for _, rq := range req.Requests {
		if len(rq.Offers) > maxOffersPerItem {
			writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25709, Domain: "API_INVENTORY", Category: "REQUEST",
				Message: "Invalid value for offers. At most 25 offers of an inventory item can be updated in one call."})
			return
		}
	}
	s.mu.Lock()
	out := make([]bulkResponse, 0, len(req.Requests))
	for _, rq := range req.Requests {
		out = append(out, s.bulkUpdateItem(rq)...)
	}
	s.mu.Unlock()
	status, ok := http.StatusOK, 0
	for _, e := range out {
		if e.StatusCode == http.StatusOK {
			ok++
		}
	}
	switch {
	case ok == 0:
		status = http.StatusBadRequest
	case ok < len(out):
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"responses": out})
}

// bulkUpdateItem applies one request of a bulk update and returns its
// entries. s.mu is held.
func (s *Server) bulkUpdateItem(rq bulkRequestItem) []bulkResponse {
	u := s.checkBulkItem(rq)
	var entries []bulkResponse
	if len(rq.Offers) == 0 {
		entries = append(entries, s.bulkEntry(&u, nil))
	}
	for i := range rq.Offers {
		entries = append(entries, s.bulkEntry(&u, &rq.Offers[i]))
	}
	s.applyBulkItem(&u, entries)
	return entries
}

// bulkItemUpdate is one request of a bulk update with what the fake knows
// of its SKU, read before anything of it is applied.
type bulkItemUpdate struct {
	rq bulkRequestItem
	// shipTo is the inventory item's new quantity, if the request sets it.
	shipTo *int64
	// whole is a refusal of the request as a whole: every entry says it.
	whole *Error
	// fail is FailItem's failure of the SKU, if failing.
	fail    ItemFailure
	failing bool
	// it is the SKU's inventory item, if known.
	it    *inventoryItem
	known bool
	// today is the UTC day the revisions are counted in; overBudget says
	// the SKU has no revision left in it.
	today      string
	overBudget bool
}

// checkBulkItem reads what the outcome of a request's entries depends on.
// s.mu is held.
func (s *Server) checkBulkItem(rq bulkRequestItem) bulkItemUpdate {
	u := bulkItemUpdate{rq: rq}
	if rq.ShipToLocationAvailability != nil {
		u.shipTo = rq.ShipToLocationAvailability.Quantity
	}
	u.whole = wholeBulkItemError(rq, u.shipTo)
	if u.whole == nil {
		u.whole = s.distributionsError(rq)
	}
	u.fail, u.failing = s.fail[rq.SKU]
	u.it, u.known = s.items[rq.SKU]
	u.today = s.opts.Now().UTC().Format("2006-01-02")
	u.overBudget = u.known && s.opts.RevisionsPerDay > 0 && u.it.day == u.today && u.it.dayRevisions >= s.opts.RevisionsPerDay
	return u
}

// wholeBulkItemError is what makes a request invalid as a whole, or nil:
// a negative quantity, then nothing to update, then the last offer named
// twice.
func wholeBulkItemError(rq bulkRequestItem, shipTo *int64) *Error {
	var whole *Error
	seen := map[string]bool{}
	for _, o := range rq.Offers {
		if seen[o.OfferID] {
			e := invalidValue("offerId. Offer " + o.OfferID + " is given more than once.")
			whole = &e
		}
		seen[o.OfferID] = true
	}
	switch {
	case shipTo != nil && *shipTo < 0:
		e := invalidValue("quantity. The quantity must be 0 or more.")
		whole = &e
	case shipTo == nil && len(rq.Offers) == 0:
		e := invalidValue("requests. Nothing to update for SKU " + rq.SKU + ".")
		whole = &e
	}
	return whole
}

// invalidValue is eBay's 25709 error, "Invalid value for " what.
func invalidValue(msg string) Error {
	return Error{ErrorID: 25709, Domain: "API_INVENTORY", Category: "REQUEST", Message: "Invalid value for " + msg}
}

// bulkEntry is the response entry of one offer of a request, or of the
// SKU when the request names no offer (o nil). s.mu is held.
func (s *Server) bulkEntry(u *bulkItemUpdate, o *bulkRequestOffer) bulkResponse {
	e := bulkResponse{StatusCode: http.StatusOK, SKU: u.rq.SKU}
	if o != nil {
		e.OfferID = o.OfferID
	}
	if status, er, refused := s.bulkRefusal(u, o); refused {
		e.StatusCode, e.Errors = status, []Error{er}
	}
	return e
}

// bulkRefusal is why an entry fails, the first reason in eBay's order of
// checks, or false when it succeeds. s.mu is held.
func (s *Server) bulkRefusal(u *bulkItemUpdate, o *bulkRequestOffer) (int, Error, bool) {
	switch {
	case u.whole != nil:
		return http.StatusBadRequest, *u.whole, true
	case o != nil && o.AvailableQuantity == nil && o.Price == nil:
		return http.StatusBadRequest, invalidValue("offers. Either availableQuantity or price is required."), true
	case o != nil && o.AvailableQuantity != nil && *o.AvailableQuantity < 0:
		return http.StatusBadRequest, invalidValue("availableQuantity. The quantity must be 0 or more."), true
	case u.failing:
		return u.fail.Status, Error{ErrorID: u.fail.ErrorID, Domain: "API_INVENTORY", Category: "REQUEST", Message: u.fail.Message}, true
	case !u.known:
		return http.StatusNotFound, Error{ErrorID: 25710, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "We didn't find the resource/entity you are requesting."}, true
	case u.overBudget:
		return http.StatusBadRequest, Error{ErrorID: 25002, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "A user error has occurred. This listing has been revised the maximum number of times today."}, true
	}
	if o != nil {
		if of, ok := s.offers[o.OfferID]; !ok || of.sku != u.rq.SKU {
			return http.StatusNotFound, Error{ErrorID: 25713, Domain: "API_INVENTORY", Category: "REQUEST",
				Message: "This Offer is not available."}, true
		}
	}
	return 0, Error{}, false
}

// applyBulkItem applies what succeeded: each such offer's quantity, and
// when any entry did, the inventory item's quantity and one revision of
// its day. s.mu is held.
func (s *Server) applyBulkItem(u *bulkItemUpdate, entries []bulkResponse) {
	okAny := false
	for i, e := range entries {
		if e.StatusCode != http.StatusOK {
			continue
		}
		okAny = true
		if len(u.rq.Offers) > 0 && u.rq.Offers[i].AvailableQuantity != nil {
			s.offers[u.rq.Offers[i].OfferID].quantity = *u.rq.Offers[i].AvailableQuantity
		}
	}
	if !okAny || !u.known {
		return
	}
	it := u.it
	if u.shipTo != nil {
		it.quantity = *u.shipTo
	}
	if st := u.rq.ShipToLocationAvailability; st != nil && st.AvailabilityDistributions != nil {
		it.dists = newDistributions(st.AvailabilityDistributions)
	}
	it.revisions++
	if it.day != u.today {
		it.day, it.dayRevisions = u.today, 0
	}
	it.dayRevisions++
}

// FailRead makes bulk_get_inventory_item answer f in the entry of sku: for
// its next n reads, or for every read when n <= 0. A zero f clears it.
func (s *Server) FailRead(sku string, f ItemFailure, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Status == 0 {
		delete(s.failRead, sku)
		return
	}
	s.failRead[sku] = &readFailure{ItemFailure: f, left: n}
}

type readFailure struct {
	ItemFailure
	left int // reads still to fail; <= 0 is every read
}

type bulkGetRequest struct {
	Requests []struct {
		SKU string `json:"sku"`
	} `json:"requests"`
}

type bulkGetEntry struct {
	StatusCode    int            `json:"statusCode"`
	SKU           string         `json:"sku"`
	InventoryItem map[string]any `json:"inventoryItem,omitempty"`
	Errors        []Error        `json:"errors,omitempty"`
}

// handleBulkGet is POST /sell/inventory/v1/bulk_get_inventory_item: one
// entry per SKU asked, 404 for a SKU without an inventory item; 200 when
// every entry is 200, 207 when some are, 400 when none is. More than 25
// SKUs, none, or a body that is not JSON is refused with 400 as a whole.
func (s *Server) handleBulkGet(w http.ResponseWriter, r *http.Request) {
	if !jsonBody(w, r) {
		return
	}
	var req bulkGetRequest
	if !readBulk(w, r, &req, func() int { return len(req.Requests) }) {
		return
	}
	s.mu.Lock()
	out := make([]bulkGetEntry, 0, len(req.Requests))
	ok := 0
	for _, rq := range req.Requests {
		e := bulkGetEntry{StatusCode: http.StatusOK, SKU: rq.SKU}
		it, known := s.items[rq.SKU]
		f := s.failRead[rq.SKU]
		switch {
		case f != nil:
			e.StatusCode = f.Status
			e.Errors = []Error{{ErrorID: f.ErrorID, Domain: "API_INVENTORY", Category: "REQUEST", Message: f.Message}}
			if f.left > 0 {
				if f.left--; f.left == 0 {
					delete(s.failRead, rq.SKU)
				}
			}
		case !known:
			e.StatusCode = http.StatusNotFound
			e.Errors = []Error{{ErrorID: 25710, Domain: "API_INVENTORY", Category: "REQUEST",
				Message: "We didn't find the resource/entity you are requesting. Please verify the request"}}
		default:
			e.InventoryItem = it.json()
			ok++
		}
		out = append(out, e)
	}
	s.mu.Unlock()
	status := http.StatusOK
	switch {
	case ok == 0:
		status = http.StatusBadRequest
	case ok < len(out):
		status = http.StatusMultiStatus
	}
	writeJSON(w, status, map[string]any{"responses": out})
}

// readBulk decodes a bulk call's body into req and checks it asks for 1 to
// 25 items (n counts them), answering 400 as eBay does when not.
func readBulk(w http.ResponseWriter, r *http.Request, req any, n func() int) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil || n() == 0 {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25709, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "Invalid value for requests. The request body is not valid."})
		return false
	}
	if n() > maxBulkRequests {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25709, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "Invalid value for requests. The number of requests exceeds 25."})
		return false
	}
	return true
}

// jsonBody refuses (415) a body that is not declared JSON: eBay's bulk
// calls require the Content-Type header, application/json.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeErrors(w, http.StatusUnsupportedMediaType, Error{ErrorID: 25001, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "Content-Type application/json is required."})
		return false
	}
	return true
}
