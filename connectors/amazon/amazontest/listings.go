package amazontest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SetListing creates or sets a merchant-fulfilled listing's quantity.
func (s *Server) SetListing(sku string, quantity int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listings[sku] = quantity
}

// Sell takes n units off sku's listing as an Amazon sale does, in one
// step, not below zero. It reports whether the listing exists.
func (s *Server) Sell(sku string, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.listings[sku]
	if ok {
		s.listings[sku] = max(q-n, 0)
	}
	return ok
}

// Quantity is the DEFAULT quantity the fake lists for sku, and whether the listing exists.
func (s *Server) Quantity(sku string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.listings[sku]
	return q, ok
}

// FailSKU makes every change of sku refused with reason: INVALID from
// patchListingsItem, an ERROR issue in a feed's report. An empty reason
// lifts it.
func (s *Server) FailSKU(sku, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason == "" {
		delete(s.failSKUs, sku)
		return
	}
	s.failSKUs[sku] = reason
}

type patchBody struct {
	ProductType string `json:"productType"`
	Patches     []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	} `json:"patches"`
}

type availabilityValue struct {
	FulfillmentChannelCode string `json:"fulfillment_channel_code"`
	Quantity               *int64 `json:"quantity"`
}

// defaultQuantity reads the DEFAULT quantity a patch list sets; "" when
// the patches are well formed, else what is wrong.
func (p *patchBody) defaultQuantity() (int64, bool, string) {
	if p.ProductType == "" {
		return 0, false, "productType is required."
	}
	if len(p.Patches) == 0 {
		return 0, false, "patches is required."
	}
	var q int64
	found := false
	for _, pt := range p.Patches {
		switch pt.Op {
		case "add", "replace", "merge", "delete":
		default:
			return 0, false, "unknown patch op " + pt.Op
		}
		if pt.Path != "/attributes/fulfillment_availability" || pt.Op == "delete" {
			continue
		}
		var vals []availabilityValue
		if err := json.Unmarshal(pt.Value, &vals); err != nil {
			return 0, false, "fulfillment_availability value must be a list."
		}
		for _, v := range vals {
			if v.FulfillmentChannelCode == "DEFAULT" && v.Quantity != nil {
				if *v.Quantity < 0 {
					return 0, false, "quantity must not be negative."
				}
				q, found = *v.Quantity, true
			}
		}
	}
	return q, found, ""
}

func (s *Server) checkListingRequest(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("seller") != s.opts.SellerID {
		writeErrors(w, http.StatusForbidden, "Unauthorized", "Access to requested resource is denied.")
		return false
	}
	if r.URL.Query().Get("marketplaceIds") == "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "marketplaceIds is required.")
		return false
	}
	return true
}

func (s *Server) handlePatchListing(w http.ResponseWriter, r *http.Request) {
	if !s.checkListingRequest(w, r) {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeErrors(w, http.StatusUnsupportedMediaType, "InvalidInput", "Content-Type must be application/json.")
		return
	}
	var body patchBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Request body is not valid JSON.")
		return
	}
	q, found, bad := body.defaultQuantity()
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	sku := r.PathValue("sku")
	s.mu.Lock()
	_, exists := s.listings[sku]
	reason, refused := s.failSKUs[sku]
	if exists && !refused && found {
		s.listings[sku] = q
	}
	s.mu.Unlock()
	resp := map[string]any{"sku": sku, "submissionId": s.newID()}
	switch {
	case !exists:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "SKU "+sku+" not found for this seller.")
		return
	case refused:
		resp["status"] = "INVALID"
		resp["issues"] = []map[string]any{{"code": "90000900", "message": reason, "severity": "ERROR", "attributeNames": []string{"fulfillment_availability"}}}
	default:
		resp["status"] = "ACCEPTED"
		resp["issues"] = []any{}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleGetListing(w http.ResponseWriter, r *http.Request) {
	if !s.checkListingRequest(w, r) {
		return
	}
	sku := r.PathValue("sku")
	s.mu.Lock()
	q, ok := s.listings[sku]
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "SKU "+sku+" not found for this seller.")
		return
	}
	resp := map[string]any{"sku": sku}
	if strings.Contains(r.URL.Query().Get("includedData"), "fulfillmentAvailability") {
		resp["fulfillmentAvailability"] = []map[string]any{{"fulfillmentChannelCode": "DEFAULT", "quantity": q}}
	}
	writeJSON(w, http.StatusOK, resp)
}

// searchListingsItems' bounds (Listings Items API 2021-08-01 model).
const (
	maxSearchIdentifiers  = 20
	maxSearchPageSize     = 20
	defaultSearchPageSize = 10
)

// searchState is what a searchListingsItems pageToken stands for: the rest
// of a result.
type searchState struct {
	skus         []string
	offset, size int
	included     []string
	marketplaces []string
}

// handleSearchListings is searchListingsItems: the seller's listings among
// identifiers (SKUs only: the fake knows no other identifier), in the
// order asked, or all of them by SKU without identifiers; paged by
// pageSize (default 10, at most 20, capped by Options.SearchPageSize) with
// nextToken and pageToken. Like Amazon it splits identifiers on every
// comma, encoded or not, so a SKU with a comma is never found this way.
func (s *Server) handleSearchListings(w http.ResponseWriter, r *http.Request) {
	if !s.checkListingRequest(w, r) {
		return
	}
	q := r.URL.Query()
	if tok := q.Get("pageToken"); tok != "" {
		s.continueSearch(w, tok)
		return
	}
	st, bad := s.newSearch(q)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	s.writeSearchPage(w, st)
}

// continueSearch answers the next page of a search; a pageToken is good
// for one page only.
func (s *Server) continueSearch(w http.ResponseWriter, tok string) {
	s.mu.Lock()
	st, ok := s.searches[tok]
	delete(s.searches, tok)
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Invalid pageToken.")
		return
	}
	s.writeSearchPage(w, st)
}

// newSearch reads a first page's parameters and finds the listings they
// ask for; "" when the parameters are good, else the InvalidInput message.
func (s *Server) newSearch(q url.Values) (searchState, string) {
	size, bad := s.searchPageSize(q.Get("pageSize"))
	if bad != "" {
		return searchState{}, bad
	}
	st := searchState{size: size, included: splitCSV(q["includedData"]), marketplaces: splitCSV(q["marketplaceIds"])}
	if len(st.included) == 0 {
		st.included = []string{"summaries"}
	}
	ids, byID, bad := searchIdentifiers(q)
	if bad != "" {
		return searchState{}, bad
	}
	s.mu.Lock()
	st.skus = s.searchSKUs(ids, byID)
	s.mu.Unlock()
	return st, ""
}

// searchPageSize is the page size asked for (Amazon's default 10, at
// most 20), capped by Options.SearchPageSize to exercise paging.
func (s *Server) searchPageSize(v string) (int, string) {
	size := defaultSearchPageSize
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchPageSize {
			return 0, "pageSize must be an integer from 1 to 20."
		}
		size = n
	}
	if s.opts.SearchPageSize > 0 {
		size = min(size, s.opts.SearchPageSize)
	}
	return size, ""
}

// searchIdentifiers reads identifiers and identifiersType, which come
// together or not at all, and whether the search is by identifier.
func searchIdentifiers(q url.Values) ([]string, bool, string) {
	idType := q.Get("identifiersType")
	raw, byID := q["identifiers"]
	switch {
	case byID && idType == "":
		return nil, false, "identifiersType is required when identifiers is provided."
	case !byID && idType != "":
		return nil, false, "identifiers is required when identifiersType is provided."
	case byID && idType != "SKU":
		return nil, false, "amazontest searches by identifiersType SKU only."
	}
	ids := splitCSV(raw)
	if len(ids) > maxSearchIdentifiers {
		return nil, false, "identifiers takes at most 20 values, got " + strconv.Itoa(len(ids)) + "."
	}
	if byID && slices.Contains(ids, "") {
		return nil, false, "identifiers must not hold an empty value."
	}
	return ids, byID, ""
}

// searchSKUs is the listings a search finds: those among ids that exist,
// once each in the order asked, or every listing by SKU when the search
// is not by identifier. s.mu is held.
func (s *Server) searchSKUs(ids []string, byID bool) []string {
	var skus []string
	if byID {
		for _, id := range ids {
			if _, ok := s.listings[id]; ok && !slices.Contains(skus, id) {
				skus = append(skus, id)
			}
		}
		return skus
	}
	for sku := range s.listings {
		skus = append(skus, sku)
	}
	slices.Sort(skus)
	return skus
}

// splitCSV splits comma-delimited query values, as Amazon reads them.
func splitCSV(vals []string) []string {
	if len(vals) == 0 {
		return nil
	}
	return strings.Split(strings.Join(vals, ","), ",")
}

func (s *Server) writeSearchPage(w http.ResponseWriter, st searchState) {
	end := min(st.offset+st.size, len(st.skus))
	items := make([]map[string]any, 0, end-st.offset)
	s.mu.Lock()
	for _, sku := range st.skus[st.offset:end] {
		item := map[string]any{"sku": sku}
		if slices.Contains(st.included, "summaries") {
			var sums []map[string]any
			for _, m := range st.marketplaces {
				sums = append(sums, map[string]any{"marketplaceId": m, "status": []string{"BUYABLE"}})
			}
			item["summaries"] = sums
		}
		if slices.Contains(st.included, "fulfillmentAvailability") {
			item["fulfillmentAvailability"] = []map[string]any{{"fulfillmentChannelCode": "DEFAULT", "quantity": s.listings[sku]}}
		}
		items = append(items, item)
	}
	payload := map[string]any{"numberOfResults": len(st.skus), "items": items}
	if end < len(st.skus) {
		tok := s.newID()
		next := st
		next.offset = end
		s.searches[tok] = next
		payload["pagination"] = map[string]string{"nextToken": tok}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, payload)
}
