package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestCrashMidLoadLosesNothingAndDoublesNothing stops the engine abruptly
// (its context cancelled with work in flight: no drain) while events pour
// in, starts a new one on the same Redis, and checks that every order
// applied exactly once, every order version was published once, and every
// channel converged to the ledger.
func TestCrashMidLoadLosesNothingAndDoublesNothing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	chans := map[string]*memChannel{"shop": newMemChannel(), "bay": newMemChannel()}
	cfg := testConfig(prefix, "shop", "bay")
	h := newHarness(t, rdb, cfg, chans)
	const skus, orders = 12, 400
	for i := 0; i < skus; i++ {
		if _, err := h.engine.Ledger().Receive(ctx, inventory.Delta{Key: fmt.Sprint("init", i), SKU: fmt.Sprint("SKU", i), Location: "main", Quantity: 1000, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]int64{} // SKU → units reserved by the final order states
	var events []connectors.Event
	for i := 0; i < orders; i++ {
		ch := []string{"shop", "bay"}[i%2]
		sku := fmt.Sprint("SKU", rng.IntN(skus))
		qty := int64(1 + rng.IntN(3))
		o := order(ch, fmt.Sprint("O", i), 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: sku, Quantity: qty})
		final := o
		if rng.IntN(4) == 0 { // later cancelled
			final = order(ch, o.OrderID, 2000, connectors.StatusCancelled, connectors.Line{LineID: "1", SKU: sku, Quantity: qty, Cancelled: qty})
		} else {
			want[sku] += qty
		}
		events = append(events, connectors.Event{Kind: connectors.EventOrder, Channel: ch, ID: "a" + o.OrderID, Order: &o})
		if final.UpdatedAt != o.UpdatedAt {
			events = append(events, connectors.Event{Kind: connectors.EventOrder, Channel: ch, ID: "b" + o.OrderID, Order: &final})
		}
		if rng.IntN(5) == 0 { // a duplicate delivery
			events = append(events, connectors.Event{Kind: connectors.EventOrder, Channel: ch, ID: "a" + o.OrderID, Order: &o})
		}
	}
	// Deliver a third, crash, deliver the rest while down, restart.
	third := len(events) / 3
	for i := 0; i < third; i += 10 {
		if err := h.engine.Sink().Put(ctx, events[i:min(i+10, third)]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	h.stop() // abrupt: whatever is in flight is not acknowledged
	in := h.engine.Intake()
	for i := third; i < len(events); i += 10 {
		if err := in.Put(ctx, events[i:min(i+10, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	h2 := newHarness(t, rdb, cfg, chans)
	h2.eventually("the intake is drained", func() bool {
		n, _ := h2.engine.Intake().Backlog(ctx)
		return n == 0
	})
	l := h2.engine.Ledger()
	for i := 0; i < skus; i++ {
		sku := fmt.Sprint("SKU", i)
		st, err := l.Stock(ctx, sku)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Locations["main"].Reserved; got != want[sku] {
			t.Errorf("%s reserved %d, want %d", sku, got, want[sku])
		}
		h2.eventually(sku+" converged on every channel", h2.listedEverywhere(sku, 1000-want[sku]))
	}
	msgs, err := rdb.XLen(ctx, h2.engine.Publisher().Stream()).Result()
	if err != nil {
		t.Fatal(err)
	}
	versions := 0
	seen := map[string]bool{}
	for _, e := range events {
		k := e.Order.OrderID + e.Order.UpdatedAt.String()
		if !seen[k] {
			seen[k] = true
			versions++
		}
	}
	// Each version is published at most once; a version that arrived after a
	// newer one of the same order is never published, so the count lies
	// between the number of orders and the number of versions.
	if msgs < int64(orders) || msgs > int64(versions) {
		t.Fatalf("downstream has %d messages; want between %d and %d", msgs, orders, versions)
	}
	if bad, err := l.Verify(ctx, nil); err != nil || len(bad) != 0 {
		t.Fatalf("verify: %v %v", bad, err)
	}
}
