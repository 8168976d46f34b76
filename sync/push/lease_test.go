package push

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// hangGuard bounds waits only a hang could exceed; not a timing assertion.
const hangGuard = 30 * time.Second

// deadPID is the pid of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no `true` to run: %v", err)
	}
	return cmd.Process.Pid
}

// TestRestartTakesThePushLeaseAtOnce: the push lease of a process killed
// with -9 (it never released it, 30 s TTL) is taken over by its restarted
// successor on the same instance at once, not after the TTL. The lease
// TTL is an hour here, so only a takeover can explain a push.
func TestRestartTakesThePushLeaseAtOnce(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.New(rdb, prefix, "shop")
	// The dead predecessor's lease, as kill -9 leaves it.
	dead := fmt.Sprintf("host-x:%d/0123456789abcdef01234567", deadPID(t))
	if err := rdb.Set(ctx, ob.LeaseKey(), dead, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	ch := &recorder{}
	p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, LeaseTTL: time.Hour,
		Leases: lease.NewManager(rdb, prefix, fmt.Sprintf("host-x:%d", os.Getpid()))})
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	deadline := time.Now().Add(hangGuard)
	for len(ch.pushed()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the restarted pusher never took its predecessor's lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	// Another instance's live lease is never taken.
	if err := rdb.Set(context.Background(), ob.LeaseKey(), fmt.Sprintf("host-y:%d/0123456789abcdef01234567", deadPID(t)), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	m := lease.NewManager(rdb, prefix, fmt.Sprintf("host-x:%d", os.Getpid()))
	if _, err := m.AcquireKey(context.Background(), ob.LeaseKey(), time.Hour); err == nil {
		t.Fatal("took another instance's lease")
	}
}

// blocking accepts every push, but only when released; it tells when a
// call is on the wire.
type blocking struct {
	onWire  chan struct{}
	release chan struct{}
}

func (b *blocking) MaxBatch() int { return 10 }

func (b *blocking) PushQuantities(_ context.Context, ups []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	b.onWire <- struct{}{}
	<-b.release
	out := make([]connectors.PushResult, len(ups))
	for i, u := range ups {
		out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

// TestPusherThatLostItsLeaseRecordsNothing: when the lease changes hands
// while a push is on the wire, the old pusher does not record what the
// channel accepted (the new holder pushes it again), and it stops pushing.
// With partitions, the fence of the item's partition changes hands (as
// when a new holder took the lease and then that fence).
func TestPusherThatLostItsLeaseRecordsNothing(t *testing.T) {
	for _, parts := range []int{1, 4} {
		t.Run(fmt.Sprintf("partitions=%d", parts), func(t *testing.T) { testLostLeaseRecordsNothing(t, parts) })
	}
}

func testLostLeaseRecordsNothing(t *testing.T, parts int) {
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.NewPartitioned(rdb, prefix, "shop", parts)
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	ch := &blocking{onWire: make(chan struct{}, 1), release: make(chan struct{})}
	p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, LeaseTTL: time.Hour,
		Leases: lease.NewManager(rdb, prefix, "old")})
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	select {
	case <-ch.onWire:
	case <-time.After(hangGuard):
		t.Fatal("no push")
	}
	// Another pusher takes the lease meanwhile (its holder expired it, or
	// took it over).
	if err := rdb.Set(ctx, ob.FenceKey("A"), "new/0123456789abcdef01234567", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	close(ch.release)
	deadline := time.Now().Add(hangGuard)
	for {
		items, err := ob.Due(ctx, 10, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 1 {
			// Still queued for the holder; give the old pusher time to
			// (wrongly) record before checking.
			time.Sleep(200 * time.Millisecond)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("item not queued")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if q, ok, _ := ob.Accepted(ctx, "A"); ok {
		t.Fatalf("the pusher that lost its lease recorded accepted %d", q)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 1 {
		t.Fatalf("the item left the queue: %+v", items)
	}
	cancel()
	<-done
}

// TestPusherThatLostItsLeaseDropsTheOutboxGauges: the outbox gauges only
// the lease holder updates do not linger, stale, on a replica that lost the
// lease; its lease_held reads 0.
func TestPusherThatLostItsLeaseDropsTheOutboxGauges(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob := outbox.New(rdb, prefix, "shop")
	if _, err := ob.Enqueue(ctx, []outbox.Want{{SKU: "A", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	m.LeaseHeld = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shelfsync_lease_held", Help: "h"}, []string{"lease"})
	ch := &blocking{onWire: make(chan struct{}, 1), release: make(chan struct{})}
	p := New(Options{Channel: "shop", Conn: ch, Outbox: ob, LeaseTTL: time.Hour, Metrics: m,
		Leases: lease.NewManager(rdb, prefix, "old")})
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	select {
	case <-ch.onWire:
	case <-time.After(hangGuard):
		t.Fatal("no push")
	}
	gauges := func() int {
		return testutil.CollectAndCount(m.Backlog) + testutil.CollectAndCount(m.ParkedItems) + testutil.CollectAndCount(m.OldestAge)
	}
	if n := gauges(); n != 3 {
		t.Fatalf("the holder exports %d outbox gauge series, want 3", n)
	}
	if v := testutil.ToFloat64(m.LeaseHeld.WithLabelValues("push:shop")); v != 1 {
		t.Fatalf("lease_held %v while holding", v)
	}
	if err := rdb.Set(ctx, ob.FenceKey("A"), "new/0123456789abcdef01234567", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	close(ch.release)
	deadline := time.Now().Add(hangGuard)
	for gauges() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox gauge series left on the replica that lost the lease", gauges())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v := testutil.ToFloat64(m.LeaseHeld.WithLabelValues("push:shop")); v != 0 {
		t.Fatalf("lease_held %v after losing the lease", v)
	}
	cancel()
	<-done
}
