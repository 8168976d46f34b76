package push

import (
	"context"
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
