package push

import (
	"context"
	"fmt"
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
