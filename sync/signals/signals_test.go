package signals

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/downstream"
)

// crashing publishes, then fails before the sweeper can remove what it
// moved: a crash between the two.
type crashing struct {
	Sink
	after int
}

func (c *crashing) PublishSignal(ctx context.Context, ev inventory.SignalEvent) (bool, error) {
	ok, err := c.Sink.PublishSignal(ctx, ev)
	c.after--
	if c.after <= 0 {
		return ok, errors.New("killed")
	}
	return ok, err
}

func streamEvents(t *testing.T, rdb redis.UniversalClient, key string) []inventory.SignalEvent {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []inventory.SignalEvent
	for _, m := range msgs {
		if m.Values["kind"] != "signal" {
			continue
		}
		var ev inventory.SignalEvent
		if err := json.Unmarshal([]byte(m.Values["event"].(string)), &ev); err != nil {
			t.Fatal(err)
		}
		if m.Values["delivery_id"] != ev.ID || ev.ID == "" {
			t.Fatalf("delivery id %v, event id %q", m.Values["delivery_id"], ev.ID)
		}
		out = append(out, ev)
	}
	return out
}

// TestSweeperSurvivesACrash: events the ledger decided reach the stream
// once each, in order, although the first sweeper dies after publishing
// and before removing them; the next one moves them again and the
// publisher skips what it already published.
func TestSweeperSurvivesACrash(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, NoIntents: true})
	pub := downstream.NewPublisher(rdb, prefix, "downstream", 0, time.Hour, nil)
	if _, err := l.SetCount(ctx, inventory.Count{SKU: "S{1}", Location: "A", Quantity: 10, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetReorder(ctx, inventory.Reorder{SKU: "S{1}", Location: "A", Point: 4}, "test"); err != nil {
		t.Fatal(err)
	}
	for v, q := range []int64{3, 0, 9, 2} { // low, out, back (above the point: re-armed), low
		if _, err := l.SetCount(ctx, inventory.Count{SKU: "S{1}", Location: "A", Quantity: q, Version: int64(v + 2)}); err != nil {
			t.Fatal(err)
		}
	}
	dead := &Sweeper{Source: l, Sink: &crashing{Sink: pub, after: 3}, Logger: zerolog.Nop()}
	if _, err := dead.Sweep(ctx); err == nil {
		t.Fatal("the crashing sweeper did not fail")
	}
	reg := prometheus.NewRegistry()
	next := &Sweeper{Source: l, Sink: pub, Logger: zerolog.Nop()}
	next.Register(reg)
	n, err := next.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the second sweeper published %d, want 1 (the rest were published before the crash)", n)
	}
	got := streamEvents(t, rdb, pub.Stream())
	want := []string{inventory.SignalLow, inventory.SignalOut, inventory.SignalBack, inventory.SignalLow}
	if len(got) != len(want) {
		t.Fatalf("stream holds %d events %+v, want %v", len(got), got, want)
	}
	for i, ev := range got {
		if ev.Type != want[i] || ev.SKU != "S{1}" {
			t.Errorf("event %d: %+v, want %s", i, ev, want[i])
		}
	}
	if got[1].Available != 0 || got[2].Available != 9 || got[3].ID != "S{1}:4" {
		t.Errorf("figures or ids: %+v", got)
	}
	if left, _ := l.PendingSignals(ctx, "S{1}", 10); len(left) != 0 {
		t.Errorf("still pending: %+v", left)
	}
	if c := testutil.ToFloat64(next.m.published.WithLabelValues(inventory.SignalLow)); c != 1 {
		t.Errorf("published stock.low counted %v", c)
	}
	// Nothing pending: a sweep publishes nothing.
	if n, err := next.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("idle sweep: %d %v", n, err)
	}
	// The gauges count the SKU by its state: low (at 2 with a point of 4).
	if _, err := l.SetCount(ctx, inventory.Count{SKU: "OTHER", Location: "A", Quantity: 0, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetReorder(ctx, inventory.Reorder{SKU: "OTHER", Location: "A", Point: 1}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := next.Sweep(ctx); err != nil { // the gauges count what the sweeper moved
		t.Fatal(err)
	}
	if err := next.Count(ctx); err != nil {
		t.Fatal(err)
	}
	if b, o := testutil.ToFloat64(next.m.below), testutil.ToFloat64(next.m.out); b != 2 || o != 1 {
		t.Errorf("below %v out %v, want 2 and 1", b, o)
	}
}

// scanCounter counts the SCAN commands a client sends.
type scanCounter struct{ n int }

func (c *scanCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *scanCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "scan" {
			c.n++
		}
		return next(ctx, cmd)
	}
}
func (c *scanCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestSweeperReadsTheIndex: sweeping and counting send no SCAN (the ledger
// marks the SKUs whose runs appended events); events whose mark was lost
// (a crash between the run and its mark) are found by the one scan of
// RecoverSignals; a point removed from a low SKU takes it off the gauges.
func TestSweeperReadsTheIndex(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	scans := &scanCounter{}
	rdb.AddHook(scans)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, NoIntents: true})
	pub := downstream.NewPublisher(rdb, prefix, "downstream", 0, time.Hour, nil)
	s := &Sweeper{Source: l, Sink: pub, Logger: zerolog.Nop()}
	s.Register(prometheus.NewRegistry())
	set := func(sku string, q, v int64) {
		t.Helper()
		if _, err := l.SetCount(ctx, inventory.Count{SKU: sku, Location: "A", Quantity: q, Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	for _, sku := range []string{"P", "Q"} {
		set(sku, 10, 1)
		if _, err := l.SetReorder(ctx, inventory.Reorder{SKU: sku, Location: "A", Point: 4}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	set("P", 2, 2) // stock.low
	set("Q", 0, 2) // stock.low, stock.out
	if n, err := s.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("sweep published %d (%v), want 3", n, err)
	}
	if err := s.Count(ctx); err != nil {
		t.Fatal(err)
	}
	if b, o := testutil.ToFloat64(s.m.below), testutil.ToFloat64(s.m.out); b != 2 || o != 1 {
		t.Errorf("below %v out %v, want 2 and 1", b, o)
	}
	if scans.n != 0 {
		t.Errorf("sweeping and counting sent %d SCANs", scans.n)
	}

	// A lost mark: Q's stock.back is appended, then the index is lost.
	set("Q", 9, 3)
	if err := rdb.Del(ctx, prefix+"{signals}:pending").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep without the mark published %d (%v)", n, err)
	}
	if n, err := l.RecoverSignals(ctx); err != nil || n != 1 {
		t.Fatalf("recovery marked %d (%v), want Q", n, err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after recovery published %d (%v), want Q's stock.back", n, err)
	}
	// P's point removed while low: off the gauges.
	if _, err := l.RemoveReorder(ctx, "P", "A", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Count(ctx); err != nil {
		t.Fatal(err)
	}
	if b, o := testutil.ToFloat64(s.m.below), testutil.ToFloat64(s.m.out); b != 0 || o != 0 {
		t.Errorf("after Q came back and P lost its point: below %v out %v, want 0 and 0", b, o)
	}
	got := streamEvents(t, rdb, pub.Stream())
	if len(got) != 4 || got[3].Type != inventory.SignalBack || got[3].SKU != "Q" {
		t.Errorf("stream: %+v", got)
	}
}

// TestSweeperRunsDueReevaluation: a change of the default reorder points
// is evaluated by the running sweeper once due, and the crossing it causes
// reaches the stream once and the gauges.
func TestSweeperRunsDueReevaluation(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	var ms atomic.Int64
	ms.Store(time.Now().UnixMilli())
	now := func() time.Time { return time.UnixMilli(ms.Load()) }
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, NoIntents: true, Now: now})
	pub := downstream.NewPublisher(rdb, prefix, "downstream", 0, time.Hour, nil)
	if _, err := l.SetCount(ctx, inventory.Count{SKU: "R", Location: "A", Quantity: 8, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetReorderDefault(ctx, inventory.ReorderDefault{Location: "A", Point: 10}, "test"); err != nil {
		t.Fatal(err)
	}
	ms.Add(l.ReorderDefaultsSettle().Milliseconds()) // the change is due
	s := &Sweeper{Source: l, Sink: pub, Every: 10 * time.Millisecond, CountEvery: 10 * time.Millisecond, Logger: zerolog.Nop()}
	s.Register(prometheus.NewRegistry())
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(streamEvents(t, rdb, pub.Stream())) == 0 || testutil.ToFloat64(s.m.below) != 1 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("the sweeper never published the re-evaluation's event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs := streamEvents(t, rdb, pub.Stream())
	if len(evs) != 1 || evs[0].Type != inventory.SignalLow || evs[0].ReorderPoint != 10 || evs[0].Available != 8 {
		t.Fatalf("events %+v, want one stock.low at point 10", evs)
	}
	if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || ran {
		t.Fatalf("the re-evaluation is still pending: %v %v", ran, err)
	}
}

// TestSweeperEvaluatesWhatAStaleReplicaLeft: a replica whose copy of the
// default reorder points is older than the one a SKU was settled with
// sells it out; its run moves no state and leaves the SKU marked. The next
// sweep evaluates it with the defaults read then and moves its crossing to
// the stream, once.
func TestSweeperEvaluatesWhatAStaleReplicaLeft(t *testing.T) {
	ctx := context.Background()
	rdb, l, stale, pub := staleReplica(t, "S")
	if _, err := stale.SetCount(ctx, inventory.Count{SKU: "S", Location: "A", Quantity: 0, Version: 2}); err != nil {
		t.Fatal(err)
	}
	s := &Sweeper{Source: l, Sink: pub, Logger: zerolog.Nop()}
	s.Register(prometheus.NewRegistry())
	for i := 0; i < 3; i++ {
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evs := streamEvents(t, rdb, pub.Stream())
	if len(evs) != 2 || evs[0].Type != inventory.SignalLow || evs[1].Type != inventory.SignalOut || evs[0].ReorderPoint != 3 {
		t.Fatalf("events %+v, want stock.low at point 3 and stock.out", evs)
	}
	if marks, err := l.SignalMarks(ctx, 10); err != nil || len(marks) != 0 {
		t.Fatalf("marks left: %+v %v", marks, err)
	}
}

// failingEval is a Source whose EvaluateMarked fails while fail is set
// (the default reorder points unreadable).
type failingEval struct {
	*inventory.Ledger
	fail atomic.Bool
}

func (f *failingEval) EvaluateMarked(ctx context.Context, skus []string) error {
	if f.fail.Load() {
		return errors.New("test: defaults unreadable")
	}
	return f.Ledger.EvaluateMarked(ctx, skus)
}

// TestSweeperKeepsMarksWhenEvaluationFails: while the SKUs left by a stale
// replica cannot be evaluated, the other SKUs' events still move, and the
// marks stay, so the crossing is published once the evaluation works.
func TestSweeperKeepsMarksWhenEvaluationFails(t *testing.T) {
	ctx := context.Background()
	rdb, l, stale, pub := staleReplica(t, "S", "P")
	if _, err := stale.SetCount(ctx, inventory.Count{SKU: "S", Location: "A", Quantity: 0, Version: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetCount(ctx, inventory.Count{SKU: "P", Location: "A", Quantity: 1, Version: 2}); err != nil {
		t.Fatal(err)
	}
	src := &failingEval{Ledger: l}
	src.fail.Store(true)
	s := &Sweeper{Source: src, Sink: pub, Logger: zerolog.Nop()}
	if _, err := s.Sweep(ctx); err == nil {
		t.Fatal("sweep with a failed evaluation reported no error")
	}
	evs := streamEvents(t, rdb, pub.Stream())
	if len(evs) != 1 || evs[0].SKU != "P" || evs[0].Type != inventory.SignalLow {
		t.Fatalf("events %+v, want P's stock.low only", evs)
	}
	src.fail.Store(false)
	for i := 0; i < 2; i++ {
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evs = streamEvents(t, rdb, pub.Stream())
	if len(evs) != 3 || evs[1].SKU != "S" || evs[1].Type != inventory.SignalLow || evs[2].Type != inventory.SignalOut {
		t.Fatalf("events %+v, want P's stock.low, then S's stock.low and stock.out", evs)
	}
}

// staleReplica is a ledger l and a replica stale of it whose copy of the
// default reorder points is older (point 2 at location A, l's 3), over
// skus counted 10 at A, after the re-evaluation of l's change ran; pub is
// a downstream publisher for a Sweeper.
func staleReplica(t *testing.T, skus ...string) (*redis.Client, *inventory.Ledger, *inventory.Ledger, *downstream.Publisher) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	var ms atomic.Int64
	ms.Store(time.Now().UnixMilli())
	now := func() time.Time { return time.UnixMilli(ms.Load()) }
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, NoIntents: true, Now: now})
	stale := inventory.New(rdb, inventory.Options{Prefix: prefix, NoIntents: true, Now: now, ReorderDefaultsRefresh: time.Hour})
	pub := downstream.NewPublisher(rdb, prefix, "downstream", 0, time.Hour, nil)
	for _, sku := range skus {
		if _, err := l.SetCount(ctx, inventory.Count{SKU: sku, Location: "A", Quantity: 10, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.SetReorderDefault(ctx, inventory.ReorderDefault{Location: "A", Point: 2}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := stale.RefreshReorderDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetReorderDefault(ctx, inventory.ReorderDefault{Location: "A", Point: 3}, "test"); err != nil {
		t.Fatal(err)
	}
	ms.Add(l.ReorderDefaultsSettle().Milliseconds())
	if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || !ran {
		t.Fatalf("pass: %v %v", ran, err)
	}
	return rdb, l, stale, pub
}
