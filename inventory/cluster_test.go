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
