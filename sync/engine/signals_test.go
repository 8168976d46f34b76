package engine

import (
	"context"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestStockSignalsReachTheDownstreamStream: orders taken in by the engine
// take a SKU below its reorder point and then to zero; the engine's
// signal sweeper puts stock.low and stock.out on the downstream stream,
// once each, beside the orders.
func TestStockSignalsReachTheDownstreamStream(t *testing.T) {
	rdb, prefix := redistest.New(t)
	h := newHarness(t, rdb, testConfig(prefix, "shop"), map[string]*memChannel{"shop": newMemChannel()})
	ctx := context.Background()
	l := h.engine.Ledger()
	if _, err := l.Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 5, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetReorder(ctx, inventory.Reorder{SKU: "A", Location: "main", Point: 3}, "test"); err != nil {
		t.Fatal(err)
	}
	for i, q := range []int64{3, 2} {
		o := order("shop", []string{"O1", "O2"}[i], 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: q})
		if err := h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: &o, ReceivedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	signals := func() map[string]string {
		msgs, err := rdb.XRange(ctx, h.engine.Publisher().Stream(), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range msgs {
			if m.Values["kind"] == "signal" {
				out[m.Values["delivery_id"].(string)] = m.Values["type"].(string)
			}
		}
		return out
	}
	h.eventually("stock.low and stock.out are on the stream", func() bool { return len(signals()) >= 2 })
	got := signals()
	if len(got) != 2 || got["A:1"] != inventory.SignalLow || got["A:2"] != inventory.SignalOut {
		t.Fatalf("signals on the stream %v, want A:1 stock.low and A:2 stock.out", got)
	}
	// The sweeper removes what it moved (just after publishing it).
	h.eventually("nothing is pending", func() bool {
		left, err := l.PendingSignals(ctx, "A", 10)
		return err == nil && len(left) == 0
	})
}
