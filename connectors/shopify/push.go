package shopify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxBatch is Shopify's cap on array inputs: 250 quantities a mutation.
const maxBatch = 250

// MaxBatch implements connectors.QuantityPusher: 250, what one mutation
// takes. The channel's batch_size is the pusher's to apply, not this.
func (c *Connector) MaxBatch() int { return maxBatch }

// EchoesSales implements connectors.SaleEchoer: Shopify takes a sale's
// units off the location's available quantity, and every push compares
// against the previous quantity (changeFromQuantity).
func (c *Connector) EchoesSales() bool { return true }

type setEntry struct {
	idx        int // into updates
	sku        string
	item       string
	loc        string // the Shopify location GID
	quantity   int64
	changeFrom int64
	// attempt is the update's QuantityUpdate.Attempt: one intended write.
	attempt string
}

type userError struct {
	Code    string   `json:"code"`
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

// PushQuantities implements connectors.QuantityPusher with
// inventorySetQuantities (name "available") at the channel's push
// location, compare-and-set on changeFromQuantity: Previous when the
// engine knows it, else the quantity read just before, so nothing is
// ever overwritten blind. Shopify applies a mutation all or nothing, so
// items with user errors are taken out and the rest is sent again; one
// bad item never fails the others. Updates beyond MaxBatch go in further
// mutations; a SKU given twice (at one location) takes its last update,
// and both get its result. An update with a Location (per-location
// channels) is set at the Shopify location that location maps to, one
// with a ChannelLocation at that Shopify location, any other at the push
// location; one mutation carries the quantities of many (item, location)
// pairs.
func (c *Connector) PushQuantities(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	if c.pushLocation == "" {
		return nil, errors.New("pushing quantities: no Shopify location configured for the channel")
	}
	locs := c.updateLocations(updates)
	results := make([]connectors.PushResult, len(updates))
	skus := make([]string, 0, len(updates))
	for i, u := range updates {
		results[i].SKU = u.SKU
		skus = append(skus, u.SKU)
	}
	items, err := c.resolve(ctx, skus)
	if err != nil {
		return nil, fmt.Errorf("pushing quantities: %w", err)
	}
	last := pushable(updates, locs, items, results)
	entries, err := c.setEntries(ctx, updates, locs, items, last, results)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(entries); start += maxBatch {
		if err := c.pushBatch(ctx, entries[start:min(start+maxBatch, len(entries))], updates, results); err != nil {
			return nil, fmt.Errorf("pushing quantities: %w", err)
		}
	}
	c.fillStale(ctx, items, locs, results)
	for i, u := range updates {
		// A SKU given twice gets the result of its last update.
		if j, ok := last[pairKey(u.SKU, locs[i])]; ok && j != i {
			results[i] = results[j]
		}
	}
	return results, nil
}

// PushesPerLocation implements connectors.LocationPusher.
func (c *Connector) PushesPerLocation() bool { return true }

// updateLocations is the Shopify location GID each update is set at: its
// Location's mapped one, its ChannelLocation, or the push location; ""
// when its Location maps to none.
func (c *Connector) updateLocations(updates []connectors.QuantityUpdate) []string {
	locs := make([]string, len(updates))
	for i, u := range updates {
		switch {
		case u.ChannelLocation != "":
			if n := numericID(u.ChannelLocation); n != "" {
				locs[i] = gid("Location", n)
			}
		case u.Location != "":
			locs[i] = c.locationGIDs[u.Location]
		default:
			locs[i] = c.pushLocation
		}
	}
	return locs
}

// pairKey names one (SKU, Shopify location) pair.
func pairKey(sku, loc string) string { return loc + "|" + sku }

// pushable fails the updates that can not be sent (no SKU, a negative
// quantity, a SKU no variant has, a location mapped to none) in results,
// and returns, for every other SKU and location, the index of its last
// update: the one that is sent.
func pushable(updates []connectors.QuantityUpdate, locs []string, items map[string]string, results []connectors.PushResult) map[string]int {
	last := map[string]int{}
	for i, u := range updates {
		switch {
		case u.SKU == "":
			results[i] = connectors.PushResult{Status: connectors.PushFailed, Reason: "empty SKU"}
		case u.Quantity < 0:
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: "negative quantity"}
		case locs[i] == "":
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: fmt.Sprintf("no Shopify location is mapped to location %q", u.Location+u.ChannelLocation)}
		case items[u.SKU] == "":
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushUnknownSKU, Reason: "no Shopify variant has this SKU"}
		default:
			last[pairKey(u.SKU, locs[i])] = i
		}
	}
	return last
}

// setEntries builds, in the updates' order, the entries to send for the
// updates last names, each compared against its Previous or, when the
// engine does not know it, the level read now (never overwritten blind).
// An item not stocked at the push location fails in results instead.
func (c *Connector) setEntries(ctx context.Context, updates []connectors.QuantityUpdate, locs []string, items map[string]string, last map[string]int, results []connectors.PushResult) ([]setEntry, error) {
	order := make([]int, 0, len(last))
	unknownPrev := map[string][]string{} // location → items
	for _, i := range last {
		order = append(order, i)
		if updates[i].Previous == nil {
			unknownPrev[locs[i]] = append(unknownPrev[locs[i]], items[updates[i].SKU])
		}
	}
	slices.Sort(order)
	current, err := c.readLevelsAt(ctx, unknownPrev)
	if err != nil {
		return nil, fmt.Errorf("pushing quantities: reading current levels: %w", err)
	}
	entries := make([]setEntry, 0, len(order))
	for _, i := range order {
		u := updates[i]
		e := setEntry{idx: i, sku: u.SKU, item: items[u.SKU], loc: locs[i], quantity: u.Quantity, attempt: u.Attempt}
		if u.Previous != nil {
			e.changeFrom = *u.Previous
		} else if q, ok := current[e.loc][e.item]; ok {
			e.changeFrom = q
		} else {
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: "the item is not stocked at the channel's Shopify location"}
			continue
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// pushBatch sets up to maxBatch entries, taking out items Shopify refuses
// and sending the rest again until it accepts them or none is left.
func (c *Connector) pushBatch(ctx context.Context, entries []setEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult) error {
	renewed := false
	for len(entries) > 0 {
		key := c.batchKey(entries)
		if renewed {
			key = randomKey()
		}
		applied, errs, err := c.setQuantities(ctx, entries, key)
		if err != nil {
			return err
		}
		if !applied && !renewed && len(errs) == 1 && errs[0].Code == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED" {
			// This attempt was sent before and failed (a stale compare):
			// Shopify applied nothing under its key and wants a new one
			// to try again. A fresh random key, once.
			renewed = true
			continue
		}
		renewed = false
		byItem := map[int]userError{}
		var general []userError
		for _, ue := range errs {
			if k, ok := quantityIndex(ue.Field); ok && k < len(entries) {
				byItem[k] = ue
			} else {
				general = append(general, ue)
			}
		}
		if len(byItem) == 0 {
			status, reason := connectors.PushAccepted, ""
			if !applied && len(general) > 0 {
				status, reason = batchStatus(general[0]), general[0].Code+": "+general[0].Message
			}
			for _, e := range entries {
				results[e.idx] = connectors.PushResult{SKU: updates[e.idx].SKU, Status: status, Reason: reason}
			}
			return nil
		}
		rest := entries[:0:0]
		for k, e := range entries {
			ue, bad := byItem[k]
			switch {
			case bad:
				results[e.idx] = c.itemResult(ctx, updates[e.idx].SKU, ue)
			case applied:
				results[e.idx] = connectors.PushResult{SKU: updates[e.idx].SKU, Status: connectors.PushAccepted}
			default:
				rest = append(rest, e)
			}
		}
		entries = rest
	}
	return nil
}

// setQuantities sends one mutation under the @idempotent key. applied
// says Shopify made the change (it returned an adjustment group) or
// replays the answer of the key's first request, which made it.
func (c *Connector) setQuantities(ctx context.Context, entries []setEntry, key string) (applied bool, errs []userError, err error) {
	quantities := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		quantities = append(quantities, map[string]any{
			"inventoryItemId":    e.item,
			"locationId":         e.loc,
			"quantity":           e.quantity,
			"changeFromQuantity": e.changeFrom,
		})
	}
	vars := map[string]any{
		"key": key,
		"input": map[string]any{
			"name":                 "available",
			"reason":               "correction",
			"referenceDocumentUri": "gid://shelfsync/Sync/" + key,
			"quantities":           quantities,
		},
	}
	var data struct {
		InventorySetQuantities *struct {
			InventoryAdjustmentGroup *struct {
				ID string `json:"id"`
			} `json:"inventoryAdjustmentGroup"`
			UserErrors []userError `json:"userErrors"`
		} `json:"inventorySetQuantities"`
	}
	if err := c.graphql(ctx, opSetQuantities, vars, &data); err != nil {
		return false, nil, err
	}
	p := data.InventorySetQuantities
	if p == nil {
		return false, nil, errors.New("shopify inventorySetQuantities: empty payload")
	}
	return p.InventoryAdjustmentGroup != nil, p.UserErrors, nil
}

// batchKey is the @idempotent key of one mutation: it stands for one
// attempt of one intended write, never for "these values". Shopify
// answers a key it has seen with the first request's result and applies
// nothing (https://shopify.dev/docs/api/usage/implementing-idempotency),
// so a key made of the values alone would turn a value wanted again (A,
// B, A) into a replay that reads as accepted and changes nothing. The key hashes every
// entry's Attempt (the outbox's id of one intended write, the same on its
// retries) with its SKU, item, quantity and compare-from, and the
// location: the engine retrying a batch sends the same key, a new write
// a new one, and no time window is involved. If any entry has no
// Attempt, the mutation is its own write: a fresh random key. Retries of
// the very same request (the HTTP client's, THROTTLED ones) resend the
// same body, so they carry the same key either way.
func (c *Connector) batchKey(entries []setEntry) string {
	h := sha256.New()
	fmt.Fprintf(h, "shelfsync-shopify-set/1|%q|%q", c.deps.Channel.Name, c.pushLocation)
	for _, e := range entries {
		if e.attempt == "" {
			return randomKey()
		}
		fmt.Fprintf(h, "|%q|%q|%d|%d|%q", e.sku, e.item, e.quantity, e.changeFrom, e.attempt)
		if e.loc != c.pushLocation {
			fmt.Fprintf(h, "@%q", e.loc)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// randomKey is an idempotency key of its own: 128 random bits.
func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+) and panics if it could
	return hex.EncodeToString(b[:])
}

// quantityIndex reads the item index of a user error's field path,
// ["input", "quantities", "3", "changeFromQuantity"].
func quantityIndex(field []string) (int, bool) {
	for i := 0; i+1 < len(field); i++ {
		if field[i] == "quantities" {
			k, err := strconv.Atoi(field[i+1])
			if err != nil || k < 0 {
				return 0, false
			}
			return k, true
		}
	}
	return 0, false
}

// itemResult maps one item's user error.
func (c *Connector) itemResult(ctx context.Context, sku string, ue userError) connectors.PushResult {
	r := connectors.PushResult{SKU: sku, Reason: ue.Message}
	switch ue.Code {
	case "CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE":
		r.Status = connectors.PushStale
	case "INVALID_INVENTORY_ITEM":
		// The variant is gone: forget the mapping so the next push looks again.
		c.cacheSet(ctx, skuKey(sku), "", unknownTTL)
		r.Status = connectors.PushUnknownSKU
	case "IDEMPOTENCY_CONCURRENT_REQUEST":
		r.Status = connectors.PushRetry
	default:
		r.Status = connectors.PushFailed
	}
	if ue.Code != "" {
		r.Reason = ue.Code + ": " + ue.Message
	}
	return r
}

// batchStatus maps a user error that names no item.
func batchStatus(ue userError) connectors.PushStatus {
	switch ue.Code {
	case "IDEMPOTENCY_CONCURRENT_REQUEST", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED":
		return connectors.PushRetry
	}
	return connectors.PushFailed
}

// fillStale reads what Shopify holds now for the stale items, so the
// engine sees by how much the channel moved. Best effort: without it the
// engine catches up on orders all the same.
func (c *Connector) fillStale(ctx context.Context, items map[string]string, locs []string, results []connectors.PushResult) {
	stale := map[string][]string{} // location → items
	n := 0
	for i, r := range results {
		if r.Status == connectors.PushStale {
			stale[locs[i]] = append(stale[locs[i]], items[r.SKU])
			n++
		}
	}
	if n == 0 {
		return
	}
	levels, err := c.readLevelsAt(ctx, stale)
	if err != nil {
		c.log.Debug().Err(err).Int("items", n).Msg("reading levels of stale pushes failed")
		return
	}
	for i, r := range results {
		if r.Status != connectors.PushStale {
			continue
		}
		if q, ok := levels[locs[i]][items[r.SKU]]; ok {
			results[i].ChannelQuantity = &q
		}
	}
}

// readLevelsAt reads, per Shopify location, the levels of the items
// there (location → item → available), one query per location and
// hundred items.
func (c *Connector) readLevelsAt(ctx context.Context, byLoc map[string][]string) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64, len(byLoc))
	for _, loc := range slices.Sorted(maps.Keys(byLoc)) {
		levels, err := c.readLevels(ctx, byLoc[loc], loc)
		if err != nil {
			return nil, err
		}
		out[loc] = levels
	}
	return out, nil
}
