package push

import (
	"context"
	"fmt"
	"github.com/shelfsync/shelfsync/connectors"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// TestBatchSizeCapsEachCall: the channel's batch_size (Options.BatchSize)
// caps the items of every PushQuantities call, and the connector's
// MaxBatch caps batch_size; the connectors leave batch_size to the pusher
// (connectors.QuantityPusher), so this is the only place it is applied.
func TestBatchSizeCapsEachCall(t *testing.T) {
	const items = 130 // the recorder's MaxBatch is 100
	for _, c := range []struct {
		batchSize, want int
	}{
		{0, 100},   // unset: the connector's MaxBatch
		{25, 25},   // below MaxBatch: batch_size
		{500, 100}, // above MaxBatch: MaxBatch
	} {
		t.Run(fmt.Sprintf("batch_size=%d", c.batchSize), func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ob := outbox.New(rdb, prefix, "shop")
			ch := &recorder{}
			p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, BatchSize: c.batchSize,
				Leases: lease.NewManager(rdb, prefix, "test")})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wants := make([]outbox.Want, items)
			for i := range wants {
				wants[i] = outbox.Want{SKU: fmt.Sprintf("SKU-%03d", i), Quantity: int64(i), Cause: time.Now()}
			}
			if _, err := ob.Enqueue(ctx, wants); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			total := func() (n int) {
				for _, call := range ch.pushed() {
					n += len(call)
				}
				return n
			}
			// A hang guard, not a timing assertion.
			for deadline := time.Now().Add(30 * time.Second); total() < items && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			<-done
			largest := 0
			for _, call := range ch.pushed() {
				largest = max(largest, len(call))
			}
			if total() != items || largest != c.want {
				t.Fatalf("pushed %d items, the largest call %d; want %d items in calls of at most %d (and one of %d)",
					total(), largest, items, c.want, c.want)
			}
		})
	}
}

// pacer is a recorder that is a connectors.PushPacer (chunks of 4 below
// 50 items), and notes, at each call, how many SKUs the outbox already
// records as accepted.
type pacer struct {
	recorder
	ob       *outbox.Outbox
	skus     []string
	accepted []int // per call
}

func (p *pacer) PushChunks() (int, int) { return 4, 50 }

func (p *pacer) PushQuantities(ctx context.Context, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	n := 0
	for _, sku := range p.skus {
		if _, ok, _ := p.ob.Accepted(ctx, sku); ok {
			n++
		}
	}
	p.mu.Lock()
	p.accepted = append(p.accepted, n)
	p.mu.Unlock()
	return p.recorder.PushQuantities(ctx, ups)
}

// TestPacedPushGoesInRecordedChunks: a PushPacer's batch below its
// threshold goes in chunks, each recorded in the outbox before the next is
// sent (so what the channel took first counts at once); a batch at the
// threshold goes whole.
func TestPacedPushGoesInRecordedChunks(t *testing.T) {
	for _, c := range []struct {
		items   int
		largest int
		calls   int
	}{
		{10, 4, 3},  // 4 + 4 + 2
		{60, 60, 1}, // at or above the threshold: one bulk call
	} {
		t.Run(fmt.Sprintf("items=%d", c.items), func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ob := outbox.New(rdb, prefix, "amazon")
			ch := &pacer{ob: ob}
			p := New(Options{Channel: "amazon", Conn: ch, Outbox: ob, Leases: lease.NewManager(rdb, prefix, "test")})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wants := make([]outbox.Want, c.items)
			for i := range wants {
				wants[i] = outbox.Want{SKU: fmt.Sprintf("SKU-%03d", i), Quantity: int64(i + 1), Cause: time.Now().Add(-time.Minute)}
				ch.skus = append(ch.skus, wants[i].SKU)
			}
			if _, err := ob.Enqueue(ctx, wants); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			total := func() (n int) {
				for _, call := range ch.pushed() {
					n += len(call)
				}
				return n
			}
			for deadline := time.Now().Add(30 * time.Second); total() < c.items && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond) // a hang guard, not a timing assertion
			}
			cancel()
			<-done
			calls := ch.pushed()
			largest, sent := 0, 0
			for i, call := range calls {
				largest = max(largest, len(call))
				ch.mu.Lock()
				if ch.accepted[i] != sent {
					t.Errorf("call %d: %d SKUs recorded as accepted before it, want the %d sent before", i, ch.accepted[i], sent)
				}
				ch.mu.Unlock()
				sent += len(call)
			}
			if sent != c.items || largest != c.largest || len(calls) != c.calls {
				t.Fatalf("%d items in %d calls, the largest %d; want %d in %d, the largest %d", sent, len(calls), largest, c.items, c.calls, c.largest)
			}
		})
	}
}
