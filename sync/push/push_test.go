package push

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// recorder is a channel that accepts everything and remembers each call.
type recorder struct {
	mu    gosync.Mutex
	calls [][]connectors.QuantityUpdate
}

func (r *recorder) MaxBatch() int { return 100 }

func (r *recorder) PushQuantities(_ context.Context, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]connectors.QuantityUpdate(nil), ups...))
	out := make([]connectors.PushResult, len(ups))
	for i, u := range ups {
		out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

func (r *recorder) pushed() [][]connectors.QuantityUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]connectors.QuantityUpdate(nil), r.calls...)
}

// The coalescing window bounds how long a change is held: it counts from
// the oldest change in the batch, so a change that already waited its
// window is pushed at once, even when a newer one just joined it.
func TestWindowCountsFromTheOldestChange(t *testing.T) {
	for _, c := range []struct {
		name      string
		oldestAge time.Duration
		wantPush  bool
	}{
		{"oldest change waited longer than the window", 2 * time.Hour, true},
		{"every change is younger than the window", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ob := outbox.New(rdb, prefix, "shop")
			ch := &recorder{}
			p := New(Options{
				Channel: "shop", Conn: ch, Outbox: ob,
				Leases: lease.NewManager(rdb, prefix, "test"),
				Window: time.Hour,
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			now := time.Now()
			if _, err := ob.Enqueue(ctx, []outbox.Want{
				{SKU: "A", Quantity: 1, Cause: now.Add(-c.oldestAge)},
				{SKU: "B", Quantity: 2, Cause: now},
			}); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			// Long enough for any push to happen, far shorter than the window.
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) && len(ch.pushed()) == 0 {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			<-done
			calls := ch.pushed()
			if got := len(calls) > 0; got != c.wantPush {
				t.Fatalf("pushed = %v (%v), want %v", got, calls, c.wantPush)
			}
			if c.wantPush && len(calls[0]) != 2 {
				t.Fatalf("first push carried %v, want A and B together", calls[0])
			}
		})
	}
}

// TestPusherPushesWhatTheOutboxOfBeforeHeld: an upgrade to partitions
// (redis.outbox_partitions raised from 1), or a change of their number
// (12 → 5, 5 → 1, 1 → 5), loses nothing: what the outbox's recorded layout
// holds is moved into the new partitions when the pusher takes the lease,
// and pushed in one call with what the new partitions hold, against the
// figures the channel accepted before; an item a replica still on the old
// layout queues afterwards (a rolling change) is pushed too.
func TestPusherPushesWhatTheOutboxOfBeforeHeld(t *testing.T) {
	for _, c := range []struct{ from, to int }{{1, 4}, {12, 5}, {5, 1}, {1, 5}} {
		t.Run(fmt.Sprintf("%d_to_%d", c.from, c.to), func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			old := outbox.NewPartitioned(rdb, prefix, "shop", c.from)
			if _, err := old.Relayout(ctx); err != nil { // its pusher recorded it
				t.Fatal(err)
			}
			if err := old.SetReported(ctx, "A", 9); err != nil {
				t.Fatal(err)
			}
			if _, err := old.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 4}, {SKU: "B", Quantity: 6}}); err != nil {
				t.Fatal(err)
			}
			ob := outbox.NewPartitioned(rdb, prefix, "shop", c.to)
			if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "C", Quantity: 1}, {SKU: "D", Quantity: 2}}); err != nil {
				t.Fatal(err)
			}
			ch := &recorder{}
			p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, Leases: lease.NewManager(rdb, prefix, "test")})
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			waitCalls(ch, 1)
			if _, err := old.Enqueue(ctx, []outbox.Want{{SKU: "E", Quantity: 5}}); err != nil { // a replica on the old layout
				t.Fatal(err)
			}
			waitCalls(ch, 2)
			cancel()
			<-done
			checkRelayoutPushes(t, ch.pushed(), ob)
		})
	}
}

// untilFirstCall runs p until ch received its first call, then stops it.
func untilFirstCall(p *Pusher, ch *recorder) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	waitCalls(ch, 1)
	cancel()
	<-done
}

// waitCalls waits (at most hangGuard) until ch received n calls.
func waitCalls(ch *recorder, n int) {
	deadline := time.Now().Add(hangGuard)
	for len(ch.pushed()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

func checkRelayoutPushes(t *testing.T, calls [][]connectors.QuantityUpdate, ob *outbox.Outbox) {
	t.Helper()
	if len(calls) != 2 || len(calls[0]) != 4 || len(calls[1]) != 1 || calls[1][0].SKU != "E" || calls[1][0].Quantity != 5 {
		t.Fatalf("calls %+v, want the 4 items in one, then E=5", calls)
	}
	got := map[string]connectors.QuantityUpdate{}
	for _, u := range calls[0] {
		got[u.SKU] = u
	}
	if a := got["A"]; a.Quantity != 4 || a.Previous == nil || *a.Previous != 9 || got["B"].Quantity != 6 || got["C"].Quantity != 1 || got["D"].Quantity != 2 {
		t.Fatalf("pushed %+v, want A=4 (from 9), B=6, C=1, D=2", got)
	}
	if left, err := ob.Leftover(context.Background()); err != nil || left {
		t.Fatalf("the old layout still holds items: %v %v", left, err)
	}
	for sku, want := range map[string]int64{"A": 4, "E": 5} {
		if q, ok, _ := ob.Accepted(context.Background(), sku); !ok || q != want {
			t.Fatalf("accepted %s = %d %v, want %d", sku, q, ok, want)
		}
	}
}

// marked records the SKUs the outbox marks for a push from the ledger.
type marked struct {
	mu   gosync.Mutex
	skus []string
}

func (m *marked) MarkIntents(_ context.Context, skus []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.skus = append(m.skus, skus...)
	return nil
}

// TestPusherPushesTheLowerOfAnItemInTwoLayouts: during a rolling change
// (1 → 4) a replica on the new layout queued X 7, then one on the old
// layout a later X 2. The pusher taking the lease pushes the lower 2, never
// the 7 (the outbox cannot tell which is later), and the SKU is marked
// for a push from the ledger.
func TestPusherPushesTheLowerOfAnItemInTwoLayouts(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := outbox.New(rdb, prefix, "shop")
	if _, err := old.Relayout(ctx); err != nil {
		t.Fatal(err)
	}
	ob := outbox.NewPartitioned(rdb, prefix, "shop", 4)
	m := &marked{}
	ob.SetIntents(m)
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "X", Quantity: 7}}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Enqueue(ctx, []outbox.Want{{SKU: "X", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	ch := &recorder{}
	untilFirstCall(New(Options{Channel: "shop", Conn: ch, Outbox: ob, Leases: lease.NewManager(rdb, prefix, "test")}), ch)
	calls := ch.pushed()
	if len(calls) != 1 || len(calls[0]) != 1 || calls[0][0].SKU != "X" || calls[0][0].Quantity != 2 {
		t.Fatalf("calls %+v, want X=2 once", calls)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.skus) != 1 || m.skus[0] != "X" {
		t.Fatalf("marked %v, want X", m.skus)
	}
}
