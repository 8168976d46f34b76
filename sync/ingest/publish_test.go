package ingest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/downstream"
)

// tripRecorder records the commands of each round trip: per command its
// name, a publish script "publish" (its keys are an order stream's and
// the order's version key, …:v:<channel>:<order>), anything on an outbox
// "outbox".
type tripRecorder struct {
	mu    sync.Mutex
	trips [][]string
}

func (r *tripRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *tripRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.record([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (r *tripRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.record(cmds)
		return next(ctx, cmds)
	}
}

func (r *tripRecorder) record(cmds []redis.Cmder) {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name()
		a := c.Args()
		if (names[i] == "evalsha" || names[i] == "eval") && len(a) > 4 {
			k, _ := a[4].(string)
			first, _ := a[3].(string)
			switch {
			case strings.Contains(k, ":v:shop:"):
				names[i] = "publish"
			case strings.Contains(first, "{outbox:"):
				names[i] = "outbox"
			}
		}
	}
	r.mu.Lock()
	r.trips = append(r.trips, names)
	r.mu.Unlock()
}

// with returns the round trips holding a command named name, in order.
func (r *tripRecorder) with(name string) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]string
	for _, t := range r.trips {
		for _, n := range t {
			if n == name {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func (r *tripRecorder) reset() {
	r.mu.Lock()
	r.trips = nil
	r.mu.Unlock()
}

// TestPublishRidesThePropagationsStockRead: a batch's orders go
// downstream in the round trip of the propagation's stock read (not one
// of their own), which runs before the outbox writes; a batch with
// nothing to propagate (no line with a SKU) publishes in a round trip of
// its own. Either way every order is published.
func TestPublishRidesThePropagationsStockRead(t *testing.T) {
	hp := newHotPath(t)
	rec := &tripRecorder{}
	hp.rdb.AddHook(rec)
	ctx := context.Background()
	order := func(id string, lines ...connectors.Line) connectors.Event {
		o := &connectors.Order{Channel: "shop", OrderID: id, Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(1000), Lines: lines}
		return connectors.Event{Kind: connectors.EventOrder, Channel: "shop", ID: id, Order: o, ReceivedAt: time.Now()}
	}
	pub := downstream.NewPublisher(hp.rdb, hp.prefix, "orders", 1000, time.Hour, nil)
	published := func(events []connectors.Event) {
		t.Helper()
		orders := make([]*connectors.Order, len(events))
		for i := range events {
			orders[i] = events[i].Order
		}
		done, err := pub.Handled(ctx, orders)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range done {
			if !d {
				t.Fatalf("order %s not published", orders[i].OrderID)
			}
		}
	}

	// A first batch loads the scripts (on a fresh Redis each is run
	// again by source after NOSCRIPT, in round trips of their own).
	for i, err := range hp.g.HandleBatch(ctx, []connectors.Event{order("0", connectors.Line{LineID: "1", SKU: "S05", Quantity: 1})}) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	rec.reset()
	batch := []connectors.Event{
		order("1", connectors.Line{LineID: "1", SKU: "S03", Quantity: 1}),
		order("2", connectors.Line{LineID: "1", SKU: "S04", Quantity: 2}),
		order("3", connectors.Line{LineID: "1", NoSKU: true, Quantity: 1}),
	}
	for i, err := range hp.g.HandleBatch(ctx, batch) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	published(batch)
	pubs := rec.with("publish")
	if len(pubs) != 1 || !contains(pubs[0], "hgetall") {
		t.Fatalf("publish round trips %v, want one, the stock read's (with HGETALL)", pubs)
	}
	rec.mu.Lock()
	at, outAt := -1, -1
	for i, trip := range rec.trips {
		if contains(trip, "publish") {
			at = i
		}
		if contains(trip, "outbox") && outAt < 0 {
			outAt = i
		}
	}
	rec.mu.Unlock()
	if outAt < at {
		t.Fatalf("an outbox write (round trip %d) before the publish (%d)", outAt, at)
	}

	rec.reset()
	alone := []connectors.Event{order("4", connectors.Line{LineID: "1", NoSKU: true, Quantity: 1})}
	for i, err := range hp.g.HandleBatch(ctx, alone) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	published(alone)
	if pubs := rec.with("publish"); len(pubs) != 1 || contains(pubs[0], "hgetall") {
		t.Fatalf("publish round trips %v, want one of its own", pubs)
	}
}

func contains(trip []string, name string) bool {
	for _, n := range trip {
		if n == name {
			return true
		}
	}
	return false
}
