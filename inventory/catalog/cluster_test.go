package catalog_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// TestCatalogOnRedisCluster: every catalog operation runs on a Redis
// Cluster (no script spans two slots: a cross-slot script or transaction
// would fail there), and a SKU's catalog hash sits in the slot of that
// SKU's ledger keys.
func TestCatalogOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	ctx := context.Background()
	prefix := redistest.Prefix()
	l := inventory.New(cc, inventory.Options{Prefix: prefix})
	var plan catalog.Plan
	for i := 0; i < 20; i++ {
		sku := fmt.Sprintf("SKU-%d", i)
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: sku, Location: "main", Quantity: 10, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
		plan.Mappings = append(plan.Mappings, catalog.Mapping{Channel: "shop", Listing: "L-" + sku, SKU: sku, Multiplier: 2})
		plan.Kits = append(plan.Kits, catalog.Kit{SKU: "KIT-" + sku, Components: []catalog.Component{{SKU: sku, Quantity: 1}, {SKU: "SKU-0", Quantity: 1}}})
	}
	plan.Kits = plan.Kits[1:] // KIT-SKU-0 would take SKU-0 twice
	cat := catalog.New(cc, prefix)
	if probs, err := cat.Check(ctx, plan, l, nil); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if res, err := cat.Apply(ctx, plan, "test"); err != nil || res.Changed != 39 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	e, err := cat.Entry(ctx, "SKU-0")
	if err != nil || len(e.Kits) != 19 {
		t.Fatalf("SKU-0 is in %d kits (%v)", len(e.Kits), err)
	}
	res, _, err := cat.Resolve(ctx, []catalog.Ref{{Channel: "shop", SKU: "L-SKU-3"}, {Channel: "shop", SKU: "KIT-SKU-4"}})
	if err != nil || res[catalog.Ref{Channel: "shop", SKU: "L-SKU-3"}].Parts[0] != (catalog.Part{SKU: "SKU-3", Per: 2}) ||
		len(res[catalog.Ref{Channel: "shop", SKU: "KIT-SKU-4"}].Parts) != 2 {
		t.Fatalf("resolve: %+v %v", res, err)
	}
	if exp, err := cat.Export(ctx); err != nil || len(exp.Mappings) != 20 || len(exp.Kits) != 19 {
		t.Fatalf("export: %d mappings, %d kits (%v)", len(exp.Mappings), len(exp.Kits), err)
	}
	if h, err := cat.History(ctx, 100); err != nil || len(h) != 39 {
		t.Fatalf("history: %d (%v)", len(h), err)
	}
	pend, err := cat.PendingIntents(ctx, 1000)
	if err != nil || len(pend) == 0 {
		t.Fatalf("pending: %v %v", pend, err)
	}
	for _, in := range pend {
		if err := cat.ClearIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// A name's catalog hash carries the hash tag of the SKU's ledger keys
	// (the ledger's own stock key exists under the tag the catalog
	// computes, braces and a leading ~ included), so both share a slot.
	for _, sku := range []string{"SKU-3", "a{b}c", "~x"} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r2", SKU: sku, Location: "main", Quantity: 1, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
		tag := "{" + catalog.TagOf(sku) + "}"
		if n, err := cc.Exists(ctx, prefix+"s:"+tag).Result(); err != nil || n != 1 {
			t.Errorf("%s: no ledger stock key under the catalog's tag %s (%v)", sku, tag, err)
		}
	}
}
