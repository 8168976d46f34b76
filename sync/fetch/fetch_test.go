package fetch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
)

// gate is a channel whose reads wait for a go-ahead, and count.
type gate struct {
	mu      sync.Mutex
	reads   map[string]int
	version int64
	started chan string
	proceed chan struct{}
}

func (g *gate) FetchOrder(ctx context.Context, id string) (*connectors.Order, error) {
	g.started <- id
	<-g.proceed
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reads[id]++
	if id == "gone" {
		return nil, connectors.ErrNotFound
	}
	return &connectors.Order{OrderID: id, Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(g.version),
		Lines: []connectors.Line{{LineID: "1", SKU: "A", Quantity: 1}}}, nil
}

type sink struct {
	mu     sync.Mutex
	events []connectors.Event
}

func (s *sink) Put(_ context.Context, events []connectors.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, events...)
	return nil
}

func (s *sink) orders() []connectors.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Event(nil), s.events...)
}

// TestCoalescesWaitingFetchesAndKeepsLaterOnes: notifications of an order
// whose fetch waits cost nothing; one that comes after the fetch began is
// fetched again (it may say something the first read missed); a fetched
// order reaches the sink whole, timed from the notification; an order the
// channel does not know is dropped and counted.
func TestCoalescesWaitingFetchesAndKeepsLaterOnes(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ch := &gate{reads: map[string]int{}, version: 1, started: make(chan string, 16), proceed: make(chan struct{})}
	out := &sink{}
	m := NewMetrics(nil)
	q := New(rdb, Options{Channel: "amz", Conn: ch, Sink: out, Concurrency: 1, Metrics: m, Logger: zerolog.Nop(),
		Queue: intake.Options{Prefix: prefix, Consumer: "t", ClaimIdle: time.Hour, DedupTTL: time.Hour, Block: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := time.Now().Add(-time.Second)
	note := func(id string) connectors.Event {
		return connectors.Event{Kind: connectors.EventOrderChanged, Channel: "amz", OrderID: id, Topic: "ORDER_CHANGE", ReceivedAt: notified}
	}
	// Ten notifications of O1 before anything runs: one fetch waits.
	for range 10 {
		if err := q.Put(ctx, []connectors.Event{note("O1")}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := q.Backlog(ctx); n != 1 {
		t.Fatalf("backlog %d after ten notifications of one order, want 1", n)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx) }()
	if id := <-ch.started; id != "O1" {
		t.Fatalf("fetching %s", id)
	}
	// The fetch is on the wire: a new notification is a new fetch.
	if err := q.Put(ctx, []connectors.Event{note("O1"), note("gone")}); err != nil {
		t.Fatal(err)
	}
	ch.proceed <- struct{}{}
	for range 2 {
		<-ch.started
		ch.proceed <- struct{}{}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(out.orders()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("orders on the sink: %+v", out.orders())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	ch.mu.Lock()
	reads := ch.reads["O1"]
	ch.mu.Unlock()
	if reads != 2 {
		t.Fatalf("O1 read %d times, want 2 (ten waiting notifications coalesced, one after the read began)", reads)
	}
	for _, e := range out.orders() {
		if e.Kind != connectors.EventOrder || e.Order == nil || e.Order.OrderID != "O1" || e.Order.Channel != "amz" || !e.ReceivedAt.Equal(notified) {
			t.Fatalf("sink got %+v", e)
		}
	}
	if got := testutil.ToFloat64(m.Fetches.WithLabelValues("amz", "not_found")); got != 1 {
		t.Fatalf("not found counted %v, want 1", got)
	}
}
