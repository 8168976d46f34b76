package demo

import (
	"context"
	"fmt"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// CatalogEngine is what Seed needs of the engine to put the catalogue's
// mapped listings and kits in: its catalog, its channel names, and its
// propagator (what the convergence check compares those listings with).
// *engine.Engine has it; an Engine without it gets plain SKUs only.
type CatalogEngine interface {
	Engine
	Catalog() *catalog.Catalog
	Channels() []string
	Propagator() *propagate.Propagator
}

// Lister says what each channel lists of the listings some names stand
// behind (propagate.Propagator.Listed).
type Lister interface {
	Listed(ctx context.Context, names ...string) (map[string]map[string]int64, error)
}

// addCatalog gives the generated catalogue (at least 4 SKUs) its mapped
// listings and kits: a 6-pack of the first SKU on the first channel; kits
// A (1 of the second SKU, 2 of the third) and B (1 of the third, 1 of the
// fourth: it shares the third with A), sold under their own names on
// every channel; and a 2-pack of kit B on the second channel. Those four
// SKUs get enough stock to be sold for a while.
func (c *Catalog) addCatalog() {
	if len(c.Items) < 4 {
		return
	}
	for i := range c.Items[:4] {
		if it := &c.Items[i]; it.Warehouse+it.Store < 150 {
			it.Warehouse += 300
		}
	}
	sku := func(i int) string { return c.Items[i].SKU }
	names := ChannelNames()
	kitB := "DEMO-KIT-B"
	c.Kits = []catalog.Kit{
		{SKU: "DEMO-KIT-A", Components: []catalog.Component{{SKU: sku(1), Quantity: 1}, {SKU: sku(2), Quantity: 2}}},
		{SKU: kitB, Components: []catalog.Component{{SKU: sku(2), Quantity: 1}, {SKU: sku(3), Quantity: 1}}},
	}
	c.Mappings = []catalog.Mapping{{Channel: names[0], Listing: sku(0) + "-6PK", SKU: sku(0), Multiplier: 6}}
	if len(names) > 1 {
		c.Mappings = append(c.Mappings, catalog.Mapping{Channel: names[1], Listing: kitB + "-2PK", SKU: kitB, Multiplier: 2})
	}
}

// kit returns the catalogue's kit named sku.
func (c *Catalog) kit(sku string) (catalog.Kit, bool) {
	for _, k := range c.Kits {
		if k.SKU == sku {
			return k, true
		}
	}
	return catalog.Kit{}, false
}

// Listings are the catalogue's mapped listings and kits sold on channel:
// every kit under its own name, and the listings mapped on channel.
func (c *Catalog) Listings(channel string) []string {
	var out []string
	for _, k := range c.Kits {
		out = append(out, k.SKU)
	}
	for _, m := range c.Mappings {
		if m.Channel == channel {
			out = append(out, m.Listing)
		}
	}
	return out
}

// Per is how many ledger units one unit of listing on channel moves: the
// mapping's multiplier (times the kit's units when it maps to a kit), a
// kit's units over its components; 1 for a plain SKU.
func (c *Catalog) Per(channel, listing string) int64 {
	mult, target := int64(1), listing
	for _, m := range c.Mappings {
		if m.Channel == channel && m.Listing == listing {
			mult, target = m.Multiplier, m.SKU
		}
	}
	k, ok := c.kit(target)
	if !ok {
		return mult
	}
	var units int64
	for _, cp := range k.Components {
		units += cp.Quantity
	}
	return mult * units
}

// initial is what ch lists of the catalogue's listings on it at the
// initial stock, by its allocation rules: the same as the propagator
// computes once the stock and the catalog are in.
func (c *Catalog) initial(ch config.Channel) map[string]int64 {
	items := make(map[string]Item, len(c.Items))
	for _, it := range c.Items {
		items[it.SKU] = it
	}
	ats := func(sku string) int64 {
		it := items[sku]
		avail := map[string]int64{LocationWarehouse: it.Warehouse, LocationStore: it.Store}
		return propagate.ATS(avail, ch.Locations, propagate.Allocation(ch.Allocation))
	}
	of := func(name string) int64 {
		if k, ok := c.kit(name); ok {
			return catalog.KitATS(k.Components, ats)
		}
		return ats(name)
	}
	out := map[string]int64{}
	for _, k := range c.Kits {
		out[k.SKU] = of(k.SKU)
	}
	for _, m := range c.Mappings {
		if m.Channel == ch.Name {
			out[m.Listing] = catalog.ListingQuantity(of(m.SKU), m.Multiplier)
		}
	}
	return out
}

// seedCatalog lists the catalogue's mapped listings and kits on the fakes
// at what they will list, tells the engine so, then checks and applies
// the catalog (after the stock: a kit's components must be ledger SKUs).
// The convergence check then compares those listings with eng's
// propagator. Nothing happens when eng has no catalog.
func seedCatalog(ctx context.Context, eng Engine, f *Fakes, cfg *config.Config, c *Catalog) error {
	ce, ok := eng.(CatalogEngine)
	if !ok || len(c.Kits)+len(c.Mappings) == 0 {
		return nil
	}
	for _, ch := range cfg.Channels {
		for listing, qty := range c.initial(ch) {
			if err := eng.SetReported(ctx, ch.Name, listing, qty); err != nil {
				return fmt.Errorf("seeding %s on %s: %w", listing, ch.Name, err)
			}
			f.list(ch.Name, listing, qty)
		}
	}
	plan := catalog.Plan{Mappings: c.Mappings, Kits: c.Kits}
	probs, err := ce.Catalog().Check(ctx, plan, ce.Ledger(), ce.Channels())
	if err != nil {
		return fmt.Errorf("checking the demo's catalog: %w", err)
	}
	if len(probs) > 0 {
		return fmt.Errorf("the demo's catalog: %v", probs)
	}
	if _, err := ce.Catalog().Apply(ctx, plan, "demo"); err != nil {
		return fmt.Errorf("applying the demo's catalog: %w", err)
	}
	c.lister = ce.Propagator()
	return nil
}
