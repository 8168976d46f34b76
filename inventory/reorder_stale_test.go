package inventory

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// failHGetAll fails every HGETALL while on is set (the defaults' read; no
// script is affected).
type failHGetAll struct{ on atomic.Bool }

func (f *failHGetAll) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failHGetAll) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.on.Load() && strings.EqualFold(cmd.Name(), "hgetall") {
			err := errors.New("test: HGETALL refused")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (f *failHGetAll) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// failingLedger is a ledger on its own client to e's store whose HGETALLs
// fail while the returned switch is on.
func failingLedger(t *testing.T, e *testEnv, opts Options) (*Ledger, *failHGetAll) {
	t.Helper()
	c, ok := e.rdb.(*redis.Client)
	if !ok {
		t.Fatalf("backend client %T", e.rdb)
	}
	o := c.Options()
	rdb := redis.NewClient(&redis.Options{Addr: o.Addr, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout})
	t.Cleanup(func() { _ = rdb.Close() })
	f := &failHGetAll{}
	rdb.AddHook(f)
	opts.Prefix, opts.Now = e.prefix, e.clock.Now
	return New(rdb, opts), f
}

// sweepMarked does what a sweep does before moving events: evaluates the
// marked SKUs a run left to the sweeper.
func sweepMarked(t *testing.T, l *Ledger) {
	t.Helper()
	marks, err := l.SignalMarks(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	skus := make([]string, len(marks))
	for i, m := range marks {
		skus[i] = m.SKU
	}
	if err := l.EvaluateMarked(context.Background(), skus); err != nil {
		t.Fatal(err)
	}
}

// marked says whether sku is in the pending signals index.
func marked(t *testing.T, l *Ledger, sku string) bool {
	t.Helper()
	marks, err := l.SignalMarks(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range marks {
		if m.SKU == sku {
			return true
		}
	}
	return false
}

func clearMarks(t *testing.T, l *Ledger) {
	t.Helper()
	pending, _, _, _, _ := l.signalIndexKeys()
	if err := l.rdb.Del(context.Background(), pending).Err(); err != nil {
		t.Fatal(err)
	}
}

// zeroAt gives sku figures of zero at loc (a count of 0).
func zeroAt(t *testing.T, l *Ledger, sku, loc string) {
	t.Helper()
	if _, err := l.SetCount(context.Background(), Count{SKU: sku, Location: loc, Quantity: 0, Version: 1}); err != nil {
		t.Fatal(err)
	}
}

func sell(t *testing.T, l *Ledger, sku, id string, q int64) {
	t.Helper()
	if _, err := l.ApplyLines(context.Background(), []LineState{{Channel: "c", OrderID: id, LineID: "1", SKU: sku, Location: "A", Ordered: q, Version: 1}}); err != nil {
		t.Fatal(err)
	}
}

// The reviewer's case: a replica idle past its refresh period waits for a
// fresh copy before its run, so the crossing is evaluated with the
// defaults the pass already settled X with.
func TestReviewIdleReplicaLosesCrossingAfterDefaultsChange(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		a := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: 50 * time.Millisecond})
		b := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: 50 * time.Millisecond})
		receiveKey(t, a, "X", "A", "r", 10)
		setDefault(t, a, "A", 2)            // v1
		receiveKey(t, b, "Y", "A", "r", 1)  // b loads v1
		setDefault(t, a, "A", 3)            // v2
		receiveKey(t, a, "X", "A", "r2", 1) // X evaluated with v2: dv = 2
		e.clock.Advance(a.ReorderDefaultsSettle())
		if ran, _, err := a.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("pass: %v %v", ran, err)
		}
		time.Sleep(200 * time.Millisecond) // b idle past its refresh period
		if _, err := b.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "o", LineID: "1", SKU: "X", Location: "A", Ordered: 11, Version: 1}}); err != nil {
			t.Fatal(err)
		}
		if got := signalTypes(t, a, "X"); len(got) == 0 {
			t.Fatal("X sold out by a replica whose copy was old: no signal at all")
		}
	})
}

// TestStaleReplicaLeavesSKUToSweeper: a run whose copy of the defaults is
// older than the SKU's (a replica that has not refreshed yet) moves no
// state, but leaves the SKU marked; the sweeper's evaluation, with the
// defaults read then, emits the crossing once. So for a SKU with a default
// and for one with only its own point, and for a reorder point set through
// the stale replica.
func TestStaleReplicaLeavesSKUToSweeper(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		a := e.ledger(Options{NoIntents: true})
		// Its copy is never too old in this test: it is never refreshed.
		stale := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: time.Hour})
		receiveKey(t, a, "D", "A", "r", 10)   // the default's
		receiveKey(t, a, "OWN", "A", "r", 10) // its own point at A only
		zeroAt(t, a, "OWN", "B")
		receiveKey(t, a, "NEW", "A", "r", 10) // its point set by the stale replica
		zeroAt(t, a, "NEW", "B")
		if _, err := a.SetReorder(ctx, Reorder{SKU: "OWN", Location: "A", Point: 2}, "test"); err != nil {
			t.Fatal(err)
		}
		setDefault(t, a, "A", 2) // v1
		if _, err := stale.RefreshReorderDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		setDefault(t, a, "A", 3) // v2
		setDefault(t, a, "B", 1) // v3: OWN's and NEW's B
		e.clock.Advance(a.ReorderDefaultsSettle())
		if ran, _, err := a.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("pass: %v %v", ran, err)
		}
		clearMarks(t, a)

		sell(t, stale, "D", "o1", 10)  // out: low and out
		sell(t, stale, "OWN", "o1", 7) // 3: at its point 2 + B's 1
		if _, err := stale.SetReorder(ctx, Reorder{SKU: "NEW", Location: "A", Point: 12}, "test"); err != nil {
			t.Fatal(err)
		}
		for _, sku := range []string{"D", "OWN", "NEW"} {
			if got := signalTypes(t, a, sku); len(got) != 0 {
				t.Fatalf("%s: a run with defaults v1 moved a state settled with v3: %v", sku, got)
			}
			if !marked(t, a, sku) {
				t.Fatalf("%s: not marked for the sweeper", sku)
			}
		}
		sweepMarked(t, a)
		want := map[string][]string{"D": {SignalLow, SignalOut}, "OWN": {SignalLow}, "NEW": {SignalLow}}
		for sku, w := range want {
			if got := signalTypes(t, a, sku); !reflect.DeepEqual(got, w) {
				t.Errorf("%s after the sweep: %v, want %v", sku, got, w)
			}
		}
		// Once: another sweep (another replica's), and a run with current
		// defaults, find them settled.
		sweepMarked(t, a)
		sweepMarked(t, e.ledger(Options{NoIntents: true})) // another replica
		sell(t, a, "OWN", "o1", 7)                         // the same line again: evaluated, no change
		for sku, w := range want {
			if got := signalTypes(t, a, sku); !reflect.DeepEqual(got, w) {
				t.Errorf("%s after more sweeps: %v, want %v", sku, got, w)
			}
		}

		// A mark lost (a crash between the run and its mark) is found by
		// the sweeper's start-up recovery, also when the SKU has no pending
		// events (the sweeper moved them).
		if err := a.AckSignals(ctx, "D", 1<<40); err != nil {
			t.Fatal(err)
		}
		receiveKey(t, stale, "D", "A", "r2", 5) // back above zero: stock.back, left to the sweeper
		clearMarks(t, a)
		if marked(t, a, "D") {
			t.Fatal("mark not cleared")
		}
		if _, err := a.RecoverSignals(ctx); err != nil {
			t.Fatal(err)
		}
		if !marked(t, a, "D") {
			t.Fatal("recovery did not mark the SKU left to the sweeper")
		}
		sweepMarked(t, a)
		if got, w := signalTypes(t, a, "D"), []string{SignalBack}; !reflect.DeepEqual(got, w) {
			t.Errorf("D after recovery and a sweep: %v, want %v", got, w)
		}
	})
}

// TestFailedDefaultsReadLeavesSKUToSweeper: a replica whose copy is too old
// and whose read of the defaults fails (or whose first read fails) runs
// with none it trusts: it moves no state and leaves each SKU to the
// sweeper, which emits the crossing once. Without that, the first read's
// failure was an empty copy (version 0) that skipped every SKU with a
// defaults version, and a failed refresh kept the old copy.
func TestFailedDefaultsReadLeavesSKUToSweeper(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		a := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: 50 * time.Millisecond})
		b, fail := failingLedger(t, e, Options{NoIntents: true, ReorderDefaultsRefresh: 50 * time.Millisecond})
		receiveKey(t, a, "X", "A", "r", 10)
		receiveKey(t, a, "Z", "A", "r", 10)
		setDefault(t, a, "A", 2)           // v1
		receiveKey(t, b, "Y", "A", "r", 1) // b loads v1
		setDefault(t, a, "A", 3)           // v2
		e.clock.Advance(a.ReorderDefaultsSettle())
		if ran, _, err := a.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("pass: %v %v", ran, err)
		}
		clearMarks(t, a)

		fail.on.Store(true)
		time.Sleep(200 * time.Millisecond) // b's copy too old; its read fails
		sell(t, b, "X", "o", 11)
		// A new SKU: no defaults version of its own yet. At 3 it is above
		// v1's point (2) and at v2's (3).
		receiveKey(t, b, "W", "A", "r", 3)
		for _, sku := range []string{"X", "W"} {
			if got := signalTypes(t, a, sku); len(got) != 0 {
				t.Fatalf("%s: a run without a copy it can trust moved the state: %v", sku, got)
			}
			if !marked(t, a, sku) {
				t.Fatalf("%s not marked for the sweeper", sku)
			}
		}
		sweepMarked(t, a)
		want := map[string][]string{"X": {SignalLow, SignalOut}, "W": {SignalLow}}
		for sku, w := range want {
			if got := signalTypes(t, a, sku); !reflect.DeepEqual(got, w) {
				t.Fatalf("%s after the sweep: %v, want %v", sku, got, w)
			}
		}
		sweepMarked(t, a)
		for sku, w := range want {
			if got := signalTypes(t, a, sku); !reflect.DeepEqual(got, w) {
				t.Fatalf("%s after a second sweep: %v, want %v", sku, got, w)
			}
		}

		// A first read that fails: no empty copy.
		c, fail2 := failingLedger(t, e, Options{NoIntents: true, ReorderDefaultsRefresh: 50 * time.Millisecond})
		fail2.on.Store(true)
		sell(t, c, "Z", "o", 8)            // 2: at the default 3
		receiveKey(t, c, "V", "A", "r", 2) // a new SKU, at the default
		for _, sku := range []string{"Z", "V"} {
			if got := signalTypes(t, a, sku); len(got) != 0 {
				t.Fatalf("%s: a run without a copy moved the state: %v", sku, got)
			}
		}
		sweepMarked(t, a)
		for _, sku := range []string{"Z", "V"} {
			if got, w := signalTypes(t, a, sku), []string{SignalLow}; !reflect.DeepEqual(got, w) {
				t.Fatalf("%s after the sweep: %v, want %v", sku, got, w)
			}
		}
		// Once the read works again the copy is used.
		fail2.on.Store(false)
		time.Sleep(60 * time.Millisecond) // past the wait after a failed read
		clearMarks(t, a)
		receiveKey(t, c, "Z", "A", "r2", 1) // 3: still at the point
		if marked(t, a, "Z") {
			t.Fatal("a run with a fresh copy left the SKU to the sweeper")
		}
	})
}
