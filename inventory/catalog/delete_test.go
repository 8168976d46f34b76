package catalog_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// TestDelete: deleting mappings and kits, refusals that change nothing,
// the journal, the pending marks and a second delete.
func TestDelete(t *testing.T) {
	l, c := world(t)
	ctx := context.Background()
	plan := catalog.Plan{
		Mappings: []catalog.Mapping{
			{Channel: "shop", Listing: "6-PACK", SKU: "A", Multiplier: 6},
			{Channel: "shop", Listing: "B", SKU: "C", Multiplier: 1}, // B is a ledger SKU too
			{Channel: "bay", Listing: "KIT-L", SKU: "KIT", Multiplier: 1},
		},
		Kits: []catalog.Kit{
			{SKU: "KIT", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{SKU: "KIT2", Components: []catalog.Component{{SKU: "A", Quantity: 1}}},
		},
	}
	if _, err := c.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	before, err := c.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clearPending(t, c)

	refusals := []struct {
		name string
		do   func() error
		want error
		msg  string
	}{
		{"mapping of a listing that would stand for nothing", func() error {
			_, err := c.DeleteMapping(ctx, l, "shop", "6-PACK", false, "test")
			return err
		}, catalog.ErrWouldOrphan, "6-PACK"},
		{"kit with a mapped listing", func() error { _, err := c.DeleteKit(ctx, "KIT", "test"); return err }, catalog.ErrWouldOrphan, "bay/KIT-L"},
		{"unknown mapping", func() error {
			_, err := c.DeleteMapping(ctx, l, "bay", "6-PACK", false, "test")
			return err
		}, catalog.ErrNotFound, "6-PACK"},
		{"a ledger SKU is no kit", func() error { _, err := c.DeleteKit(ctx, "A", "test"); return err }, catalog.ErrNotFound, "A"},
	}
	for _, r := range refusals {
		err := r.do()
		if !errors.Is(err, r.want) || !strings.Contains(err.Error(), r.msg) {
			t.Errorf("%s: %v, want %v naming %s", r.name, err, r.want, r.msg)
		}
	}
	if after, _ := c.Export(ctx); !reflect.DeepEqual(after, before) {
		t.Fatalf("a refused delete changed the catalog:\n%+v\nwant\n%+v", after, before)
	}
	if p, _ := c.PendingIntents(ctx, 10); len(p) != 0 {
		t.Fatalf("a refused delete marked %v", p)
	}

	// B stands for the ledger SKU B again; C no longer pushes to it.
	if _, err := c.DeleteMapping(ctx, l, "shop", "B", false, "cli"); err != nil {
		t.Fatal(err)
	}
	res, _, err := c.Resolve(ctx, []catalog.Ref{{Channel: "shop", SKU: "B"}})
	if err != nil || !reflect.DeepEqual(res[catalog.Ref{Channel: "shop", SKU: "B"}].Parts, []catalog.Part{{SKU: "B", Per: 1}}) {
		t.Fatalf("after delete B resolves to %+v, %v", res, err)
	}
	if e, _ := c.Entry(ctx, "C"); len(e.Listings) != 0 {
		t.Fatalf("C still backs %+v", e.Listings)
	}
	pendingAre(t, c, "B", "C")

	// The kit once its mapping is gone (forced: KIT-L names nothing).
	if _, err := c.DeleteMapping(ctx, l, "bay", "KIT-L", true, "cli"); err != nil {
		t.Fatal(err)
	}
	clearPending(t, c)
	if _, err := c.DeleteKit(ctx, "KIT", "cli"); err != nil {
		t.Fatal(err)
	}
	pendingAre(t, c, "KIT")
	for sku, want := range map[string]map[string]int64{"A": {"KIT2": 1}, "B": nil} {
		if e, _ := c.Entry(ctx, sku); !reflect.DeepEqual(e.Kits, want) {
			t.Errorf("%s is in kits %v, want %v", sku, e.Kits, want)
		}
	}
	if _, err := c.DeleteKit(ctx, "KIT", "cli"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	final, _ := c.Export(ctx)
	if len(final.Mappings) != 1 || final.Mappings[0].Listing != "6-PACK" || len(final.Kits) != 1 || final.Kits[0].SKU != "KIT2" {
		t.Fatalf("catalog after the deletes: %+v", final)
	}
	h, err := c.History(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]string{{"delete kit", "KIT", "2 x A + 1 x B"}, {"delete mapping", "bay/KIT-L", "1 x KIT"}, {"delete mapping", "shop/B", "1 x C"}}
	for i, w := range want {
		if got := [3]string{h[i].Op, h[i].Name, h[i].Before}; got != w || h[i].After != "" || h[i].Source != "cli" {
			t.Errorf("journal %d: %+v, want %v", i, h[i], w)
		}
	}
}

func clearPending(t *testing.T, c *catalog.Catalog) {
	t.Helper()
	p, err := c.PendingIntents(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range p {
		if err := c.ClearIntent(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
}

func pendingAre(t *testing.T, c *catalog.Catalog, names ...string) {
	t.Helper()
	p, err := c.PendingIntents(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, in := range p {
		got[in.SKU] = true
	}
	for _, n := range names {
		if !got[n] {
			t.Errorf("%s not marked pending (%v)", n, p)
		}
	}
	clearPending(t, c)
}
