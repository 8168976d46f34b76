package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// newIdleEngine builds an engine over rdb that is not running: the test
// drives its jobs itself.
func newIdleEngine(t *testing.T, rdb *redis.Client, prefix, holder string, conn connectors.Connector) *Engine {
	t.Helper()
	e, err := New(Options{Config: testConfig(prefix, "shop"), Redis: rdb, Connectors: map[string]connectors.Connector{"shop": conn},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), Holder: holder})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func stockEach(t *testing.T, e *Engine, qty int64, skus ...string) {
	t.Helper()
	for _, s := range skus {
		if _, err := e.Ledger().Receive(context.Background(), inventory.Delta{Key: "r-" + s, SKU: s, Location: "main", Quantity: qty, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReconcileDriftLeavesOutPushesThatAreDue: drift is what is still
// wrong after the pushes that were due. A SKU the channel lists wrong
// while a push of it is queued (A) or on the wire (B) is not drift; one
// wrong with no push due (C) is, and gets a forced correction; one right
// (D) is neither.
func TestReconcileDriftLeavesOutPushesThatAreDue(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	shop := newMemChannel()
	e := newIdleEngine(t, rdb, prefix, "a:1", shop)
	stockEach(t, e, 5, "A", "B", "C", "D")
	ch := e.channels["shop"]
	// B's push was taken by the pusher (on the wire), then A's was queued.
	if _, err := ch.outbox.Enqueue(ctx, []outbox.Want{{SKU: "B", Quantity: 5}}); err != nil {
		t.Fatal(err)
	}
	if items, err := ch.outbox.Due(ctx, 10, time.Now()); err != nil || len(items) != 1 {
		t.Fatalf("due %+v %v", items, err)
	}
	if _, err := ch.outbox.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 5}}); err != nil {
		t.Fatal(err)
	}
	for sku, q := range map[string]int64{"A": 9, "B": 8, "C": 7, "D": 5} {
		shop.set(sku, q)
	}
	if err := e.reconcile(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.m.driftSKUs.WithLabelValues("shop")); got != 1 {
		t.Errorf("drift_skus %v, want 1 (C only)", got)
	}
	if got := testutil.ToFloat64(e.m.driftUnits.WithLabelValues("shop")); got != 2 {
		t.Errorf("drift_units %v, want 2 (C lists 7, should 5)", got)
	}
	pending, err := ch.outbox.Pending(ctx, []string{"C", "D"})
	if err != nil {
		t.Fatal(err)
	}
	if !pending["C"] || pending["D"] {
		t.Errorf("pending after reconcile %v: want a correction of C and nothing for D", pending)
	}
	rec, err := e.board.Get(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if rec["drift_skus"] != "1" || rec["reconcile_checked"] != "4" || rec[reconcileByField] != "a:1" {
		t.Errorf("status %v", rec)
	}
}

// settlingReader is a channel whose listing of a SKU is wrong on the first
// read and right afterwards, as when a push lands between reconcile's
// reads.
type settlingReader struct {
	*memChannel
	settle map[string]int64
}

func (s *settlingReader) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	out, err := s.memChannel.ReadQuantities(ctx, skus)
	for sku, q := range s.settle {
		s.set(sku, q)
	}
	return out, err
}

// TestReconcileConfirmsDriftOnASecondRead: a SKU wrong on the first read
// and right on the second (its push landed meanwhile) is not drift.
func TestReconcileConfirmsDriftOnASecondRead(t *testing.T) {
	tests := []struct {
		name      string
		settle    map[string]int64 // what the channel lists after the first read
		wantSKUs  float64
		wantUnits float64
	}{
		{name: "settled between the reads", settle: map[string]int64{"A": 5}, wantSKUs: 0, wantUnits: 0},
		{name: "still wrong on the second read", settle: map[string]int64{"A": 2}, wantSKUs: 1, wantUnits: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			shop := &settlingReader{memChannel: newMemChannel(), settle: tc.settle}
			e := newIdleEngine(t, rdb, prefix, "a:1", shop)
			stockEach(t, e, 5, "A")
			shop.set("A", 9)
			if err := e.reconcile(context.Background(), e.channels["shop"]); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(e.m.driftSKUs.WithLabelValues("shop")); got != tc.wantSKUs {
				t.Errorf("drift_skus %v, want %v", got, tc.wantSKUs)
			}
			if got := testutil.ToFloat64(e.m.driftUnits.WithLabelValues("shop")); got != tc.wantUnits {
				t.Errorf("drift_units %v, want %v", got, tc.wantUnits)
			}
		})
	}
}

// TestDriftIsExportedOnlyByTheLastReconciler: once another replica has run
// a channel's reconcile, this one drops its drift series instead of
// exporting its older finding; the other replica exports its own.
func TestDriftIsExportedOnlyByTheLastReconciler(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	shopA, shopB := newMemChannel(), newMemChannel()
	a := newIdleEngine(t, rdb, prefix, "a:1", shopA)
	b := newIdleEngine(t, rdb, prefix, "b:1", shopB)
	stockEach(t, a, 5, "A")
	shopA.set("A", 9)
	shopB.set("A", 5)
	count := func(e *Engine) int {
		return testutil.CollectAndCount(e.m.driftSKUs) + testutil.CollectAndCount(e.m.driftUnits)
	}
	if err := a.reconcile(ctx, a.channels["shop"]); err != nil {
		t.Fatal(err)
	}
	a.dropStaleDrift(ctx, "shop")
	if n := count(a); n != 2 {
		t.Fatalf("the replica that ran the last reconcile exports %d drift series, want 2", n)
	}
	if err := b.reconcile(ctx, b.channels["shop"]); err != nil {
		t.Fatal(err)
	}
	a.dropStaleDrift(ctx, "shop")
	b.dropStaleDrift(ctx, "shop")
	if n := count(a); n != 0 {
		t.Errorf("the replica whose reconcile was replaced still exports %d drift series", n)
	}
	if n := count(b); n != 2 {
		t.Errorf("the last reconciler exports %d drift series, want 2", n)
	}
}
