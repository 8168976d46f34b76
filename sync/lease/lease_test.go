package lease

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/inventory/redistest"
)

func TestAcquireIsExclusiveAndReleasable(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a"), NewManager(rdb, prefix, "b")
	la, err := a.Acquire(ctx, "job", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "job", time.Minute); !errors.Is(err, ErrHeld) {
		t.Fatalf("second acquire: got %v, want ErrHeld", err)
	}
	if h, _ := b.HolderOf(ctx, "job"); h != "a" {
		t.Fatalf("holder = %q, want a", h)
	}
	if err := la.Renew(ctx); err != nil {
		t.Fatalf("renew own lease: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := b.HolderOf(ctx, "job"); h != "" {
		t.Fatalf("holder after release = %q", h)
	}
	if _, err := b.Acquire(ctx, "job", time.Minute); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
}

func TestExpiredLeaseCanNotBeRenewedOrReleasedOverANewHolder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a"), NewManager(rdb, prefix, "b")
	la, err := a.Acquire(ctx, "job", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, prefix+"lease:job") // as if it expired
	lb, err := b.Acquire(ctx, "job", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("renew of a lost lease: %v, want ErrHeld", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.HolderOf(ctx, "job"); h != "b" {
		t.Fatalf("a's release removed b's lease: holder %q", h)
	}
	_ = lb.Release(ctx)
}

func TestHoldRunsOnceAcrossManagersAndCancelsOnLoss(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a"), NewManager(rdb, prefix, "b")
	var running atomic.Int32
	started := make(chan struct{})
	lost := make(chan error, 1)
	go func() {
		lost <- a.Hold(ctx, "job", 150*time.Millisecond, func(ctx context.Context) error {
			running.Add(1)
			close(started)
			<-ctx.Done() // runs until the lease is lost
			return context.Cause(ctx)
		})
	}()
	<-started
	if err := b.Hold(ctx, "job", time.Second, func(context.Context) error { running.Add(1); return nil }); !errors.Is(err, ErrHeld) {
		t.Fatalf("b.Hold while a holds: %v", err)
	}
	// Renewals keep a's lease alive well past its TTL.
	time.Sleep(400 * time.Millisecond)
	if h, _ := b.HolderOf(ctx, "job"); h != "a" {
		t.Fatalf("lease not kept alive by renewal: holder %q", h)
	}
	// Steal it: a's next renewal fails and a's job is cancelled.
	rdb.Set(ctx, prefix+"lease:job", "intruder", time.Minute)
	select {
	case err := <-lost:
		if !errors.Is(err, ErrHeld) {
			t.Fatalf("job ended with %v, want the lease-lost cause", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("job not cancelled after its lease was lost")
	}
	if got := running.Load(); got != 1 {
		t.Fatalf("job ran %d times, want 1", got)
	}
	if v, _ := rdb.Get(ctx, prefix+"lease:job").Result(); v != "intruder" {
		t.Fatalf("release removed the intruder's lease: %q", v)
	}
}
