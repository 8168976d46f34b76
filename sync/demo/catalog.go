package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// Engine is what the simulator needs of the running engine: the ledger
// to seed the initial stock, and a way to tell it what the channels list
// before the first push (a merchant's listings exist before shelfsync is
// installed). *engine.Engine has it.
type Engine interface {
	Ledger() *inventory.Ledger
	SetReported(ctx context.Context, channel, sku string, qty int64) error
}

// Item is one SKU of the generated catalogue with its initial stock.
type Item struct {
	SKU       string
	Warehouse int64
	Store     int64
}

// Catalog is the generated catalogue: the ledger SKUs, and the mapped
// listings and kits sold besides them (addCatalog).
type Catalog struct {
	Items    []Item
	Mappings []catalog.Mapping
	Kits     []catalog.Kit
	lister   Lister // the engine's propagator, once Seed applied the catalog
}

// NewCatalog generates n SKUs (DEMO-000001…) with stock at both
// locations: mostly a few hundred units (a minute at 100 orders/s on 200
// SKUs sells about 40 of each), one in ten nearly sold out, so that the
// order stream reaches zero on some and oversells can happen.
func NewCatalog(n int, seed uint64) *Catalog {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	c := &Catalog{Items: make([]Item, n)}
	for i := range c.Items {
		it := Item{SKU: fmt.Sprintf("DEMO-%06d", i+1)}
		switch r := rng.IntN(10); {
		case r == 0: // nearly sold out
			it.Warehouse, it.Store = int64(rng.IntN(3)), 0
		case r < 3: // warehouse only
			it.Warehouse = int64(50 + rng.IntN(400))
		default:
			it.Warehouse, it.Store = int64(50+rng.IntN(500)), int64(rng.IntN(40))
		}
		c.Items[i] = it
	}
	c.addCatalog()
	return c
}

// SKUs lists the catalogue's SKUs.
func (c *Catalog) SKUs() []string {
	out := make([]string, len(c.Items))
	for i, it := range c.Items {
		out[i] = it.SKU
	}
	return out
}

// Seed lists every SKU on every fake at the quantity the channel's
// allocation gives, tells the engine so (so nothing is pushed at start),
// then receives the stock into the ledger. The listings come first: a
// channel never shows more than the ledger will hold. Then the mapped
// listings and kits (seedCatalog), when eng is a CatalogEngine.
func Seed(ctx context.Context, eng Engine, f *Fakes, cfg *config.Config, c *Catalog) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, runtime.GOMAXPROCS(0)*2))
	l := eng.Ledger()
	for _, it := range c.Items {
		g.Go(func() error {
			avail := map[string]int64{LocationWarehouse: it.Warehouse, LocationStore: it.Store}
			for _, ch := range cfg.Channels {
				qty := propagate.ATS(avail, ch.Locations, propagate.Allocation(ch.Allocation))
				if err := eng.SetReported(gctx, ch.Name, it.SKU, qty); err != nil {
					return fmt.Errorf("seeding %s on %s: %w", it.SKU, ch.Name, err)
				}
				f.list(ch.Name, it.SKU, qty)
			}
			for loc, n := range avail {
				if n == 0 {
					continue
				}
				d := inventory.Delta{Key: "demo-initial/" + loc, SKU: it.SKU, Location: loc, Quantity: n, Reason: "demo: initial stock"}
				if _, err := l.Receive(gctx, d); err != nil {
					return fmt.Errorf("seeding %s at %s: %w", it.SKU, loc, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return seedCatalog(ctx, eng, f, cfg, c)
}
