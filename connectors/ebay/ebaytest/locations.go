package ebaytest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Inventory locations and an inventory item's availabilityDistributions
// (the quantity at each of the seller's locations, by merchantLocationKey).
//
// What eBay documents and the fake checks: a distribution names an
// inventory location of the seller by merchantLocationKey (at most 36
// characters, the location methods' limit) with an integer quantity;
// inventory can not be loaded or modified at a disabled location. What
// eBay does not document and the fake assumes: the error ids (all 400
// 25709 "Invalid value for ..."), that a key named twice, a distribution
// without its key or quantity, or distributions without the ship-to
// quantity are refused, that an update with distributions replaces the
// item's whole list while one without keeps it, that the ship-to
// quantity need not equal the distributions' sum (the listing sells the
// ship-to quantity), and that a sale (Sell) lowers the ship-to quantity
// and the offers but no distribution.

// maxLocationKey is the longest merchantLocationKey ("Max length: 36").
const maxLocationKey = 36

// getInventoryLocations (GET /sell/inventory/v1/location): what eBay
// documents and the fake serves: a user token with sell.inventory (or
// sell.inventory.readonly, which the fake does not issue); optional
// limit (Min 1; default 100 locations a page) and offset (the number of
// locations skipped, default 0); a LocationResponse {href, limit, next
// (only when there is a further page), offset, prev (only when there is
// an earlier one), total (0 when there are none), locations}; each
// location an InventoryLocationResponse with merchantLocationKey and
// merchantLocationStatus (StatusEnum: ENABLED or DISABLED), name and
// locationTypes. What eBay does not document and the fake assumes: the
// order of the locations (by key here), a largest limit (none here), and
// the answer to a limit or offset that is not a whole number in range
// (400, error 25706 as getInventoryItems' invalid pagination).
const (
	locationsPath         = "/sell/inventory/v1/location"
	defaultLocationsLimit = 100
)

// handleGetLocations is GET /sell/inventory/v1/location?limit=&offset=.
func (s *Server) handleGetLocations(w http.ResponseWriter, r *http.Request) {
	limit, offset, bad := paging(r.URL.Query(), defaultLocationsLimit, int(^uint(0)>>1))
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, Error{ErrorID: 25706, Domain: "API_INVENTORY", Category: "REQUEST",
			Message: "You have provided invalid pagination values. {" + bad + "}"})
		return
	}
	s.mu.Lock()
	hook := s.beforeLocations
	s.mu.Unlock()
	if hook != nil {
		hook(offset)
	}
	s.mu.Lock()
	keys := slices.Sorted(maps.Keys(s.locations))
	page := []map[string]any{}
	for i := offset; i < len(keys) && i-offset < limit; i++ {
		status := "ENABLED"
		if !s.locations[keys[i]] {
			status = "DISABLED"
		}
		page = append(page, map[string]any{
			"merchantLocationKey": keys[i], "merchantLocationStatus": status, "name": "Location " + keys[i],
			"locationTypes": []string{"WAREHOUSE"},
			"location":      map[string]any{"locationId": strconv.Itoa(1000 + i), "address": map[string]any{"country": "US", "postalCode": "95125"}},
		})
	}
	s.mu.Unlock()
	at := func(off int) string {
		return s.srv.URL + locationsPath + "?limit=" + strconv.Itoa(limit) + "&offset=" + strconv.Itoa(off)
	}
	resp := map[string]any{"href": at(offset), "limit": limit, "offset": offset, "total": len(keys), "locations": page}
	if offset < len(keys)-limit {
		resp["next"] = at(offset + limit)
	}
	if offset > 0 {
		resp["prev"] = at(max(offset-limit, 0))
	}
	writeJSON(w, http.StatusOK, resp)
}

// BeforeLocationsPage sets f to run, without the fake's lock, before each
// getInventoryLocations page (a valid limit and offset) is read, with the
// page's offset: the seller changing locations while a client pages
// through them. nil clears it.
func (s *Server) BeforeLocationsPage(f func(offset int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeLocations = f
}

// EnableLocation enables a disabled inventory location again.
func (s *Server) EnableLocation(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.locations[key]; ok {
		s.locations[key] = true
	}
}

// DisabledRefusals counts the bulk update entries refused because they
// changed a quantity at a disabled location.
func (s *Server) DisabledRefusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disabledRefusals
}

type distribution struct {
	key             string
	quantity        int64
	fulfillmentTime json.RawMessage
}

type bulkRequestDist struct {
	MerchantLocationKey *string         `json:"merchantLocationKey"`
	Quantity            *int64          `json:"quantity"`
	FulfillmentTime     json.RawMessage `json:"fulfillmentTime"`
}

// AddLocation creates an enabled inventory location of the seller.
func (s *Server) AddLocation(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locations[key] = true
}

// DisableLocation disables an inventory location: distributions there
// can no longer be changed.
func (s *Server) DisableLocation(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.locations[key]; ok {
		s.locations[key] = false
	}
}

// SetDistributions replaces sku's availabilityDistributions (key →
// quantity, in key order), as the seller could in Seller Hub; the
// ship-to quantity is left as it is. It reports whether the SKU is listed.
func (s *Server) SetDistributions(sku string, byKey map[string]int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return false
	}
	it.dists = nil
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		it.dists = append(it.dists, distribution{key: k, quantity: byKey[k]})
	}
	return true
}

// SellAt is Sell taking the n units off the distribution at key too (not
// below zero), as eBay might for a sale it fulfils from that location:
// no eBay page read says whether it does (Sell is the fake's default).
func (s *Server) SellAt(sku, key string, n int64) bool {
	if !s.Sell(sku, n) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.items[sku].dists {
		if d := &s.items[sku].dists[i]; d.key == key {
			d.quantity = max(d.quantity-n, 0)
		}
	}
	return true
}

// DistributionAt is sku's quantity at location key.
func (s *Server) DistributionAt(sku, key string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return 0, false
	}
	for _, d := range it.dists {
		if d.key == key {
			return d.quantity, true
		}
	}
	return 0, false
}

// shipTo is the item's shipToLocationAvailability as eBay returns it.
func (it *inventoryItem) shipTo() map[string]any {
	out := map[string]any{"quantity": it.quantity}
	if len(it.dists) == 0 {
		return out
	}
	ds := make([]map[string]any, 0, len(it.dists))
	for _, d := range it.dists {
		m := map[string]any{"merchantLocationKey": d.key, "quantity": d.quantity}
		if len(d.fulfillmentTime) > 0 {
			m["fulfillmentTime"] = d.fulfillmentTime
		}
		ds = append(ds, m)
	}
	out["availabilityDistributions"] = ds
	return out
}

// distributionsError is why a request's distributions are refused as a
// whole, or nil. s.mu is held.
func (s *Server) distributionsError(rq bulkRequestItem) *Error {
	st := rq.ShipToLocationAvailability
	if st == nil || st.AvailabilityDistributions == nil {
		return nil
	}
	fail := func(format string, a ...any) *Error {
		e := invalidValue(fmt.Sprintf(format, a...))
		return &e
	}
	if st.Quantity == nil {
		return fail("quantity. The ship-to quantity is required with availabilityDistributions.")
	}
	var held map[string]int64
	if it, ok := s.items[rq.SKU]; ok {
		held = map[string]int64{}
		for _, d := range it.dists {
			held[d.key] = d.quantity
		}
	}
	seen := map[string]bool{}
	for _, d := range st.AvailabilityDistributions {
		switch {
		case d.MerchantLocationKey == nil || *d.MerchantLocationKey == "" || d.Quantity == nil:
			return fail("availabilityDistributions. merchantLocationKey and quantity are required.")
		case utf8.RuneCountInString(*d.MerchantLocationKey) > maxLocationKey:
			return fail("merchantLocationKey. At most %d characters.", maxLocationKey)
		case seen[*d.MerchantLocationKey]:
			return fail("merchantLocationKey. Location %s is given more than once.", *d.MerchantLocationKey)
		case *d.Quantity < 0:
			return fail("quantity. The quantity at location %s must be 0 or more.", *d.MerchantLocationKey)
		}
		seen[*d.MerchantLocationKey] = true
		enabled, known := s.locations[*d.MerchantLocationKey]
		switch {
		case !known:
			return fail("merchantLocationKey. Location %s is not an inventory location of the seller.", *d.MerchantLocationKey)
		case !enabled && held[*d.MerchantLocationKey] != *d.Quantity:
			s.disabledRefusals++
			return fail("merchantLocationKey. Location %s is disabled: its inventory can not be changed.", *d.MerchantLocationKey)
		}
	}
	return nil
}

// newDistributions is what the item keeps of a request's distributions.
func newDistributions(in []bulkRequestDist) []distribution {
	out := make([]distribution, 0, len(in))
	for _, d := range in {
		out = append(out, distribution{key: *d.MerchantLocationKey, quantity: *d.Quantity, fulfillmentTime: d.FulfillmentTime})
	}
	return out
}
