package shopifytest

import (
	"encoding/json"
	"slices"
)

// knownLocation says loc (a GID) is one of the store's locations. s.mu is
// held or not needed (the options do not change).
func (s *Server) knownLocation(loc string) bool {
	return loc == s.opts.LocationID || slices.Contains(s.opts.Locations, loc)
}

// serveAllLevels is nodes(ids) with each item's inventoryLevels: every
// location that stocks it, in the store's location order.
func (s *Server) serveAllLevels(req *gqlRequest) (any, []gqlError) {
	var ids []string
	if err := json.Unmarshal(req.Variables["ids"], &ids); err != nil {
		return nil, []gqlError{{Message: "Variable $ids of type [ID!]! was provided invalid value"}}
	}
	if len(ids) > 250 {
		return nil, []gqlError{{Message: "The input array size of 251 is greater than the maximum allowed of 250."}}
	}
	first := s.firstArg(req.Query, "inventoryLevels", 50)
	nodes := make([]any, 0, len(ids))
	for _, id := range ids {
		it := s.itemByGID(id)
		if it == nil {
			nodes = append(nodes, nil)
			continue
		}
		levels := []any{}
		for _, loc := range append([]string{s.opts.LocationID}, s.opts.Locations...) {
			q, ok := it.levels[loc]
			if !ok || len(levels) == first {
				continue
			}
			levels = append(levels, map[string]any{
				"location":   map[string]any{"id": loc},
				"quantities": []any{map[string]any{"name": "available", "quantity": q}},
			})
		}
		nodes = append(nodes, map[string]any{"id": itemGID(it.id), "inventoryLevels": map[string]any{"nodes": levels}})
	}
	return map[string]any{"nodes": nodes}, nil
}

// SetLevelAt stocks sku at location loc (a GID of the store's) with qty
// available, adding the variant if needed (a merchant's manual edit).
func (s *Server) SetLevelAt(sku, loc string, qty int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownLocation(loc) {
		panic("shopifytest: SetLevelAt of a location the store does not have: " + loc)
	}
	s.variantLocked(sku).levels[loc] = qty
}

// LevelAt is sku's available quantity at location loc, and whether it is
// stocked there at all.
func (s *Server) LevelAt(sku, loc string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return 0, false
	}
	q, ok := it.levels[loc]
	return q, ok
}

// SellAt takes n units of sku off location loc, as a sale Shopify
// fulfils from there.
func (s *Server) SellAt(sku, loc string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.variantLocked(sku).levels[loc] -= n
}

// Sellable is what Shopify sells of sku: its available levels summed over
// every location that stocks it (a negative level counts as zero).
func (s *Server) Sellable(sku string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return 0
	}
	var sum int64
	for _, q := range it.levels {
		sum += max(q, 0)
	}
	return sum
}
