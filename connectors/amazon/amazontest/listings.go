package amazontest

import (
	"encoding/json"
	"net/http"
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
