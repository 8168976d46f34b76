package intake

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

func newIntake(t *testing.T, o Options) (*Intake, *Metrics) {
	rdb, prefix := redistest.New(t)
	o.Prefix = prefix
	if o.Consumer == "" {
		o.Consumer = "test"
	}
	o.Logger = zerolog.Nop()
	o.Metrics = NewMetrics(prometheus.NewRegistry())
	o.Block = 50 * time.Millisecond
	return New(rdb, o), o.Metrics
}

func ev(id, order string) connectors.Event {
	return connectors.Event{Kind: connectors.EventOrderChanged, Channel: "shop", ID: id, OrderID: order}
}

// collector records handled events; fail makes an order id fail.
type collector struct {
	mu   sync.Mutex
	seen []string
	fail map[string]bool
	// refuse makes an order id be refused (never applies).
	refuse map[string]bool
}

func (c *collector) handle(_ context.Context, events []connectors.Event) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(events))
	for i, e := range events {
		c.seen = append(c.seen, e.OrderID)
		if c.fail[e.OrderID] {
			errs[i] = errors.New("boom")
		}
		if c.refuse[e.OrderID] {
			errs[i] = Refuse("order " + e.OrderID + " can never apply")
		}
	}
	return errs
}

func (c *collector) count(order string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if s == order {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPutDeduplicatesDeliveriesByID(t *testing.T) {
	in, m := newIntake(t, Options{})
	ctx := context.Background()
	if err := in.Put(ctx, []connectors.Event{ev("a", "1"), ev("a", "1"), ev("", "2"), ev("", "2")}); err != nil {
		t.Fatal(err)
	}
	if err := in.Put(ctx, []connectors.Event{ev("a", "1"), ev("b", "3")}); err != nil {
		t.Fatal(err)
	}
	n, err := in.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// a once, the two id-less events, b once.
	if n != 4 {
		t.Fatalf("backlog %d, want 4", n)
	}
	if got := testutil.ToFloat64(m.Duplicate.WithLabelValues("shop", "order_changed")); got != 2 {
		t.Fatalf("duplicates counted %v, want 2", got)
	}
}

func TestRunHandlesAcknowledgesAndDeadLettersAfterMaxAttempts(t *testing.T) {
	in, m := newIntake(t, Options{MaxAttempts: 3, ClaimIdle: 250 * time.Millisecond, Workers: 2})
	c := &collector{fail: map[string]bool{"bad": true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, c.handle) }()
	if err := in.Put(ctx, []connectors.Event{ev("1", "good"), ev("2", "bad")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { return testutil.ToFloat64(m.DeadLettered) == 1 })
	cancel()
	<-done
	if c.count("good") != 1 {
		t.Fatalf("good handled %d times, want 1", c.count("good"))
	}
	if c.count("bad") != 3 {
		t.Fatalf("bad handled %d times, want 3 (max attempts)", c.count("bad"))
	}
	bg := context.Background()
	if n, _ := in.Backlog(bg); n != 0 {
		t.Fatalf("backlog %d after handling, want 0", n)
	}
	dl, err := in.DeadLetters(bg, 10)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters %v %v", dl, err)
	}
	if dl[0].Event == nil || dl[0].Event.OrderID != "bad" || dl[0].Reason != "boom" || dl[0].Attempts != 3 {
		t.Fatalf("dead letter %+v", dl[0])
	}
	// Replay puts it back; a fixed handler then takes it.
	if _, err := in.Replay(bg, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Replay(bg, dl[0].ID); !errors.Is(err, ErrNoDeadLetter) {
		t.Fatalf("second replay: %v", err)
	}
	c.fail = nil
	ctx, cancel = context.WithCancel(bg)
	go func() { done <- in.Run(ctx, c.handle) }()
	waitFor(t, "replayed event", func() bool { return c.count("bad") == 4 })
	cancel()
	<-done
	if dl, _ := in.DeadLetters(bg, 10); len(dl) != 0 {
		t.Fatalf("dead letters after replay: %v", dl)
	}
}

func TestEventsLeftPendingByACrashedWorkerAreReclaimed(t *testing.T) {
	in, _ := newIntake(t, Options{ClaimIdle: 50 * time.Millisecond, Workers: 1, Consumer: "crashed"})
	ctx := context.Background()
	if err := in.Put(ctx, []connectors.Event{ev("1", "o1"), ev("2", "o2")}); err != nil {
		t.Fatal(err)
	}
	// A worker that reads both and dies before acknowledging: its handler
	// blocks until its context is cancelled, which leaves them pending.
	crashCtx, crash := context.WithCancel(ctx)
	got := make(chan struct{}, 2)
	done := make(chan error, 1)
	go func() {
		done <- in.Run(crashCtx, func(ctx context.Context, events []connectors.Event) []error {
			got <- struct{}{}
			<-ctx.Done()
			errs := make([]error, len(events))
			for i := range errs {
				errs[i] = ctx.Err()
			}
			return errs
		})
	}()
	<-got
	crash()
	<-done
	// A new process handles both, exactly once each.
	in2 := New(in.rdb, Options{Prefix: in.o.Prefix, Consumer: "fresh", Workers: 1, ClaimIdle: 50 * time.Millisecond,
		Block: 50 * time.Millisecond, Logger: zerolog.Nop(), Metrics: NewMetrics(nil)})
	c := &collector{}
	ctx2, cancel := context.WithCancel(ctx)
	go func() { done <- in2.Run(ctx2, c.handle) }()
	waitFor(t, "reclaimed events", func() bool { return c.count("o1") == 1 && c.count("o2") == 1 })
	waitFor(t, "empty backlog", func() bool { n, _ := in2.Backlog(ctx); return n == 0 })
	cancel()
	<-done
	if c.count("o1") != 1 || c.count("o2") != 1 {
		t.Fatalf("handled o1 %d, o2 %d times; want once each", c.count("o1"), c.count("o2"))
	}
}

// TestLostConsumerGroupIsRecreated: after Redis lost the stream and its
// group (a failover to an empty replica), new events are still handled.
func TestLostConsumerGroupIsRecreated(t *testing.T) {
	in, _ := newIntake(t, Options{Workers: 1})
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, c.handle) }()
	if err := in.Put(ctx, []connectors.Event{ev("1", "before")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first event", func() bool { return c.count("before") == 1 })
	in.rdb.Del(ctx, in.Stream())
	if err := in.Put(ctx, []connectors.Event{ev("2", "after")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an event after the group was lost", func() bool { return c.count("after") == 1 })
	cancel()
	<-done
}

// TestRefusedEventsAreDeadLetteredAtOnce: an event its handler refuses is
// dead-lettered on its first attempt, with the reason, never retried.
func TestRefusedEventsAreDeadLetteredAtOnce(t *testing.T) {
	in, m := newIntake(t, Options{MaxAttempts: 5, ClaimIdle: 40 * time.Millisecond})
	c := &collector{refuse: map[string]bool{"bad": true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, c.handle) }()
	if err := in.Put(ctx, []connectors.Event{ev("1", "bad")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { return testutil.ToFloat64(m.DeadLettered) == 1 })
	cancel()
	<-done
	if c.count("bad") != 1 {
		t.Fatalf("refused event handled %d times, want 1", c.count("bad"))
	}
	dl, err := in.DeadLetters(context.Background(), 10)
	if err != nil || len(dl) != 1 || dl[0].Attempts != 1 || !strings.Contains(dl[0].Reason, "order bad can never apply") {
		t.Fatalf("dead letters %+v %v", dl, err)
	}
}

// TestUndecodableEventIsDeadLetteredRaw: an entry that is no event never
// reaches the handler; it is dead-lettered at once with its raw text.
func TestUndecodableEventIsDeadLetteredRaw(t *testing.T) {
	in, m := newIntake(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, c.handle) }()
	if err := in.rdb.XAdd(ctx, &redis.XAddArgs{Stream: in.Stream(), Values: []any{EventField, "{not json"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := in.Put(ctx, []connectors.Event{ev("1", "fine")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool { return testutil.ToFloat64(m.DeadLettered) == 1 })
	waitFor(t, "the good event", func() bool { return c.count("fine") == 1 })
	cancel()
	<-done
	dl, err := in.DeadLetters(context.Background(), 10)
	if err != nil || len(dl) != 1 || dl[0].Event != nil || dl[0].Raw != "{not json" || !strings.Contains(dl[0].Reason, "undecodable event") {
		t.Fatalf("dead letters %+v %v", dl, err)
	}
	if len(c.seen) != 1 {
		t.Fatalf("handler saw %v", c.seen)
	}
}

type afterKey struct{}

// TestAfterReadReachesTheHandler: the context AfterRead gives is the one
// the events are handled with, on every partition.
func TestAfterReadReachesTheHandler(t *testing.T) {
	for _, parts := range []int{1, 3} {
		var mu sync.Mutex
		reads := 0
		in, _ := newIntake(t, Options{Partitions: parts, Workers: 3,
			AfterRead: func(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context {
				pipe.Ping(ctx)
				return func(ctx context.Context) context.Context {
					mu.Lock()
					defer mu.Unlock()
					reads++
					return context.WithValue(ctx, afterKey{}, reads)
				}
			}})
		ctx, cancel := context.WithCancel(context.Background())
		events := []connectors.Event{ev("1", "A"), ev("2", "B"), ev("3", "C"), ev("4", "D")}
		if err := in.Put(ctx, events); err != nil {
			t.Fatal(err)
		}
		got := make(chan bool, len(events))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = in.Run(ctx, func(ctx context.Context, evs []connectors.Event) []error {
				_, ok := ctx.Value(afterKey{}).(int)
				for range evs {
					got <- ok
				}
				return make([]error, len(evs))
			})
		}()
		for range events {
			if !<-got {
				t.Errorf("%d partitions: an event was handled without AfterRead's context", parts)
			}
		}
		cancel()
		<-done
	}
}
