package inventory

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestBelowReorderDaysOfCover: sales over 30 days; the 7- and 28-day
// windows count what order lines took from available (sales, less
// cancels; shipping a reserved line counts nothing more).
func TestBelowReorderDaysOfCover(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		day := 24 * time.Hour
		line := func(order string, ordered, shipped, cancelled, ver int64) {
			t.Helper()
			if _, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: order, LineID: "1", SKU: "S", Location: "A",
				Ordered: ordered, Shipped: shipped, Cancelled: cancelled, Version: ver}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Receive(ctx, Delta{Key: "r", SKU: "S", Location: "A", Quantity: 100}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Receive(ctx, Delta{Key: "r", SKU: "UP", Location: "A", Quantity: 100}); err != nil {
			t.Fatal(err)
		}
		line("o1", 30, 0, 0, 1) // day 0: outside both windows
		e.clock.Advance(10 * day)
		line("o2", 20, 0, 0, 1) // day 10: +20
		e.clock.Advance(15 * day)
		line("o2", 20, 20, 0, 2) // day 25: shipped, 0
		line("o3", 10, 0, 0, 1)  // +10
		e.clock.Advance(day)
		line("o3", 10, 0, 4, 2) // day 26: 4 cancelled, -4
		e.clock.Advance(4 * day)
		// on_hand 80, reserved 36: available 44
		for _, r := range []Reorder{{SKU: "S", Location: "A", Point: 80}, {SKU: "UP", Location: "A", Point: 5}} {
			if _, err := l.SetReorder(ctx, r, "test"); err != nil {
				t.Fatal(err)
			}
		}
		got, err := l.BelowReorder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("rows %+v, want S only", got)
		}
		r := got[0]
		if r.SKU != "S" || r.State != "low" || r.Available != 44 || r.ReorderPoint != 80 || r.Sold7 != 6 || r.Sold28 != 26 {
			t.Fatalf("row %+v", r)
		}
		if r.Cover7 == nil || math.Abs(*r.Cover7-44/(6.0/7)) > 1e-9 || r.Cover28 == nil || math.Abs(*r.Cover28-44/(26.0/28)) > 1e-9 {
			t.Fatalf("cover %v %v", r.Cover7, r.Cover28)
		}
	})
}
