package ingest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/downstream"
)

// tripNames names each round trip's commands: a publish script
// "publish" (its keys are an order stream's and the order's version key,
// …:v:<channel>:<order>), a script on an outbox "outbox".
func tripNames(trips *redistest.Trips) [][]string {
	return trips.Named(func(c redis.Cmder) string {
		switch {
		case strings.Contains(redistest.ScriptKey(c, 1), ":v:shop:") && c.Err() != nil:
			return "publish failed" // NOSCRIPT after another test's SCRIPT FLUSH: run again alone
		case strings.Contains(redistest.ScriptKey(c, 1), ":v:shop:"):
			return "publish"
		case strings.Contains(redistest.ScriptKey(c, 0), "{outbox:"):
			return "outbox"
		}
		return c.Name()
	})
}

// with returns the round trips holding a command named name, in order.
func with(trips [][]string, name string) [][]string {
	var out [][]string
	for _, t := range trips {
		if slices.Contains(t, name) {
			out = append(out, t)
		}
	}
	return out
}

// TestPublishRidesThePropagationsStockRead: a batch's orders go
// downstream in the round trip of the propagation's stock read (not one
// of their own), which runs before the outbox writes; a batch with
// nothing to propagate (no line with a SKU) publishes in a round trip of
// its own. Either way every order is published.
func TestPublishRidesThePropagationsStockRead(t *testing.T) {
	hp := newHotPath(t)
	rec := &redistest.Trips{}
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
	rec.Reset()
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
	trips := tripNames(rec)
	pubs := with(trips, "publish")
	reads := with(trips, "hgetall")
	if n := len(with(reads, "publish")) + len(with(reads, "publish failed")); n != 1 {
		t.Fatalf("stock reads %v: %d carry the publish, want one", reads, n)
	}
	if len(with(trips, "publish failed")) == 0 && len(pubs) != 1 {
		t.Fatalf("publish round trips %v, want only the stock read's", pubs)
	}
	at, outAt := -1, -1
	for i, trip := range trips {
		if slices.Contains(trip, "publish") {
			at = i
		}
		if slices.Contains(trip, "outbox") && outAt < 0 {
			outAt = i
		}
	}
	if outAt < at {
		t.Fatalf("an outbox write (round trip %d) before the publish (%d)", outAt, at)
	}

	rec.Reset()
	alone := []connectors.Event{order("4", connectors.Line{LineID: "1", NoSKU: true, Quantity: 1})}
	for i, err := range hp.g.HandleBatch(ctx, alone) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	published(alone)
	if pubs := with(tripNames(rec), "publish"); len(pubs) == 0 || len(with(pubs, "hgetall")) != 0 {
		t.Fatalf("publish round trips %v, want its own", pubs)
	}
}
