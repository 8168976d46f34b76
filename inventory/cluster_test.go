package inventory

import (
	"context"
	"fmt"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestClusterScansEveryPrimary: on a Redis Cluster the ledger's scans
// (SKUs, and Verify over them) reach the SKUs of every primary, and
// Verify finds a broken figure whichever primary holds it.
func TestClusterScansEveryPrimary(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	ctx := context.Background()
	l := New(cc, Options{Prefix: redistest.Prefix()})
	want := map[string]bool{}
	nodes := map[string]bool{}
	for i := 0; i < 40; i++ {
		sku := fmt.Sprintf("C-%02d", i)
		if _, err := l.Receive(ctx, Delta{Key: "r", SKU: sku, Location: "A", Quantity: 3}); err != nil {
			t.Fatal(err)
		}
		want[sku] = true
		m, err := cc.MasterForKey(ctx, l.keys(sku).stock)
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.Options().Addr] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("the SKUs sit on %d primaries, want 3", len(nodes))
	}
	got := map[string]bool{}
	if err := l.SKUs(ctx, func(page []string) error {
		for _, s := range page {
			got[s] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("SKUs found %d of %d", len(got), len(want))
	}
	if bad, err := l.Verify(ctx, nil); err != nil || len(bad) != 0 {
		t.Fatalf("verify of a sound ledger: %v %v", bad, err)
	}
	// Break one SKU's figures behind the ledger's back, on whichever
	// primary holds it: Verify over every primary finds it.
	for _, sku := range []string{"C-07", "C-31"} {
		if err := cc.HSet(ctx, l.keys(sku).stock, "A", "99,0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	bad, err := l.Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, b := range bad {
		found[b.SKU] = true
	}
	if !found["C-07"] || !found["C-31"] || len(found) != 2 {
		t.Fatalf("verify found %v, want C-07 and C-31", bad)
	}
}

// TestClusterReorderDefaults: on a Redis Cluster the default reorder
// points (a key of their own slot) reach every stock script as an
// argument, never read by it: SKUs on every primary cross a default, and a
// change's re-evaluation pass covers every primary.
func TestClusterReorderDefaults(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	ctx := context.Background()
	clock := newTestClock()
	l := New(cc, Options{Prefix: redistest.Prefix(), Now: clock.Now})
	const n = 30
	for i := 0; i < n; i++ {
		sku := fmt.Sprintf("D-%02d", i)
		if _, err := l.Receive(ctx, Delta{Key: "r", SKU: sku, Location: "A", Quantity: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.SetReorderDefault(ctx, ReorderDefault{Location: "A", Point: 5}, "test"); err != nil {
		t.Fatal(err)
	}
	lines := make([]LineState, n)
	for i := range lines {
		lines[i] = LineState{Channel: "c", OrderID: fmt.Sprintf("o%d", i), LineID: "1", SKU: fmt.Sprintf("D-%02d", i), Location: "A", Ordered: 6, Version: 1}
	}
	if _, err := l.ApplyLines(ctx, lines); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if got := signalTypes(t, l, fmt.Sprintf("D-%02d", i)); len(got) != 1 || got[0] != SignalLow {
			t.Fatalf("D-%02d: events %v, want one stock.low", i, got)
		}
	}
	if _, err := l.SetReorderDefault(ctx, ReorderDefault{Location: "A", Point: 3}, "test"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(l.ReorderDefaultsSettle())
	ran, got, err := l.ReevaluateIfDue(ctx)
	if err != nil || !ran || got != n {
		t.Fatalf("re-evaluation: ran %v, %d SKUs, %v", ran, got, err)
	}
	for i := 0; i < n; i++ {
		if got := signalTypes(t, l, fmt.Sprintf("D-%02d", i)); len(got) != 2 || got[1] != SignalRearm {
			t.Fatalf("D-%02d after lowering the default below its stock: %v", i, got)
		}
	}
	low, err := l.BelowReorder(ctx)
	if err != nil || len(low) != 0 {
		t.Fatalf("below reorder: %+v %v", low, err)
	}
}
