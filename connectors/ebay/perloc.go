package ebay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// Per-location stock (stock_mode per_location, connectors.LocationPusher).
//
// An inventory item's shipToLocationAvailability has the ship-to quantity
// (what the listing sells, with each offer's availableQuantity: eBay
// lists the smaller) and availabilityDistributions: the quantity at each
// of the seller's inventory locations (merchantLocationKey). On a
// per-location channel each shelfsync location mapped to a key
// (ebay.location_keys) gets its own figure in the distributions, and the
// ship-to quantity (and every offer's availableQuantity) is set to the
// sum of the distributions sent, so the listing sells exactly what the
// locations hold on eBay.
//
// A bulk update names one item's whole availability, and eBay's pages do
// not say that a distribution left out is kept, so the connector reads
// the items first (bulkGetInventoryItem, 25 a call, each chunk just
// before its write: pushLocationChunk) and sends every
// distribution it read back with the updated ones in place (a
// fulfillmentTime it read goes back as read): a push of one location
// never drops another's. A distribution at a key no shelfsync location of
// the channel maps to is kept as it is, and counts in the sum (it is
// stock eBay is told the seller holds): reconcile reports it, and with
// zero_unmapped_locations queues an update naming it (ChannelLocation)
// that sets it to 0, unless ReadLocations (locations.go) read the key
// DISABLED: eBay refuses changes there.

// UndistributedKey is the channel location a per-location read names
// for the part of an item's ship-to quantity beyond the sum of its
// distributions (a quantity set in Seller Hub or by another tool, or an
// item never pushed per location): the listing sells it, no location
// holds it. An update naming it sets nothing but the sum, which drops it.
const UndistributedKey = "(undistributed)"

// distribution is one entry of availabilityDistributions.
type distribution struct {
	MerchantLocationKey string `json:"merchantLocationKey"`
	Quantity            int64  `json:"quantity"`
	// FulfillmentTime is sent back as it was read (shelfsync never sets it).
	FulfillmentTime json.RawMessage `json:"fulfillmentTime,omitempty"`
}

// setLocations sets the channel's stock mode and maps each of its
// locations with a key in ebay.location_keys to it, and each such key
// back.
func (c *Connector) setLocations(ch config.Channel, eb *Settings) {
	c.perLocation = ch.PerLocation()
	c.locationKeys, c.keyLocations = map[string]string{}, map[string]string{}
	for _, l := range ch.Locations {
		if k := eb.LocationKeys[l]; k != "" {
			c.locationKeys[l], c.keyLocations[k] = k, l
		}
	}
}

// PushesPerLocation implements connectors.LocationPusher.
func (c *Connector) PushesPerLocation() bool { return true }

// badDistributions says why an item's distributions can not be trusted
// (a key missing or given twice, a negative quantity), or "".
func badDistributions(ds []distribution) string {
	seen := make(map[string]bool, len(ds))
	for _, d := range ds {
		switch {
		case d.MerchantLocationKey == "":
			return "a distribution without merchantLocationKey"
		case seen[d.MerchantLocationKey]:
			return fmt.Sprintf("location %q distributed twice", d.MerchantLocationKey)
		case d.Quantity < 0:
			return fmt.Sprintf("negative quantity %d at location %q", d.Quantity, d.MerchantLocationKey)
		}
		seen[d.MerchantLocationKey] = true
	}
	return ""
}

// liveLocations is a per-location read of one item with ship-to quantity
// total: each of the channel's locations' distribution under its
// shelfsync location (0 when eBay has none for it), every other
// distribution under its key (ChannelLocation), and the ship-to quantity
// beyond the distributions' sum under UndistributedKey.
func (c *Connector) liveLocations(sku string, total int64, ds []distribution) []connectors.LiveQuantity {
	out := make([]connectors.LiveQuantity, 0, len(c.locationKeys)+len(ds))
	byKey := make(map[string]int64, len(ds))
	var sum int64
	for _, d := range ds {
		byKey[d.MerchantLocationKey] = d.Quantity
		sum += d.Quantity
		if _, mapped := c.keyLocations[d.MerchantLocationKey]; !mapped {
			out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: d.Quantity, ChannelLocation: d.MerchantLocationKey})
		}
	}
	for _, loc := range c.deps.Channel.Locations {
		if k, ok := c.locationKeys[loc]; ok {
			out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: byKey[k], Location: loc})
		}
	}
	if total > sum {
		out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: total - sum, ChannelLocation: UndistributedKey})
	}
	return out
}

// locUpdate is one SKU's updates of a per-location push.
type locUpdate struct {
	sku  string
	idxs []int            // the updates of the SKU, in the caller's order
	keys []string         // the key each of idxs sets
	set  map[string]int64 // merchantLocationKey → quantity; the last update wins
	// order is the keys of set in the order first named.
	order []string
	// read is the item's distributions as read before the push.
	read []distribution
}

// pushLocations is PushQuantities on a per-location channel: every update
// names a location (Location or ChannelLocation); the updates of one SKU
// become one bulk update entry with all its distributions (read just
// before the write, 25 SKUs at a time: pushLocationChunk) and their sum,
// and all of them get its result, except that when eBay
// refuses an entry that changes both mapped and unmapped keys, the SKU is
// sent again without the unmapped changes (resendMapped): the updates of
// mapped keys get that second result, the others the first.
func (c *Connector) pushLocations(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	results := make([]connectors.PushResult, len(updates))
	groups := c.groupByItem(updates, results)
	if len(groups) == 0 {
		return results, nil
	}
	itemRes := make([]connectors.PushResult, len(groups))
	items, err := c.prepareLocations(ctx, groups, itemRes)
	if err != nil {
		return nil, err
	}
	mappedRes := map[int]connectors.PushResult{}
	for start := 0; start < len(items); start += maxBulkItems {
		if err := c.pushLocationChunk(ctx, groups, items[start:min(start+maxBulkItems, len(items))], itemRes, mappedRes); err != nil {
			return nil, err
		}
	}
	for gi, g := range groups {
		for j, i := range g.idxs {
			results[i] = itemRes[gi]
			if r, ok := mappedRes[gi]; ok && c.mappedKey(g.keys[j]) {
				results[i] = r
			}
			results[i].SKU = updates[i].SKU
		}
	}
	return results, nil
}

// mappedKey says whether a shelfsync location of the channel maps to key.
func (c *Connector) mappedKey(key string) bool {
	_, ok := c.keyLocations[key]
	return ok
}

// pushLocationChunk reads the items of at most 25 prepared SKUs (one
// bulkGetInventoryItem call) and writes them right after (one bulk
// update, and one more if resendMapped sends some again): the window in
// which a change on eBay is written over is one round trip, not the whole
// push. itemRes gets each SKU's result, mappedRes the second ones.
func (c *Connector) pushLocationChunk(ctx context.Context, groups []*locUpdate, chunk []bulkItem, itemRes []connectors.PushResult, mappedRes map[int]connectors.PushResult) error {
	skus := make([]string, 0, len(chunk))
	for _, it := range chunk {
		skus = append(skus, it.sku)
	}
	_, cur, err := c.readItems(ctx, skus)
	if err != nil {
		return fmt.Errorf("pushing quantities: reading the items' locations: %w", err)
	}
	items := make([]bulkItem, 0, len(chunk))
	for _, it := range chunk {
		if _, ok := cur.found[it.sku]; !ok {
			itemRes[it.idx] = unreadItem(it.sku, cur.unknown)
			continue
		}
		g := groups[it.idx]
		g.read = cur.dists[it.sku]
		it.dists, it.qty = mergeDistributions(g.read, g)
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil
	}
	if err := c.bulkUpdate(ctx, items, itemRes); err != nil {
		return err
	}
	return c.resendMapped(ctx, groups, items, itemRes, mappedRes)
}

// resendMapped sends again, without their changes at unmapped keys, the
// items eBay refused (failed) whose updates change both mapped and
// unmapped keys: a refused change at an unmapped key (reconcile zeroing a
// disabled location, say) must not sink the SKU's mapped locations. The
// unmapped keys go back as read. mappedRes gets the second results, by
// group; items are at most 25 (one call).
func (c *Connector) resendMapped(ctx context.Context, groups []*locUpdate, items []bulkItem, itemRes []connectors.PushResult, mappedRes map[int]connectors.PushResult) error {
	var again []bulkItem
	for _, it := range items {
		if itemRes[it.idx].Status != connectors.PushFailed {
			continue
		}
		if mapped := c.mappedOnly(groups[it.idx]); mapped != nil {
			it.dists, it.qty = mergeDistributions(groups[it.idx].read, mapped)
			again = append(again, it)
		}
	}
	if len(again) == 0 {
		return nil
	}
	res := make([]connectors.PushResult, len(groups))
	if err := c.bulkUpdate(ctx, again, res); err != nil {
		return err
	}
	for _, it := range again {
		mappedRes[it.idx] = res[it.idx]
	}
	return nil
}

// mappedOnly is g without its changes at unmapped keys, or nil when g
// changes no mapped key or no unmapped one (nothing to send apart).
func (c *Connector) mappedOnly(g *locUpdate) *locUpdate {
	m := &locUpdate{sku: g.sku, set: map[string]int64{}}
	for _, k := range g.order {
		if c.mappedKey(k) {
			m.set[k] = g.set[k]
			m.order = append(m.order, k)
		}
	}
	if len(m.order) == 0 || len(m.order) == len(g.order) {
		return nil
	}
	return m
}

// groupByItem checks each update (a SKU, a quantity of 0 or more, a
// location mapped to a key or a channel location) and groups the rest by
// SKU, in the order first named; results gets the refusals.
func (c *Connector) groupByItem(updates []connectors.QuantityUpdate, results []connectors.PushResult) []*locUpdate {
	var groups []*locUpdate
	bySKU := map[string]*locUpdate{}
	for i, u := range updates {
		key, reason := c.updateKey(u)
		if reason != "" {
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: reason}
			continue
		}
		g := bySKU[u.SKU]
		if g == nil {
			g = &locUpdate{sku: u.SKU, set: map[string]int64{}}
			bySKU[u.SKU] = g
			groups = append(groups, g)
		}
		g.idxs, g.keys = append(g.idxs, i), append(g.keys, key)
		if _, ok := g.set[key]; !ok {
			g.order = append(g.order, key)
		}
		g.set[key] = u.Quantity
	}
	return groups
}

// updateKey is the merchantLocationKey an update sets (UndistributedKey
// for the undistributed quantity), or why it can not be sent.
func (c *Connector) updateKey(u connectors.QuantityUpdate) (key, reason string) {
	switch {
	case u.SKU == "":
		return "", "empty SKU"
	case u.Quantity < 0:
		return "", fmt.Sprintf("negative quantity %d", u.Quantity)
	case u.ChannelLocation != "":
		return u.ChannelLocation, ""
	case u.Location == "":
		return "", "the channel is pushed per location and the update names none"
	}
	k, ok := c.locationKeys[u.Location]
	if !ok {
		return "", fmt.Sprintf("no eBay location (ebay.location_keys) is mapped to location %q", u.Location)
	}
	return k, ""
}

// prepareLocations checks each SKU's budget and offers (as a single
// figure's push does) and gives the bulk items of those that go on (idx:
// their group), in the groups' order, without distributions: those are
// read just before each write (pushLocationChunk). itemRes gets the
// results of those that do not go on.
func (c *Connector) prepareLocations(ctx context.Context, groups []*locUpdate, itemRes []connectors.PushResult) ([]bulkItem, error) {
	updates := make([]connectors.QuantityUpdate, len(groups))
	todo := make([]int, len(groups))
	for i, gr := range groups {
		updates[i], todo[i] = connectors.QuantityUpdate{SKU: gr.sku}, i
	}
	return c.prepareMany(ctx, updates, itemRes, todo)
}

// mergeDistributions is the item's distributions with g's quantities in
// place (keys new to the item after those it has, in the order g names
// them; UndistributedKey sets none) and their sum.
func mergeDistributions(cur []distribution, g *locUpdate) ([]distribution, int64) {
	out := make([]distribution, 0, len(cur)+len(g.order))
	done := map[string]bool{}
	for _, d := range cur {
		if q, ok := g.set[d.MerchantLocationKey]; ok {
			d.Quantity = q
		}
		done[d.MerchantLocationKey] = true
		out = append(out, d)
	}
	for _, k := range g.order {
		if !done[k] && k != UndistributedKey {
			out = append(out, distribution{MerchantLocationKey: k, Quantity: g.set[k]})
		}
	}
	var sum int64
	for _, d := range out {
		sum += d.Quantity
	}
	return out, sum
}

// unreadItem is the result of a SKU whose item the read before the push
// did not give: unknown_sku when eBay has none, else retry (the read
// logged why).
func unreadItem(sku string, unknown []string) connectors.PushResult {
	for _, u := range unknown {
		if u == sku {
			return connectors.PushResult{SKU: sku, Status: connectors.PushUnknownSKU, Reason: "eBay has no inventory item of this SKU"}
		}
	}
	return connectors.PushResult{SKU: sku, Status: connectors.PushRetry,
		Reason: "the inventory item could not be read before its locations were set (see the log)"}
}
