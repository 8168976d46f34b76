package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// asOfChannel is a channel whose poller answers with the orders updated at
// or after since and a through the test sets (the channel's as-of time),
// and records the windows it was asked for.
type asOfChannel struct {
	*memChannel
	mu      sync.Mutex
	through time.Time
	asked   []time.Time
}

func (a *asOfChannel) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	a.mu.Lock()
	a.asked = append(a.asked, since)
	through := a.through
	a.mu.Unlock()
	if _, err := a.memChannel.PollOrders(ctx, since, emit); err != nil {
		return time.Time{}, err
	}
	return through, nil
}

// TestPollCursorOnlyMovesForwardAndSkipsHandledOrders: a quiet channel's
// poll window stays the overlap (it never reaches further back poll after
// poll, even when a connector answers with a through before the cursor),
// and an order the overlap re-reads at a state already handled is not
// taken in again.
func TestPollCursorOnlyMovesForwardAndSkipsHandledOrders(t *testing.T) {
	rdb, prefix := redistest.New(t)
	cfg := testConfig(prefix, "shop")
	overlap := cfg.Sync.PollOverlap
	ch := &asOfChannel{memChannel: newMemChannel()}
	h := newHarnessWith(t, rdb, cfg, map[string]*memChannel{"shop": ch.memChannel}, map[string]connectors.Connector{"shop": ch})
	ec := h.engine.channels["shop"]
	ctx := context.Background()
	h.engine.Ledger().Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"})

	t0 := time.Now().Truncate(time.Second)
	ch.putOrder(order("shop", "O1", t0.Add(-time.Minute).UnixMilli(), connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 2}))
	ch.mu.Lock()
	ch.through = t0
	ch.mu.Unlock()
	polled := func() float64 {
		return counterValue(t, h.engine.m.polledOrders.WithLabelValues("shop"))
	}
	if err := h.engine.poll(ctx, ec); err != nil {
		t.Fatal(err)
	}
	if got := polled(); got != 1 {
		t.Fatalf("first poll took in %v orders, want 1", got)
	}
	h.eventually("O1 applied", func() bool {
		st, err := h.engine.Ledger().Stock(ctx, "A")
		return err == nil && st.Locations["main"].Reserved == 2
	})
	h.eventually("O1 handled", func() bool {
		done, err := h.engine.publisher.Handled(ctx, []*connectors.Order{{Channel: "shop", OrderID: "O1", UpdatedAt: t0.Add(-time.Minute), Lines: []connectors.Line{{LineID: "1", SKU: "A", Quantity: 2}}}})
		return err == nil && done[0]
	})

	// Quiet from here on: each poll's as-of time is later, or (a connector
	// that answers "since") earlier than the cursor.
	for i, through := range []time.Time{t0.Add(time.Minute), t0.Add(-time.Hour), t0.Add(2 * time.Minute)} {
		ch.mu.Lock()
		ch.through = through
		ch.mu.Unlock()
		if err := h.engine.poll(ctx, ec); err != nil {
			t.Fatal(err)
		}
		if got := polled(); got != 1 {
			t.Fatalf("poll %d took in an order already handled (%v in all)", i+2, got)
		}
	}
	ch.mu.Lock()
	asked := append([]time.Time(nil), ch.asked...)
	ch.mu.Unlock()
	want := []time.Time{t0.Add(-overlap), t0.Add(time.Minute - overlap), t0.Add(time.Minute - overlap)}
	for i, w := range want {
		if got := asked[i+1]; !got.Equal(w) {
			t.Errorf("poll %d asked from %s, want %s (cursor minus the overlap, never further back)", i+2, got.Format(time.RFC3339), w.Format(time.RFC3339))
		}
	}
	if got := counterValue(t, h.engine.m.pollSkipped.WithLabelValues("shop")); got != 3 {
		t.Errorf("skipped %v re-read orders, want 3", got)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
