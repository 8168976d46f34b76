package intake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

// intakeAt is an intake on rdb under prefix (several intakes, one Redis).
func intakeAt(rdb redis.UniversalClient, prefix string, o Options) (*Intake, *Metrics) {
	o.Prefix, o.Logger, o.Block = prefix, zerolog.Nop(), 50*time.Millisecond
	if o.Consumer == "" {
		o.Consumer = "test"
	}
	o.Metrics = NewMetrics(prometheus.NewRegistry())
	return New(rdb, o), o.Metrics
}

// run runs in with c until the returned stop is called.
func run(t *testing.T, in *Intake, c *collector) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, c.handle) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// TestPartitionKeyKeepsAnOrderTogether: every event of one order has one
// partition key whichever field names the order; events without an order
// use their SKU or their delivery id.
func TestPartitionKeyKeepsAnOrderTogether(t *testing.T) {
	tests := []struct {
		name string
		e    connectors.Event
		want string
	}{
		{"order id", connectors.Event{Channel: "shop", OrderID: "7"}, "shop\x007"},
		{"order", connectors.Event{Channel: "shop", Order: &connectors.Order{OrderID: "7"}}, "shop\x007"},
		{"return", connectors.Event{Channel: "shop", Return: &connectors.Return{OrderID: "7"}}, "shop\x007"},
		{"other channel", connectors.Event{Channel: "ebay", OrderID: "7"}, "ebay\x007"},
		{"stock", connectors.Event{Channel: "shop", Stock: &connectors.StockChange{SKU: "A"}}, "shop\x00sku\x00A"},
		{"delivery id", connectors.Event{Channel: "shop", ID: "d1"}, "shop\x00id\x00d1"},
		{"nothing", connectors.Event{Channel: "shop"}, "shop"},
	}
	for _, tc := range tests {
		if got := PartitionKey(&tc.e); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPartitionedIntakeSpreadsAndHandlesEverything: with 4 partitions the
// events spread over the 4 streams, each order's events in one of them;
// de-duplication still holds; Backlog counts every partition; Run handles
// every event once and the backlog gauge comes back to 0.
func TestPartitionedIntakeSpreadsAndHandlesEverything(t *testing.T) {
	rdb, prefix := redistest.New(t)
	in, m := intakeAt(rdb, prefix, Options{Partitions: 4, Workers: 4, ClaimIdle: 200 * time.Millisecond})
	ctx := context.Background()
	if got := in.Streams(); len(got) != 4 || got[0] == got[1] {
		t.Fatalf("streams %v", got)
	}
	const orders = 100
	var events []connectors.Event
	for i := range orders {
		o := fmt.Sprint(1000 + i)
		events = append(events, ev("placed-"+o, o), ev("paid-"+o, o))
	}
	for i := 0; i < len(events); i += 10 {
		if err := in.Put(ctx, events[i:i+10]); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Put(ctx, events[:20]); err != nil { // redelivered: duplicates
		t.Fatal(err)
	}
	if n, err := in.Backlog(ctx); err != nil || n != 2*orders {
		t.Fatalf("backlog %d (%v), want %d", n, err, 2*orders)
	}
	if got := testutil.ToFloat64(m.Duplicate.WithLabelValues("shop", "order_changed")); got != 20 {
		t.Fatalf("duplicates %v, want 20", got)
	}
	where := map[string]map[string]bool{} // order -> streams
	for _, s := range in.Streams() {
		entries, err := rdb.XRange(ctx, s, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < orders/4/2 {
			t.Errorf("stream %s holds %d of %d events", s, len(entries), 2*orders)
		}
		for _, e := range entries {
			o := strings.Split(strings.Split(e.Values[EventField].(string), `"order_id":"`)[1], `"`)[0]
			if where[o] == nil {
				where[o] = map[string]bool{}
			}
			where[o][s] = true
		}
	}
	for o, ss := range where {
		if len(ss) != 1 {
			t.Errorf("order %s's events in %d streams", o, len(ss))
		}
	}
	c := &collector{}
	stop := run(t, in, c)
	waitFor(t, "every event handled", func() bool { n, _ := in.Backlog(ctx); return n == 0 })
	waitFor(t, "the backlog gauge at 0", func() bool { return testutil.ToFloat64(m.Backlog) == 0 })
	stop()
	for i := range orders {
		if o := fmt.Sprint(1000 + i); c.count(o) != 2 {
			t.Errorf("order %s handled %d times, want 2", o, c.count(o))
		}
	}
}

// TestPartitionedDeadLettersAndReplay: dead letters of every partition are
// listed newest first with the partition in their id, and Replay puts one
// back on its partition, where it is handled; an id naming no partition
// is ErrNoDeadLetter.
func TestPartitionedDeadLettersAndReplay(t *testing.T) {
	rdb, prefix := redistest.New(t)
	in, _ := intakeAt(rdb, prefix, Options{Partitions: 3})
	c := &collector{refuse: map[string]bool{}}
	ctx := context.Background()
	var events []connectors.Event
	for i := range 12 {
		o := fmt.Sprint("bad", i)
		c.refuse[o] = true
		events = append(events, ev("", o))
	}
	stop := run(t, in, c)
	if err := in.Put(ctx, events); err != nil {
		t.Fatal(err)
	}
	var dl []DeadLetter
	waitFor(t, "12 dead letters", func() bool { dl, _ = in.DeadLetters(ctx, 100); return len(dl) == 12 })
	parts := map[string]bool{}
	for i, d := range dl {
		mark, id, ok := strings.Cut(d.ID, ":")
		if !ok || d.Event == nil {
			t.Fatalf("dead letter %+v", d)
		}
		parts[mark] = true
		if i > 0 {
			_, prev, _ := strings.Cut(dl[i-1].ID, ":")
			if newerID(id, prev) {
				t.Errorf("dead letters not newest first: %s after %s", id, prev)
			}
		}
	}
	if len(parts) < 2 {
		t.Errorf("dead letters from %d partitions: %v", len(parts), parts)
	}
	target := dl[len(dl)-1]
	delete(c.refuse, target.Event.OrderID)
	if _, err := in.Replay(ctx, target.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replayed event handled", func() bool { return c.count(target.Event.OrderID) == 2 })
	stop()
	if dl, _ = in.DeadLetters(ctx, 100); len(dl) != 11 {
		t.Errorf("%d dead letters after a replay, want 11", len(dl))
	}
	for _, bad := range []string{target.ID, "9:1-1", "x:1-1", "1-1", "01:" + strings.Split(target.ID, ":")[1]} {
		if _, err := in.Replay(ctx, bad); err != ErrNoDeadLetter {
			t.Errorf("Replay(%q) = %v, want ErrNoDeadLetter", bad, err)
		}
	}
}

func newerID(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am > bm || (am == bm && as > bs)
}

// TestRaisingPartitionsDrainsTheSingleStream: events left on the single
// stream of a running install (and its dead letters) are not lost when
// the intake is partitioned: the partitioned intake consumes the old
// stream too, lists its dead letters and replays them onto a partition;
// once it is empty the next start deletes it.
func TestRaisingPartitionsDrainsTheSingleStream(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old, _ := intakeAt(rdb, prefix, Options{})
	oldC := &collector{refuse: map[string]bool{"dead": true}}
	stop := run(t, old, oldC)
	if err := old.Put(ctx, []connectors.Event{ev("", "dead")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old dead letter", func() bool { dl, _ := old.DeadLetters(ctx, 10); return len(dl) == 1 })
	stop()
	var left []connectors.Event
	for i := range 40 {
		left = append(left, ev(fmt.Sprint("d", i), fmt.Sprint("left", i)))
	}
	if err := old.Put(ctx, left); err != nil { // waiting when the upgrade comes
		t.Fatal(err)
	}
	neu, _ := intakeAt(rdb, prefix, Options{Partitions: 4})
	if n, err := neu.Backlog(ctx); err != nil || n != 40 {
		t.Fatalf("backlog over the partitions and the old stream: %d (%v), want 40", n, err)
	}
	c := &collector{}
	stop = run(t, neu, c)
	// (A redelivery of an event taken before the change is not known as
	// one: the de-duplication keys are per partition. Handlers are
	// idempotent; docs/redis.md says so.)
	if err := neu.Put(ctx, []connectors.Event{ev("new", "fresh")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old stream drained", func() bool { n, _ := neu.Backlog(ctx); return n == 0 })
	dl, err := neu.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 || !strings.HasPrefix(dl[0].ID, "legacy:") {
		t.Fatalf("dead letters %+v (%v), want the old one as legacy:…", dl, err)
	}
	if _, err := neu.Replay(ctx, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old dead letter replayed and handled", func() bool { return c.count("dead") == 1 })
	stop()
	for i := range 40 {
		if o := fmt.Sprint("left", i); c.count(o) != 1 {
			t.Errorf("%s handled %d times, want 1", o, c.count(o))
		}
	}
	if c.count("fresh") != 1 {
		t.Errorf("a new event handled %d times", c.count("fresh"))
	}
	if dl, _ := neu.DeadLetters(ctx, 10); len(dl) != 0 {
		t.Errorf("dead letters after the replay: %+v", dl)
	}
	stop = run(t, neu, c)
	waitFor(t, "the empty old stream deleted at the next start", func() bool {
		n, _ := rdb.Exists(ctx, old.Stream()).Result()
		return n == 0
	})
	stop()
}

// TestBacklogGaugeSumsThePartitions: shelfsync_intake_backlog is the
// events waiting over every partition, not the last partition's count.
func TestBacklogGaugeSumsThePartitions(t *testing.T) {
	rdb, prefix := redistest.New(t)
	in, m := intakeAt(rdb, prefix, Options{Partitions: 4, ClaimIdle: 200 * time.Millisecond, MaxAttempts: -1})
	ctx := context.Background()
	c := &collector{fail: map[string]bool{}}
	var events []connectors.Event
	for i := range 40 {
		o := fmt.Sprint("o", i)
		c.fail[o] = true // never succeeds: stays on its stream
		events = append(events, ev("", o))
	}
	if err := in.Put(ctx, events); err != nil {
		t.Fatal(err)
	}
	stop := run(t, in, c)
	defer stop()
	waitFor(t, "the gauge at the 40 events of the 4 partitions", func() bool { return testutil.ToFloat64(m.Backlog) == 40 })
}
