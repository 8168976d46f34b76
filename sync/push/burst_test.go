package push

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// steps is a go-redis hook that runs a pipeline in steps: the first
// steps[0] commands at once, each further step when release lets it; done
// says that step ran. It forces an enqueue to land in an outbox's
// partitions a few at a time, as a poll from another client can see it.
type steps struct {
	sizes   []int
	release chan struct{}
	done    chan struct{}
}

func (s *steps) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *steps) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (s *steps) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		total := 0
		for _, n := range s.sizes {
			total += n
		}
		if len(cmds) != total || cmds[0].Name() != "evalsha" { // a connection's setup
			return next(ctx, cmds)
		}
		var firstErr error
		for i, n := range s.sizes {
			if i > 0 {
				<-s.release
			}
			if err := next(ctx, cmds[:n]); err != nil && firstErr == nil {
				firstErr = err
			}
			cmds = cmds[n:]
			s.done <- struct{}{}
		}
		return firstErr
	}
}

// landNext lets the hook's next step run and waits for it; false when
// every step ran.
func (s *steps) landNext(left *int) bool {
	if *left == 0 {
		return false
	}
	*left--
	s.release <- struct{}{}
	<-s.done
	return true
}

// stepRecorder is a recorder that, at each call, lets the rest of the
// enqueue land (when the pusher sends what it saw, the rest lands after).
type stepRecorder struct {
	recorder
	land func()
}

func (r *stepRecorder) PushQuantities(ctx context.Context, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	r.land()
	return r.recorder.PushQuantities(ctx, ups)
}

// TestPartlyQueuedBurstIsNotSentShort: one enqueue of a burst writes each
// of the outbox's 12 partitions by a script of its own, and the changes it
// carries arrived long before (their coalescing window is over: the
// sweeper's propagation of 1,000 SKUs). The pusher's poll comes when only
// some partitions hold their part (fewer items than a batch): it looks
// again, a window at a time, while more of that enqueue lands, instead of
// pushing the part it saw, so the burst takes the minimum of calls. The
// interleaving is forced: the enqueue's pipeline runs in steps (a go-redis
// hook on the enqueuer's client), the next step in the pusher's coalescing
// wait (which stands in for the clock) or, when the pusher does not wait,
// the whole rest during its call.
func TestPartlyQueuedBurstIsNotSentShort(t *testing.T) {
	const skus, batch, parts = 400, 100, 12
	for _, c := range []struct {
		name  string
		steps []int // partitions landing at once: first before the pusher runs
	}{
		{"the rest lands in one step", []int{2, 10}},
		{"the rest lands over two looks", []int{1, 1, 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hook := &steps{sizes: c.steps, release: make(chan struct{}), done: make(chan struct{})}
			enq := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
			defer enq.Close()
			// Load the enqueue script (a single call runs no pipeline),
			// so the stepped pipeline's EVALSHAs all run.
			if _, err := outbox.NewPartitioned(enq, prefix, "warm", parts).Enqueue(ctx, []outbox.Want{{SKU: "W", Quantity: 1}}); err != nil {
				t.Fatal(err)
			}
			enq.AddHook(hook)

			cause := time.Now().Add(-2 * time.Hour)
			wants := make([]outbox.Want, skus)
			perPart := map[int]int{}
			var order []int // the partitions in the order the enqueue writes them
			for i := range wants {
				wants[i] = outbox.Want{SKU: fmt.Sprintf("SKU-%04d", i), Quantity: int64(i + 1), Cause: cause}
				p := stream.PartitionOf(wants[i].SKU, parts)
				if perPart[p] == 0 {
					order = append(order, p)
				}
				perPart[p]++
			}
			seen := 0
			for _, n := range c.steps[:len(c.steps)-1] {
				for _, p := range order[:n] {
					seen += perPart[p]
				}
				order = order[n:]
				if seen >= batch {
					t.Fatalf("%d items landed before the last step, want fewer than a batch (%d)", seen, batch)
				}
			}

			queued := make(chan error, 1)
			go func() {
				_, err := outbox.NewPartitioned(enq, prefix, "shop", parts).Enqueue(ctx, wants)
				queued <- err
			}()
			<-hook.done // the first step landed
			left := len(c.steps) - 1
			var mu gosync.Mutex
			ch := &stepRecorder{land: func() {
				mu.Lock()
				defer mu.Unlock()
				for hook.landNext(&left) {
				}
			}}
			ob := outbox.NewPartitioned(rdb, prefix, "shop", parts)
			p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, BatchSize: batch, Window: time.Hour,
				Leases: lease.NewManager(rdb, prefix, "test")})
			looks := 0
			p.wait = func(ctx context.Context, _ time.Duration) error {
				looks++
				mu.Lock()
				defer mu.Unlock()
				hook.landNext(&left)
				return ctx.Err()
			}
			done := make(chan struct{})
			go func() { defer close(done); _ = p.Run(ctx) }()
			total := func() (n int) {
				for _, call := range ch.pushed() {
					n += len(call)
				}
				return n
			}
			for deadline := time.Now().Add(hangGuard); total() < skus && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-done
			if err := <-queued; err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, call := range ch.pushed() {
				sizes = append(sizes, len(call))
			}
			if total() != skus || len(sizes) != skus/batch {
				t.Fatalf("%d items in calls of %v (coalescing waits: %d), want %d in %d calls of %d", total(), sizes, looks, skus, skus/batch, batch)
			}
		})
	}
}

// TestSettlingStopsAtANewerEnqueue: the looks for an enqueue still landing
// stop as soon as a look finds nothing queued before the newest item it
// had: changes queued later (a steady trickle) do not hold a batch that is
// not full for more than the one extra window.
func TestSettlingStopsAtANewerEnqueue(t *testing.T) {
	const parts = 12
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.NewPartitioned(rdb, prefix, "shop", parts)
	cause := time.Now().Add(-2 * time.Hour) // the window is over
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 1, Cause: cause}, {SKU: "B", Quantity: 2, Cause: cause}}); err != nil {
		t.Fatal(err)
	}
	calls, looks := firstCall(rdb, prefix, ob, func(ctx context.Context, look int) {
		// Each look, a change queued after the newest the pusher has.
		time.Sleep(2 * time.Millisecond) // a later millisecond for its due time
		if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: fmt.Sprintf("N%d", look), Quantity: 3, Cause: cause}}); err != nil {
			t.Error(err)
		}
	})
	if len(calls) == 0 || len(calls[0]) != 3 || looks != 1 {
		t.Fatalf("calls %v after %d looks, want A, B and N1 in the first after one look", calls, looks)
	}
}

// TestRetriesAreNotHeldForLanding: a batch of retries only (no change
// not tried yet, so no enqueue of it can still be landing) goes at once
// with outbox partitions too.
func TestRetriesAreNotHeldForLanding(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.NewPartitioned(rdb, prefix, "shop", 12)
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	if items, err := ob.Due(ctx, 10, time.Now()); err != nil || len(items) != 1 {
		t.Fatalf("due %v, %v", items, err)
	}
	// A failed try, due again at once.
	if _, err := ob.Complete(ctx, "", []outbox.Outcome{{SKU: "A", Quantity: 1, RetryAt: time.Now().Add(-time.Second), Reason: "retry"}}); err != nil {
		t.Fatal(err)
	}
	if calls, looks := firstCall(rdb, prefix, ob, nil); len(calls) != 1 || looks != 0 {
		t.Fatalf("calls %v after %d looks, want A pushed without a look", calls, looks)
	}
}

// TestUrgentItemsAreNotHeldForLanding: a batch that is not full and
// holds a drop (to zero, or below what the channel accepted last) goes
// as soon as its own window is over, with outbox partitions too: it is
// not held a window more for an enqueue that may still be landing.
func TestUrgentItemsAreNotHeldForLanding(t *testing.T) {
	for _, c := range []struct {
		name     string
		accepted map[string]int64 // pushed and accepted before
		wants    []outbox.Want
	}{
		{"a drop to zero", nil, []outbox.Want{{SKU: "A", Quantity: 0}}},
		{"a decrease with an increase", map[string]int64{"A": 9}, []outbox.Want{{SKU: "A", Quantity: 4}, {SKU: "B", Quantity: 7}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ob := outbox.NewPartitioned(rdb, prefix, "shop", 12)
			for sku, q := range c.accepted {
				if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: sku, Quantity: q}}); err != nil {
					t.Fatal(err)
				}
				if _, err := ob.Due(ctx, 10, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, err := ob.Complete(ctx, "", []outbox.Outcome{{SKU: sku, Quantity: q, Accepted: true}}); err != nil {
					t.Fatal(err)
				}
			}
			cause := time.Now().Add(-2 * time.Hour) // the window is over
			for i := range c.wants {
				c.wants[i].Cause = cause
			}
			if _, err := ob.Enqueue(ctx, c.wants); err != nil {
				t.Fatal(err)
			}
			if calls, looks := firstCall(rdb, prefix, ob, nil); len(calls) != 1 || len(calls[0]) != len(c.wants) || looks != 0 {
				t.Fatalf("calls %v after %d looks, want %d items in one call without a look", calls, looks, len(c.wants))
			}
		})
	}
}

// TestSettlingIgnoresTheEnqueuersClock: changes queued by a replica whose
// clock is an hour behind carry due times older than anything the pusher
// has; they are not taken for an enqueue still landing (they are not of
// an enqueue the pusher had items of), so such a trickle holds a batch
// that is not full one window, not settleRounds.
func TestSettlingIgnoresTheEnqueuersClock(t *testing.T) {
	const parts = 12
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.NewPartitioned(rdb, prefix, "shop", parts)
	cause := time.Now().Add(-2 * time.Hour) // the window is over
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 1, Cause: cause}, {SKU: "B", Quantity: 2, Cause: cause}}); err != nil {
		t.Fatal(err)
	}
	tags := stream.PartitionTags("outbox:shop", parts)
	calls, looks := firstCall(rdb, prefix, ob, func(ctx context.Context, look int) {
		// Each look, a change from the replica whose clock is behind:
		// queued now, due (by its clock) an hour ago.
		sku := fmt.Sprintf("N%d", look)
		if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: sku, Quantity: 3, Cause: cause}}); err != nil {
			t.Error(err)
		}
		queue := prefix + "{" + tags[stream.PartitionOf(sku, parts)] + "}:normal"
		if n, err := rdb.ZAdd(ctx, queue, redis.Z{Score: float64(time.Now().Add(-time.Hour).UnixMilli()), Member: sku}).Result(); err != nil || n != 0 {
			t.Errorf("rescore %s in %s: %d added, %v", sku, queue, n, err)
		}
	})
	if len(calls) == 0 || len(calls[0]) != 3 || looks != 1 {
		t.Fatalf("calls %v after %d looks, want A, B and N1 in the first after one look", calls, looks)
	}
}

// firstCall runs a pusher of ob (channel "shop", an hour's window) until
// its first call, then stops it; look, when set, runs at each of its
// looks (coalescing waits) with the look's number. It returns the calls
// made and how many looks there were.
func firstCall(rdb *redis.Client, prefix string, ob *outbox.Outbox, look func(ctx context.Context, n int)) ([][]connectors.QuantityUpdate, int) {
	ch := &recorder{}
	p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, Window: time.Hour, Leases: lease.NewManager(rdb, prefix, "test")})
	looks := 0
	p.wait = func(ctx context.Context, _ time.Duration) error {
		looks++
		if look != nil {
			look(ctx, looks)
		}
		return ctx.Err()
	}
	untilFirstCall(p, ch)
	return ch.pushed(), looks
}
