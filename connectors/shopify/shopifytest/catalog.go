package shopifytest

import (
	"strconv"
)

// AddVariant adds a product variant with sku (and its inventory item),
// not stocked anywhere, and returns the inventory item's GID. Adding a
// SKU that exists returns the existing item.
func (s *Server) AddVariant(sku string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return itemGID(s.variantLocked(sku).id)
}

func (s *Server) variantLocked(sku string) *item {
	if it, ok := s.items[sku]; ok {
		return it
	}
	s.nextID++
	it := &item{id: s.nextID, sku: sku, levels: map[string]int64{}}
	s.items[sku] = it
	s.itemsByID[strconv.FormatInt(it.id, 10)] = it
	return it
}

// AddSharedSKUVariant adds another product variant with the SKU of an
// existing one (Shopify does not require SKUs to be unique), with its own
// inventory item stocked at the store's location with qty available, and
// returns that item's GID. The fake lists it (ShelfsyncListVariants) and
// reads its levels by item id; every call that finds a variant by SKU
// still finds the first one.
func (s *Server) AddSharedSKUVariant(sku string, qty int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[sku]; !ok {
		panic("shopifytest: AddSharedSKUVariant of a SKU without a variant: " + sku)
	}
	s.nextID++
	it := &item{id: s.nextID, sku: sku, levels: map[string]int64{s.opts.LocationID: qty}}
	s.shared = append(s.shared, it)
	s.itemsByID[strconv.FormatInt(it.id, 10)] = it
	return itemGID(it.id)
}

// ItemID returns the inventory item GID of sku, "" if the store has no such variant.
func (s *Server) ItemID(sku string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[sku]; ok {
		return itemGID(it.id)
	}
	return ""
}

// SetLevel stocks sku at the store's location with qty available,
// adding the variant if needed (a merchant's manual edit).
func (s *Server) SetLevel(sku string, qty int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.variantLocked(sku).levels[s.opts.LocationID] = qty
}

// Level is sku's available quantity at the store's location (0 if not stocked).
func (s *Server) Level(sku string) int64 {
	q, _ := s.LevelOK(sku)
	return q
}

// LevelOK is Level, and whether sku is stocked at the location at all.
func (s *Server) LevelOK(sku string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[sku]
	if !ok {
		return 0, false
	}
	q, ok := it.levels[s.opts.LocationID]
	return q, ok
}

// Sell takes n units of sku off the location, as a sale on Shopify would:
// the next push that compares against the old quantity is stale.
func (s *Server) Sell(sku string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.variantLocked(sku)
	it.levels[s.opts.LocationID] -= n
}

// MakeNextPushStale sells one unit of sku just before the next
// inventorySetQuantities call that sets it: a sale racing the push.
func (s *Server) MakeNextPushStale(sku string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staleNext[sku] = true
}

// FailItem makes every push of sku fail with the user error code and
// message (INVALID_QUANTITY_TOO_HIGH, NON_MUTABLE_INVENTORY_ITEM, …)
// until ClearFailures.
func (s *Server) FailItem(sku, code, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[sku] = userError{Code: code, Message: message}
}

// ClearFailures removes every injected item error.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string]userError{}
}

func itemGID(id int64) string { return "gid://shopify/InventoryItem/" + strconv.FormatInt(id, 10) }
