package ingest

import (
	"context"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/downstream"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// catalogWorld is an ingester of channels "shop" and "bay" over a real
// ledger (A and B, 100 units each at "main") and a catalog: on shop the
// listing 6-PACK is 6 A; the kit KIT is 2 A + 1 B; on bay the listing
// BUNDLE is 3 KIT.
type catalogWorld struct {
	g      *Ingester
	ledger *inventory.Ledger
	cat    *catalog.Catalog
	rdb    *redis.Client
	sold   []propagate.Sold
	pushed [][]string
}

func newCatalogWorld(t *testing.T) *catalogWorld {
	t.Helper()
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	w := &catalogWorld{rdb: rdb, ledger: inventory.New(rdb, inventory.Options{Prefix: prefix}), cat: catalog.New(rdb, prefix)}
	for _, s := range []string{"A", "B"} {
		if _, err := w.ledger.Receive(ctx, inventory.Delta{Key: "r", SKU: s, Location: "main", Quantity: 100, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	plan := catalog.Plan{
		Mappings: []catalog.Mapping{{Channel: "shop", Listing: "6-PACK", SKU: "A", Multiplier: 6}, {Channel: "bay", Listing: "BUNDLE", SKU: "KIT", Multiplier: 3}},
		Kits:     []catalog.Kit{{SKU: "KIT", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}}},
	}
	if probs, err := w.cat.Check(ctx, plan, w.ledger, nil); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if _, err := w.cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	chans := []config.Channel{{Name: "shop", Locations: []string{"main"}}, {Name: "bay", Locations: []string{"main"}}}
	w.g = New(Options{
		Ledger: w.ledger, Parking: NewParking(rdb, prefix), Catalog: w.cat,
		Publisher: downstream.NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil),
		Propagator: propagator{func(_ context.Context, skus []string, _ time.Time, s propagate.Sold) error {
			w.pushed = append(w.pushed, skus)
			w.sold = append(w.sold, s)
			return nil
		}},
		Channels: chans, Locations: []config.Location{{ID: "main"}},
		Returns: NewReturnBook(rdb, prefix, time.Hour),
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: zerolog.Nop(),
	})
	return w
}

func (w *catalogWorld) figures(t *testing.T, sku string) (onHand, reserved int64) {
	t.Helper()
	st, err := w.ledger.Stock(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Locations {
		onHand += f.OnHand
		reserved += f.Reserved
	}
	return onHand, reserved
}

func catOrder(ch, id string, v int64, l connectors.Line) connectors.Event {
	o := connectors.Order{Channel: ch, OrderID: id, Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(v), Lines: []connectors.Line{l}}
	return connectors.Event{Kind: connectors.EventOrder, Channel: ch, Order: &o, ReceivedAt: time.Now()}
}

// TestTranslationThroughTheCatalog: each step is an order state as the
// channel sends it (in sequence, over one ledger), and the figures of A
// and B after it. Mapped listings move their multiple; kits move their
// components; repeats, older states, cancels, shipments and returns move
// only the difference, as for any line.
func TestTranslationThroughTheCatalog(t *testing.T) {
	w := newCatalogWorld(t)
	ctx := context.Background()
	type figs struct{ aOn, aRes, bOn, bRes int64 }
	steps := []struct {
		name string
		ev   connectors.Event
		want figs
	}{
		{"a 6-pack reserves 6 A", catOrder("shop", "S1", 1000, connectors.Line{LineID: "1", SKU: "6-PACK", Quantity: 1}), figs{100, 6, 100, 0}},
		{"the same state again changes nothing", catOrder("shop", "S1", 1000, connectors.Line{LineID: "1", SKU: "6-PACK", Quantity: 1}), figs{100, 6, 100, 0}},
		{"unmapped A on shop is the ledger's A", catOrder("shop", "S2", 1000, connectors.Line{LineID: "1", SKU: "A", Quantity: 2}), figs{100, 8, 100, 0}},
		{"a kit sold alone reserves its components", catOrder("shop", "S3", 1000, connectors.Line{LineID: "9", SKU: "KIT", Quantity: 2}), figs{100, 12, 100, 2}},
		{"a mapped bundle of 3 kits on bay", catOrder("bay", "B1", 1000, connectors.Line{LineID: "1", SKU: "BUNDLE", Quantity: 1}), figs{100, 18, 100, 5}},
		{"6-PACK on bay is not mapped there: unknown, parked", catOrder("bay", "B2", 1000, connectors.Line{LineID: "1", SKU: "6-PACK", Quantity: 1}), figs{100, 18, 100, 5}},
		{"the kit shipped", catOrder("shop", "S3", 2000, connectors.Line{LineID: "9", SKU: "KIT", Quantity: 2, Shipped: 2}), figs{96, 14, 98, 3}},
		{"an older state of the kit after it changes nothing", catOrder("shop", "S3", 1500, connectors.Line{LineID: "9", SKU: "KIT", Quantity: 2}), figs{96, 14, 98, 3}},
		{"one kit returned and restocked", catOrder("shop", "S3", 3000, connectors.Line{LineID: "9", SKU: "KIT", Quantity: 2, Shipped: 2, Returned: 1, Restock: true}), figs{98, 14, 99, 3}},
		{"the bundle cancelled", catOrder("bay", "B1", 2000, connectors.Line{LineID: "1", SKU: "BUNDLE", Quantity: 1, Cancelled: 1}), figs{98, 8, 99, 0}},
		{"the bundle cancelled, delivered again", catOrder("bay", "B1", 2000, connectors.Line{LineID: "1", SKU: "BUNDLE", Quantity: 1, Cancelled: 1}), figs{98, 8, 99, 0}},
	}
	for _, s := range steps {
		if err := w.g.Handle(ctx, s.ev); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		aOn, aRes := w.figures(t, "A")
		bOn, bRes := w.figures(t, "B")
		if got := (figs{aOn, aRes, bOn, bRes}); got != s.want {
			t.Errorf("%s: A %d/%d B %d/%d (on hand/reserved), want %+v", s.name, aOn, aRes, bOn, bRes, s.want)
		}
	}
	recs, err := w.ledger.Lines(ctx, "shop", "S3")
	if err != nil || len(recs) != 2 || recs[0].LineID != catalog.KitLineID("9", "A") || recs[1].LineID != catalog.KitLineID("9", "B") {
		t.Fatalf("kit order's ledger lines: %+v %v", recs, err)
	}
	if errs, err := w.ledger.Verify(ctx, []string{"A", "B"}); err != nil || len(errs) > 0 {
		t.Fatalf("verify: %v %v", errs, err)
	}
}

// TestKitSaleIsTheKitListingsOwnSale: a new sale counts against the
// listing the channel sold (its own listing took the units off), and the
// propagation names the components, whose kits propagation fans out to.
func TestKitSaleIsTheKitListingsOwnSale(t *testing.T) {
	w := newCatalogWorld(t)
	if err := w.g.Handle(context.Background(), catOrder("bay", "B1", 1000, connectors.Line{LineID: "1", SKU: "BUNDLE", Quantity: 2})); err != nil {
		t.Fatal(err)
	}
	if len(w.sold) != 1 || w.sold[0]["bay"]["BUNDLE"] != 2 || len(w.sold[0]["bay"]) != 1 {
		t.Fatalf("sold: %v", w.sold)
	}
	if len(w.pushed) != 1 || len(w.pushed[0]) != 2 || w.pushed[0][0] != "A" || w.pushed[0][1] != "B" {
		t.Fatalf("propagated: %v", w.pushed)
	}
}

// TestParkedLineAppliesOnceItsMappingArrives: a listing neither mapped nor
// known is parked under its own name; once a mapping of it is imported,
// unparking translates it (here 2 B per unit) and applies it once.
func TestParkedLineAppliesOnceItsMappingArrives(t *testing.T) {
	w := newCatalogWorld(t)
	ctx := context.Background()
	ev := catOrder("shop", "S9", 1000, connectors.Line{LineID: "1", SKU: "TWIN-B", Quantity: 3})
	if err := w.g.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if _, res := w.figures(t, "B"); res != 0 {
		t.Fatalf("B reserved %d before the mapping", res)
	}
	if n, err := w.g.Unpark(ctx, []string{"TWIN-B"}); err != nil || n != 0 {
		t.Fatalf("unpark before the mapping: %d %v", n, err)
	}
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "TWIN-B", SKU: "B", Multiplier: 2}}}
	if _, err := w.cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	pend, err := w.cat.PendingIntents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range pend {
		names = append(names, in.SKU)
	}
	n, err := w.g.Unpark(ctx, names) // what the sweeper does with the catalog's pending names
	if err != nil || n != 1 {
		t.Fatalf("unpark after the mapping: %d %v (pending %v)", n, err, names)
	}
	if _, res := w.figures(t, "B"); res != 6 {
		t.Fatalf("B reserved %d after the mapping, want 6", res)
	}
	// Redelivered: the same line, already applied, changes nothing.
	if err := w.g.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if n, err := w.g.Unpark(ctx, names); err != nil || n != 0 {
		t.Fatalf("unpark again: %d %v", n, err)
	}
	if _, res := w.figures(t, "B"); res != 6 {
		t.Fatalf("B reserved %d after a redelivery, want 6", res)
	}
}

// TestTranslationPastTheLedgersMaximumSkipsOnlyThatLine: a multiplier that
// takes a line's figures past what the ledger takes drops that line (counted)
// and applies the rest of the batch.
func TestTranslationPastTheLedgersMaximumSkipsOnlyThatLine(t *testing.T) {
	w := newCatalogWorld(t)
	ctx := context.Background()
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "HUGE", SKU: "A", Multiplier: inventory.MaxQuantity}}}
	if _, err := w.cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	huge := catOrder("shop", "H1", 1000, connectors.Line{LineID: "1", SKU: "HUGE", Quantity: 2})
	fine := catOrder("shop", "H2", 1000, connectors.Line{LineID: "1", SKU: "B", Quantity: 1})
	for i, err := range w.g.HandleBatch(ctx, []connectors.Event{huge, fine}) {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if _, res := w.figures(t, "A"); res != 0 {
		t.Errorf("A reserved %d", res)
	}
	if _, res := w.figures(t, "B"); res != 1 {
		t.Errorf("B reserved %d, want 1", res)
	}
}

// TestTranslatedLinesAreRecorded: ingest keeps how each translated order
// line became ledger lines (catalog.LineMap: the listing and the parts
// with their units per channel unit), for shipments that name the
// channel's line; a line that is its own ledger line has no map.
func TestTranslatedLinesAreRecorded(t *testing.T) {
	w := newCatalogWorld(t)
	ctx := context.Background()
	o := connectors.Order{Channel: "bay", OrderID: "B7", Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(1000),
		Lines: []connectors.Line{{LineID: "1", SKU: "BUNDLE", Quantity: 1}, {LineID: "2", SKU: "A", Quantity: 1}}}
	if err := w.g.Handle(ctx, connectors.Event{Kind: connectors.EventOrder, Channel: "bay", Order: &o, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := w.g.Handle(ctx, catOrder("shop", "S7", 1000, connectors.Line{LineID: "5", SKU: "6-PACK", Quantity: 2})); err != nil {
		t.Fatal(err)
	}
	got, err := w.cat.LineMaps(ctx, "bay", "B7")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]catalog.LineMap{"1": {Channel: "bay", OrderID: "B7", LineID: "1", Listing: "BUNDLE",
		Parts: []catalog.LinePart{{LineID: "1#A", SKU: "A", Per: 6}, {LineID: "1#B", SKU: "B", Per: 3}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bay B7 maps %+v, want %+v", got, want)
	}
	got, err = w.cat.LineMaps(ctx, "shop", "S7")
	want = map[string]catalog.LineMap{"5": {Channel: "shop", OrderID: "S7", LineID: "5", Listing: "6-PACK",
		Parts: []catalog.LinePart{{LineID: "5", SKU: "A", Per: 6}}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("shop S7 maps %+v %v, want %+v", got, err, want)
	}
}

// TestPolledReturnsOfKitAndPackLines: a polled return names the channel's
// line; a kit's line is booked as its components (units × per), a pack's
// as its units (× the multiplier), on the ledger lines the order was
// translated into (its recorded LineMap), once per return, capped by each
// ledger line's shipped units; a line neither in the ledger nor mapped is
// dropped. The ledger verifies clean.
func TestPolledReturnsOfKitAndPackLines(t *testing.T) {
	w := newCatalogWorld(t)
	ctx := context.Background()
	// bay: BUNDLE = 3 KIT = 6 A + 3 B per unit; 2 shipped: A 12, B 6 out.
	o := connectors.Order{Channel: "bay", OrderID: "B1", Status: connectors.StatusShipped, UpdatedAt: time.UnixMilli(1000),
		Lines: []connectors.Line{{LineID: "1", SKU: "BUNDLE", Quantity: 2, Shipped: 2}}}
	if err := w.g.Handle(ctx, connectors.Event{Kind: connectors.EventOrder, Channel: "bay", Order: &o}); err != nil {
		t.Fatal(err)
	}
	// shop: 2 kits (A 4, B 2) and 2 6-PACKs (A 12) shipped.
	s1 := connectors.Order{Channel: "shop", OrderID: "S1", Status: connectors.StatusShipped, UpdatedAt: time.UnixMilli(1000),
		Lines: []connectors.Line{{LineID: "K", SKU: "KIT", Quantity: 2, Shipped: 2}, {LineID: "P", SKU: "6-PACK", Quantity: 2, Shipped: 2}}}
	if err := w.g.Handle(ctx, connectors.Event{Kind: connectors.EventOrder, Channel: "shop", Order: &s1}); err != nil {
		t.Fatal(err)
	}
	ret := func(ch, order, id, line string, qty int64) connectors.Event {
		return connectors.Event{Kind: connectors.EventReturn, Channel: ch, Topic: TopicPolledReturn, Return: &connectors.Return{
			OrderID: order, ReturnID: id, Lines: []connectors.ReturnLine{{LineID: line, Quantity: qty, Received: true}}}}
	}
	steps := []struct {
		name string
		ev   connectors.Event
		a, b int64 // on hand after
	}{
		{"start", connectors.Event{}, 100 - 12 - 4 - 12, 100 - 6 - 2},
		{"a kit back: its components", ret("shop", "S1", "R1", "K", 1), 74, 93},
		{"the same return again: nothing", ret("shop", "S1", "R1", "K", 1), 74, 93},
		{"a 6-PACK back: 6 units", ret("shop", "S1", "R2", "P", 1), 80, 93},
		{"5 kits back: capped at the 4 A and 2 B shipped", ret("shop", "S1", "R3", "K", 5), 82, 94},
		{"3 6-PACKs back: capped at the 12 shipped", ret("shop", "S1", "R4", "P", 3), 88, 94},
		{"a BUNDLE (3 kits) back", ret("bay", "B1", "R1", "1", 1), 94, 97},
		{"an unknown line: dropped", ret("bay", "B1", "R2", "9", 1), 94, 97},
		{"the BUNDLE return polled again, 2 now", ret("bay", "B1", "R1", "1", 2), 100, 100},
	}
	for _, s := range steps {
		if s.ev.Return != nil {
			if err := w.g.Handle(ctx, s.ev); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		a, _ := w.figures(t, "A")
		b, _ := w.figures(t, "B")
		if a != s.a || b != s.b {
			t.Fatalf("%s: on hand A %d B %d, want %d and %d", s.name, a, b, s.a, s.b)
		}
	}
	if bad, err := w.ledger.Verify(ctx, nil); err != nil || len(bad) != 0 {
		t.Errorf("verify: %v %v", bad, err)
	}
}

// cmdCounter counts the commands a client sends, the GETs among them (the
// catalog's version reads) and the round trips (a pipeline is one).
type cmdCounter struct{ cmds, gets, trips atomic.Int64 }

func (c *cmdCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *cmdCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		c.count(cmd)
		return next(ctx, cmd)
	}
}
func (c *cmdCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		for _, cmd := range cmds {
			c.count(cmd)
		}
		return next(ctx, cmds)
	}
}
func (c *cmdCounter) count(cmd redis.Cmder) {
	c.cmds.Add(1)
	if name, _ := cmd.Args()[0].(string); strings.EqualFold(name, "get") {
		c.gets.Add(1)
	}
}

// TestBatchPropagatesUnderItsTranslationsVersion: an intake batch checks
// the catalog version once (its translation's Resolve; none when the
// intake read it with the batch) and propagates under it, and a mapping
// applied through another Catalog (a replica) before the batch takes
// effect in both: the batch's order of A queues the newly mapped listing
// of A.
func TestBatchPropagatesUnderItsTranslationsVersion(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	gets := &cmdCounter{}
	rdb.AddHook(gets)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 100, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(rdb, prefix)
	box := outbox.New(rdb, prefix, "shop")
	chans := []config.Channel{{Name: "shop", Locations: []string{"main"}}}
	prop := propagate.New(rdb, l, []propagate.Channel{{Name: "shop", Locations: []string{"main"}, Outbox: box, Wake: func() {}}}).WithCatalog(cat)
	g := New(Options{
		Ledger: l, Parking: NewParking(rdb, prefix), Catalog: cat,
		Publisher: downstream.NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil), Propagator: prop,
		Channels: chans, Locations: []config.Location{{ID: "main"}},
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: zerolog.Nop(),
	})
	// Warm: A translated and propagated once.
	if err := g.Handle(ctx, catOrder("shop", "O1", 1000, connectors.Line{LineID: "1", SKU: "A", Quantity: 1})); err != nil {
		t.Fatal(err)
	}
	other := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	t.Cleanup(func() { _ = other.Close() })
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "2-PACK", SKU: "A", Multiplier: 2}}}
	if _, err := catalog.New(other, prefix).Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	gets.gets.Store(0)
	if err := g.Handle(ctx, catOrder("shop", "O2", 1000, connectors.Line{LineID: "1", SKU: "A", Quantity: 2})); err != nil {
		t.Fatal(err)
	}
	if n := gets.gets.Load(); n != 1 {
		t.Errorf("the batch sent %d GETs, want 1 (the catalog version, once)", n)
	}
	items, err := box.Due(ctx, 100, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, it := range items {
		got[it.SKU] = it.Quantity
	}
	if want := map[string]int64{"A": 97, "2-PACK": 48}; !reflect.DeepEqual(got, want) {
		t.Fatalf("shop outbox %v, want %v", got, want)
	}

	// A batch read with its catalog version (the intake's AfterRead): no
	// GET at all, and a mapping applied before the read is in both its
	// translation and its propagation.
	plan = catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "4-PACK", SKU: "A", Multiplier: 4}}}
	if _, err := catalog.New(other, prefix).Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	pipe := rdb.Pipeline()
	after := cat.AfterRead(ctx, pipe)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	gets.gets.Store(0)
	if err := g.Handle(after(ctx), catOrder("shop", "O3", 1000, connectors.Line{LineID: "1", SKU: "4-PACK", Quantity: 1})); err != nil {
		t.Fatal(err)
	}
	if n := gets.gets.Load(); n != 0 {
		t.Errorf("the batch read with its version sent %d GETs, want none", n)
	}
	if items, err = box.Due(ctx, 100, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		got[it.SKU] = it.Quantity
	}
	if want := map[string]int64{"A": 93, "2-PACK": 46, "4-PACK": 23}; !reflect.DeepEqual(got, want) {
		t.Fatalf("shop outbox after the 4-pack %v, want %v", got, want)
	}
}
