package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// listedAs: every channel of h lists each of want.
func (h *harness) listedAs(want map[string]int64) func() bool {
	return func() bool {
		for _, c := range h.chans {
			for sku, q := range want {
				if got, ok := c.listed(sku); !ok || got != q {
					return false
				}
			}
		}
		return true
	}
}

func (h *harness) describe(skus ...string) string {
	s := ""
	for name, c := range h.chans {
		s += name + ":"
		for _, sku := range skus {
			q, ok := c.listed(sku)
			s += fmt.Sprintf(" %s=%d(%v)", sku, q, ok)
		}
		s += "; "
	}
	return s
}

// TestKitSaleLowersItsComponentsAndEveryKitSharingThem: three channels;
// A, B and C in the ledger; kits K1 = 2 A + 1 B and K2 = 1 A + 1 C, and on
// bay the listing K1-BAY is K1. The catalog import alone lists the kits
// everywhere (the sweeper pushes what a catalog change moved). A sale of
// K1 on shop, delivered three times, lowers A and B, K1, and K2 (which
// shares A) on every channel, and K1-BAY on bay; a later cancel restores
// them all.
func TestKitSaleLowersItsComponentsAndEveryKitSharingThem(t *testing.T) {
	rdb, prefix := redistest.New(t)
	chans := map[string]*memChannel{"shop": newMemChannel(), "bay": newMemChannel(), "amz": newMemChannel()}
	h := newHarness(t, rdb, testConfig(prefix, "shop", "bay", "amz"), chans)
	ctx := context.Background()
	l := h.engine.Ledger()
	for sku, q := range map[string]int64{"A": 20, "B": 10, "C": 30} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: sku, Location: "main", Quantity: q, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	plan := catalog.Plan{
		Mappings: []catalog.Mapping{{Channel: "bay", Listing: "K1-BAY", SKU: "K1", Multiplier: 1}},
		Kits: []catalog.Kit{
			{SKU: "K1", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{SKU: "K2", Components: []catalog.Component{{SKU: "A", Quantity: 1}, {SKU: "C", Quantity: 1}}},
		},
	}
	if probs, err := h.engine.Catalog().Check(ctx, plan, l, h.engine.Channels()); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if _, err := h.engine.Catalog().Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	before := map[string]int64{"A": 20, "B": 10, "C": 30, "K1": 10, "K2": 20}
	h.eventuallyListed("the kits are listed from the catalog alone", before, map[string]int64{"K1-BAY": 10})

	sale := order("shop", "S1", 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "K1", Quantity: 3})
	ev := connectors.Event{Kind: connectors.EventOrder, Channel: "shop", ID: "d1", Order: &sale, ReceivedAt: time.Now()}
	for i := 0; i < 3; i++ { // duplicate deliveries
		if err := h.engine.Sink().Put(ctx, []connectors.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	after := map[string]int64{"A": 14, "B": 7, "C": 30, "K1": 7, "K2": 14}
	h.eventuallyListed("the sale lowers the components and both kits everywhere", after, map[string]int64{"K1-BAY": 7})

	cancel := order("shop", "S1", 2000, connectors.StatusCancelled, connectors.Line{LineID: "1", SKU: "K1", Quantity: 3, Cancelled: 3})
	if err := h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: &cancel, ReceivedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	h.eventuallyListed("the cancel restores them", before, map[string]int64{"K1-BAY": 10})
	probs, err := l.Verify(ctx, nil)
	if err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
	for _, sku := range []string{"A", "B"} {
		st, err := l.Stock(ctx, sku)
		if err != nil || st.Locations["main"].Reserved != 0 || st.Locations["main"].OnHand != before[sku] {
			t.Fatalf("%s after the cancel: %+v %v", sku, st, err)
		}
	}
}

// eventuallyListed waits until every channel lists everywhere, and bay
// (the channel with the mapped listing) also onBay.
func (h *harness) eventuallyListed(what string, everywhere, onBay map[string]int64) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok := h.listedAs(everywhere)()
		for sku, q := range onBay {
			got, known := h.chans["bay"].listed(sku)
			ok = ok && known && got == q
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting until %s: %s", what, h.describe("A", "B", "C", "K1", "K2", "K1-BAY"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
