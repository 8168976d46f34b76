package lease

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
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

// TestRestartTakesOverItsOwnLease: a process that restarts under the same
// instance takes over the leases its dead predecessor held at once; a
// live process's lease, another instance's, and its own running job's
// are never taken.
func TestRestartTakesOverItsOwnLease(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	running := map[int]bool{100: true, 200: true}
	mgr := func(holder string) *Manager {
		m := NewManager(rdb, prefix, holder)
		m.alive = func(pid int) bool { return running[pid] }
		return m
	}
	cases := []struct {
		name      string
		before    string // the holder that took the lease first
		dies      bool   // its process is gone (not running any more)
		after     string // the holder that asks next
		takesOver bool
	}{
		{"restart with a new pid after kill -9", "host-a:100", true, "host-a:200", true},
		{"another live process on the same host", "host-a:100", false, "host-a:200", false},
		{"a container restarted as the same pid", "host-a:1", false, "host-a:1", true},
		{"another instance", "host-a:100", true, "host-b:200", false},
		{"holders without a pid", "a", true, "a", false},
	}
	for i, c := range cases {
		name := fmt.Sprintf("job-%d", i)
		first := mgr(c.before)
		if _, err := first.Acquire(ctx, name, time.Minute); err != nil {
			t.Fatalf("%s: first acquire: %v", c.name, err)
		}
		if c.dies {
			_, pid := splitHolder(c.before)
			delete(running, pid)
		}
		second := mgr(c.after)
		l, err := second.Acquire(ctx, name, time.Minute)
		if c.takesOver {
			if err != nil {
				t.Fatalf("%s: %v, want the lease taken over", c.name, err)
			}
			if h, _ := second.HolderOf(ctx, name); h != c.after {
				t.Fatalf("%s: holder %q after takeover", c.name, h)
			}
			if err := l.Renew(ctx); err != nil {
				t.Fatalf("%s: renew after takeover: %v", c.name, err)
			}
		} else if !errors.Is(err, ErrHeld) {
			t.Fatalf("%s: %v, want ErrHeld", c.name, err)
		}
		running[100], running[200] = true, true
	}

	// A job of this very process that still runs is never taken over by
	// the same process (a scheduled job never overlaps itself).
	self := mgr("host-c:300")
	running[300] = true
	held, err := self.Acquire(ctx, "own", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := self.Acquire(ctx, "own", time.Minute); !errors.Is(err, ErrHeld) {
		t.Fatalf("second acquire by the holder itself: %v, want ErrHeld", err)
	}
	if err := held.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := self.Acquire(ctx, "own", time.Minute); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
}

// TestLeaseValueFences: the old holder's value no longer matches after a
// takeover, so a write fenced by it can tell.
func TestLeaseValueFences(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old := NewManager(rdb, prefix, "h:10")
	old.alive = func(int) bool { return false }
	lo, err := old.AcquireKey(ctx, prefix+"{x}:lease", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	neu := NewManager(rdb, prefix, "h:11")
	neu.alive = func(int) bool { return false }
	ln, err := neu.AcquireKey(ctx, prefix+"{x}:lease", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if lo.Value() == ln.Value() {
		t.Fatal("two acquisitions share a value")
	}
	if v, _ := rdb.Get(ctx, lo.Key()).Result(); v != ln.Value() {
		t.Fatalf("lease holds %q, want the new holder's value", v)
	}
	if err := lo.Renew(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("old holder renews: %v, want ErrHeld", err)
	}
}

// TestClaimPeriodOncePerPeriodAcrossManagers: a period claimed by one
// replica is refused to every other (and to itself) until it expires.
func TestClaimPeriodOncePerPeriodAcrossManagers(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a:1"), NewManager(rdb, prefix, "b:1")
	tests := []struct {
		name string
		m    *Manager
		job  string
		want bool
	}{
		{"first claim", a, "poll:shop", true},
		{"another replica in the same period", b, "poll:shop", false},
		{"the claimer again", a, "poll:shop", false},
		{"another job", b, "reconcile:shop", true},
	}
	for _, tt := range tests {
		got, err := tt.m.ClaimPeriod(ctx, tt.job, time.Minute)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v (%v), want %v", tt.name, got, err, tt.want)
		}
	}
	if ttl := rdb.PTTL(ctx, prefix+"lease:period:poll:shop").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("claim expires in %v, want within a minute", ttl)
	}
	rdb.Del(ctx, prefix+"lease:period:poll:shop") // as if the period ended
	if ok, err := b.ClaimPeriod(ctx, "poll:shop", time.Minute); err != nil || !ok {
		t.Fatalf("claim of the next period: %v (%v)", ok, err)
	}
}

// TestShortLeaseGoesToAnotherInstanceOnlyAfterExpiry: a short push-style
// lease whose holder stops renewing (a frozen or killed replica of
// another instance) is taken by another replica once it expires, not
// before; then the old holder can neither renew nor release it, and its
// value no longer matches the key (the fence its writes check).
func TestShortLeaseGoesToAnotherInstanceOnlyAfterExpiry(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old, neu := NewManager(rdb, prefix, "replica-1:10"), NewManager(rdb, prefix, "replica-2:20")
	const ttl = 300 * time.Millisecond
	lo, err := old.AcquireKey(ctx, prefix+"{c}:lease", ttl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := neu.AcquireKey(ctx, prefix+"{c}:lease", ttl); !errors.Is(err, ErrHeld) {
		t.Fatalf("another instance took a live lease: %v", err)
	}
	var ln *Lease
	for deadline := time.Now().Add(10 * time.Second); ln == nil; {
		if ln, err = neu.AcquireKey(ctx, prefix+"{c}:lease", ttl); err != nil && !errors.Is(err, ErrHeld) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired lease was never taken")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := lo.Renew(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("the old holder renewed: %v, want ErrHeld", err)
	}
	if err := lo.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, ln.Key()).Val(); v != ln.Value() || v == lo.Value() {
		t.Fatalf("lease holds %q, want the new holder's value %q", v, ln.Value())
	}
}

// TestHeldSaysWhenTheLeaseExpires: a refused Acquire says how long the
// holder's lease has left, so a waiter tries again at its expiry
// (RetryAfter), never later than the bound it gives, and a held lease with
// no expiry or another error leaves the bound as it is.
func TestHeldSaysWhenTheLeaseExpires(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a:1"), NewManager(rdb, prefix, "b:2")
	if _, err := a.Acquire(ctx, "push", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := b.Acquire(ctx, "push", 3*time.Second)
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeld) {
		t.Fatalf("got %v, want a HeldError", err)
	}
	if he.Remaining <= 0 || he.Remaining > 3*time.Second {
		t.Fatalf("remaining %v, want within the 3s TTL", he.Remaining)
	}
	tests := []struct {
		name string
		err  error
		most time.Duration
		want time.Duration
	}{
		{"expires before the bound", &HeldError{Remaining: 400 * time.Millisecond}, time.Second, 420 * time.Millisecond},
		{"expires after the bound", &HeldError{Remaining: 2 * time.Second}, time.Second, time.Second},
		{"remaining unknown", &HeldError{}, time.Second, time.Second},
		{"another error", errors.New("redis down"), time.Second, time.Second},
		{"as read", err, 5 * time.Second, he.Remaining + retrySlack},
	}
	for _, tc := range tests {
		if got := RetryAfter(tc.err, tc.most); got != tc.want {
			t.Errorf("%s: RetryAfter = %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := rdb.Set(ctx, prefix+"lease:forever", "x:9/"+fmt.Sprintf("%024d", 0), 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "forever", time.Second); !errors.As(err, &he) || he.Remaining != 0 {
		t.Fatalf("a lease without expiry: %v (%+v)", err, he)
	}
}

// TestHoldKeysHoldsAllOrNone: HoldKeys sets every key to the one lease
// value (the fences a writer checks in other hash tags), renews them all
// and releases them all; when a key is held by someone else, the lease is
// given back and the job does not run; losing any key cancels the job.
func TestHoldKeysHoldsAllOrNone(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewManager(rdb, prefix, "a"), NewManager(rdb, prefix, "b")
	keys := []string{prefix + "{x}:lease", prefix + "{y}:fence", prefix + "{z}:fence"}
	if err := rdb.Set(ctx, keys[2], "other/0123456789abcdef01234567", 50*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	ran := false
	err := a.HoldKeys(ctx, keys, time.Minute, func(context.Context, *Lease) error { ran = true; return nil })
	if !errors.Is(err, ErrHeld) || ran {
		t.Fatalf("with a key held elsewhere: %v, ran %v; want ErrHeld and no run", err, ran)
	}
	if n, _ := rdb.Exists(ctx, keys[0], keys[1]).Result(); n != 0 {
		t.Fatalf("%d keys left set after giving up", n)
	}
	time.Sleep(100 * time.Millisecond) // the other holder's key expires
	lost := errors.New("unset")
	err = a.HoldKeys(ctx, keys, 300*time.Millisecond, func(ctx context.Context, l *Lease) error {
		for _, k := range keys {
			if v, _ := rdb.Get(ctx, k).Result(); v != l.Value() {
				return fmt.Errorf("key %s holds %q, want %q", k, v, l.Value())
			}
		}
		if err := b.HoldKeys(ctx, keys[1:], time.Minute, func(context.Context, *Lease) error { return nil }); !errors.Is(err, ErrHeld) {
			return fmt.Errorf("another manager took a held fence: %v", err)
		}
		time.Sleep(400 * time.Millisecond) // renewed meanwhile (ttl 300 ms)
		rdb.Set(ctx, keys[2], "thief/0123456789abcdef01234567", time.Minute)
		select {
		case <-ctx.Done():
			lost = context.Cause(ctx)
		case <-time.After(10 * time.Second): // a hang guard
		}
		return nil
	})
	if err != nil || lost == nil || !errors.Is(lost, ErrHeld) {
		t.Fatalf("hold: %v; the job's end: %v, want cancelled with ErrHeld after losing a fence", err, lost)
	}
	if n, _ := rdb.Exists(ctx, keys[0], keys[1]).Result(); n != 0 {
		t.Fatalf("%d of our keys left set after the hold", n)
	}
	if v, _ := rdb.Get(ctx, keys[2]).Result(); v != "thief/0123456789abcdef01234567" {
		t.Fatalf("released another holder's key: %q", v)
	}
}
