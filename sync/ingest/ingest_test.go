package ingest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/downstream"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// propagator records what ingest asks to propagate (fn may be nil).
type propagator struct {
	fn func(ctx context.Context, skus []string, cause time.Time, sold propagate.Sold) error
}

func (p propagator) Propagate(ctx context.Context, skus []string, cause time.Time, sold propagate.Sold, at catalog.Version) error {
	if p.fn == nil {
		return nil
	}
	return p.fn(ctx, skus, cause, sold)
}

// PropagateWith propagates without carrying with (the caller publishes
// in a round trip of its own).
func (p propagator) PropagateWith(ctx context.Context, skus []string, cause time.Time, sold propagate.Sold, at catalog.Version, _ func(redis.Pipeliner)) (bool, error) {
	return false, p.Propagate(ctx, skus, cause, sold, at)
}

func (propagator) SetReported(context.Context, string, string, int64) error { return nil }

// newIngester is an ingester of channel "shop" (location "main") over a
// real ledger in which SKU A has stock on hand, with prop as propagation.
func newIngester(t *testing.T, stock int64, prop propagator) (*Ingester, *inventory.Ledger, *Metrics) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	ledger := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := ledger.Receive(context.Background(), inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: stock, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	g := New(Options{
		Ledger: ledger, Parking: NewParking(rdb, prefix),
		Publisher:  downstream.NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil),
		Propagator: prop,
		Channels:   []config.Channel{{Name: "shop", Locations: []string{"main"}}},
		Locations:  []config.Location{{ID: "main"}},
		Metrics:    m, Logger: zerolog.Nop(),
	})
	return g, ledger, m
}

func TestBatchAppliesGoodOrdersAndDropsTheOnesThatCanNeverApply(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	ledger := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := ledger.Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	var propagated []string
	var sold []propagate.Sold
	m := NewMetrics(prometheus.NewRegistry())
	g := New(Options{
		Ledger: ledger, Parking: NewParking(rdb, prefix),
		Publisher: downstream.NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil),
		Propagator: propagator{func(_ context.Context, skus []string, _ time.Time, s propagate.Sold) error {
			propagated = append(propagated, skus...)
			sold = append(sold, s)
			return nil
		}},
		Channels:   []config.Channel{{Name: "shop", Locations: []string{"main"}}},
		Locations:  []config.Location{{ID: "main"}},
		Connectors: map[string]connectors.Connector{},
		Metrics:    m, Logger: zerolog.Nop(),
	})
	order := func(ch, id, sku string, qty int64) *connectors.Order {
		return &connectors.Order{Channel: ch, OrderID: id, Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(1000),
			Lines: []connectors.Line{{LineID: "1", SKU: sku, Quantity: qty}}}
	}
	events := []connectors.Event{
		{Kind: connectors.EventOrder, Channel: "shop", Order: order("shop", "1", "A", 2)},
		// A channel the config does not know: no locations to take stock from.
		{Kind: connectors.EventOrder, Channel: "ghost", Order: order("ghost", "2", "A", 1)},
		// The shop connector here can not fetch: dropped, not retried.
		{Kind: connectors.EventOrderChanged, Channel: "shop", OrderID: "3"},
		// Unknown SKU: parked.
		{Kind: connectors.EventOrder, Channel: "shop", Order: order("shop", "4", "NEW", 1)},
		// The same order again in the same batch: a duplicate.
		{Kind: connectors.EventOrder, Channel: "shop", Order: order("shop", "1", "A", 2)},
	}
	for i, err := range g.HandleBatch(ctx, events) {
		// The ghost order and the unfetchable event can never apply: they
		// are refused, so the intake dead-letters them with the reason.
		if refused := i == 1 || i == 2; refused != errors.Is(err, intake.ErrRefused) {
			t.Fatalf("event %d: %v (want refused: %v)", i, err, refused)
		}
	}
	st, err := ledger.Stock(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if lv := st.Locations["main"]; lv.Reserved != 2 || lv.Available != 8 {
		t.Fatalf("A %+v, want reserved 2 available 8", lv)
	}
	if got := testutil.ToFloat64(m.Dropped.WithLabelValues("ghost", "order")); got != 1 {
		t.Fatalf("ghost order dropped %v times, want 1", got)
	}
	if got := testutil.ToFloat64(m.Dropped.WithLabelValues("shop", "order_changed")); got != 1 {
		t.Fatalf("unfetchable event dropped %v times, want 1", got)
	}
	if got := testutil.ToFloat64(m.LineUpdates.WithLabelValues("shop", inventory.IgnoredDuplicate)); got != 1 {
		t.Fatalf("duplicate line counted %v times, want 1", got)
	}
	// Sales counters: order 1 once (its repeat is a duplicate, order 4 is
	// parked), its 2 units.
	if o, u := testutil.ToFloat64(m.OrdersPlaced.WithLabelValues("shop")), testutil.ToFloat64(m.UnitsSold.WithLabelValues("shop")); o != 1 || u != 2 {
		t.Fatalf("orders placed %v, units sold %v; want 1 and 2", o, u)
	}
	if n, _ := NewParking(rdb, prefix).Count(ctx); n != 1 {
		t.Fatalf("%d SKUs parked, want 1", n)
	}
	if len(propagated) != 2 {
		t.Fatalf("propagated %v, want A and NEW once each", propagated)
	}
	msgs, _ := rdb.XLen(ctx, downstream.StreamKey(prefix, "orders")).Result()
	if msgs != 2 {
		t.Fatalf("%d orders published, want 2 (orders 1 and 4, once each)", msgs)
	}
	// Only the new line is a sale the channel took off itself: not its
	// duplicate, not the parked line.
	if want := (propagate.Sold{"shop": {"A": 2}}); len(sold) != 1 || !reflect.DeepEqual(sold[0], want) {
		t.Fatalf("sold %v, want %v", sold, want)
	}

	// An edit of a known line is not a new sale; a new order's shipped
	// units left the channel's listing at the sale like the rest.
	edit := order("shop", "1", "A", 3)
	edit.UpdatedAt = time.UnixMilli(2000)
	shipped := order("shop", "5", "A", 3)
	shipped.Lines[0].Shipped = 1
	for i, err := range g.HandleBatch(ctx, []connectors.Event{
		{Kind: connectors.EventOrder, Channel: "shop", Order: edit},
		{Kind: connectors.EventOrder, Channel: "shop", Order: shipped},
	}) {
		if err != nil {
			t.Fatalf("second batch, event %d: %v", i, err)
		}
	}
	if want := (propagate.Sold{"shop": {"A": 3}}); len(sold) != 2 || !reflect.DeepEqual(sold[1], want) {
		t.Fatalf("sold %v, want %v second", sold, want)
	}
}

// TestOversoldCountedOnceAndFutureVersionsRefused: one oversold order state
// delivered four times and re-read by polls counts one oversell; its
// shipment (available unchanged, still below zero) counts none; an order
// whose version lies in the future is refused (dead-lettered), not applied.
func TestOversoldCountedOnceAndFutureVersionsRefused(t *testing.T) {
	ctx := context.Background()
	g, ledger, m := newIngester(t, 1, propagator{})
	sale := func(id string, v int64, shipped int64) connectors.Event {
		st := connectors.StatusOpen
		if shipped > 0 {
			st = connectors.StatusShipped
		}
		return connectors.Event{Kind: connectors.EventOrder, Channel: "shop", Order: &connectors.Order{Channel: "shop", OrderID: id, Status: st,
			UpdatedAt: time.UnixMilli(v), Lines: []connectors.Line{{LineID: "1", SKU: "A", Quantity: 2, Shipped: shipped}}}}
	}
	// Oversells by one; then the same state three more times, two of them
	// in one batch (a webhook and its retries, then polls).
	for _, batch := range [][]connectors.Event{{sale("1", 1000, 0)}, {sale("1", 1000, 0), sale("1", 1000, 0)}, {sale("1", 1000, 0)}} {
		for _, err := range g.HandleBatch(ctx, batch) {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := testutil.ToFloat64(m.Oversold.WithLabelValues("shop")); got != 1 {
		t.Fatalf("oversold counted %v times, want 1", got)
	}
	// Shipping both units leaves available at -1: not a new oversell.
	for _, err := range g.HandleBatch(ctx, []connectors.Event{sale("1", 2000, 2)}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.Oversold.WithLabelValues("shop")); got != 1 {
		t.Fatalf("after the shipment oversold counted %v times, want 1", got)
	}
	future := sale("9", time.Now().Add(24*time.Hour*365*100).UnixMilli(), 0)
	if err := g.HandleBatch(ctx, []connectors.Event{future})[0]; !errors.Is(err, intake.ErrRefused) {
		t.Fatalf("an order from the future: %v, want refused", err)
	}
	if recs, _ := ledger.Lines(ctx, "shop", "9"); len(recs) != 0 {
		t.Fatalf("the future order was applied: %+v", recs)
	}
}

// TestReturnAnnouncedAgainWithOtherFigures: a return line booked once is
// not booked again, and a later announcement of it with other figures is
// counted and left (the first booking stands), never retried for ever.
func TestReturnAnnouncedAgainWithOtherFigures(t *testing.T) {
	ctx := context.Background()
	g, ledger, m := newIngester(t, 5, propagator{})
	order := connectors.Event{Kind: connectors.EventOrder, Channel: "shop", Order: &connectors.Order{Channel: "shop", OrderID: "1", Status: connectors.StatusShipped,
		UpdatedAt: time.UnixMilli(1000), Lines: []connectors.Line{{LineID: "1", SKU: "A", Quantity: 2, Shipped: 2}}}}
	ret := func(q int64) connectors.Event {
		return connectors.Event{Kind: connectors.EventReturn, Channel: "shop", Return: &connectors.Return{OrderID: "1", ReturnID: "R1",
			Lines: []connectors.ReturnLine{{LineID: "1", Quantity: q, Restock: true}}}}
	}
	for _, e := range []connectors.Event{order, ret(1), ret(1), ret(2)} {
		if err := g.HandleBatch(ctx, []connectors.Event{e})[0]; err != nil {
			t.Fatalf("%s: %v", e.Kind, err)
		}
	}
	st, err := ledger.Stock(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Locations["main"].OnHand; got != 4 {
		t.Fatalf("on_hand %d, want 4 (5 - 2 shipped + 1 restocked once)", got)
	}
	if got := testutil.ToFloat64(m.Dropped.WithLabelValues("shop", "return")); got != 1 {
		t.Fatalf("conflicting return counted %v, want 1", got)
	}
}
