package ingest

import (
	"context"
	"fmt"
	"strconv"
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

// BenchmarkHandleBatch is the per-event hot path behind the intake: a
// batch of 20 new one-line orders (three channels, 50 plain SKUs, a
// catalog that maps other listings) through HandleBatch against the real
// Redis: validation, catalog translation, the ledger batch, downstream
// publish and the real propagation into three outboxes. allocs/op and
// B/op are per batch (divide by 20 for per event); they do not depend on
// the machine's load, ns/op does; nor do the Redis commands, GETs and
// round trips per batch it reports (cmds/op, gets/op, trips/op).
//
//	go test -run '^$' -bench BenchmarkHandleBatch -benchmem ./sync/ingest/
//
// Sub-benchmarks: plain (the batch's Resolve reads the catalog version
// itself) and intake (the version came with the batch's read, as the
// engine's intake reads it: catalog.AfterRead).
func BenchmarkHandleBatch(b *testing.B) {
	hb := newHotPath(b)
	g, rdb, cat, cnt, names := hb.g, hb.rdb, hb.cat, hb.cnt, hb.names
	ctx := context.Background()
	const skus = hotPathSKUs
	const batch = 20
	n := 0
	events := make([]connectors.Event, batch)
	// plain: the batch's Resolve reads the catalog version (a batch the
	// reclaimer handles); intake: the version came with the batch's read
	// (the intake's AfterRead, in the read's pipeline, not counted here).
	for _, mode := range []string{"plain", "intake"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			var cmds, gets, trips int64
			for b.Loop() {
				b.StopTimer()
				for j := range events {
					n++
					ch := names[n%len(names)]
					o := &connectors.Order{Channel: ch, OrderID: strconv.Itoa(n), Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(1000),
						Lines: []connectors.Line{{LineID: "1", SKU: fmt.Sprintf("S%02d", n%skus), Quantity: 1}}}
					events[j] = connectors.Event{Kind: connectors.EventOrder, Channel: ch, ID: o.OrderID, Order: o, ReceivedAt: time.Now()}
				}
				bctx := ctx
				if mode == "intake" {
					pipe := rdb.Pipeline()
					after := cat.AfterRead(ctx, pipe)
					if _, err := pipe.Exec(ctx); err != nil {
						b.Fatal(err)
					}
					bctx = after(ctx)
				}
				c0, g0, t0 := cnt.cmds.Load(), cnt.gets.Load(), cnt.trips.Load()
				b.StartTimer()
				for i, err := range g.HandleBatch(bctx, events) {
					if err != nil {
						b.Fatalf("event %d: %v", i, err)
					}
				}
				b.StopTimer()
				cmds, gets, trips = cmds+cnt.cmds.Load()-c0, gets+cnt.gets.Load()-g0, trips+cnt.trips.Load()-t0
				b.StartTimer()
			}
			b.ReportMetric(float64(cmds)/float64(b.N), "cmds/op")
			b.ReportMetric(float64(gets)/float64(b.N), "gets/op")
			b.ReportMetric(float64(trips)/float64(b.N), "trips/op")
		})
	}
}

// hotPathSKUs is how many plain SKUs newHotPath stocks (S00…).
const hotPathSKUs = 50

// hotPath is BenchmarkHandleBatch's set-up: an ingester over a real
// ledger, catalog, publisher and propagator (three channels' outboxes),
// its client's commands counted.
type hotPath struct {
	g      *Ingester
	rdb    *redis.Client
	prefix string
	cat    *catalog.Catalog
	cnt    *cmdCounter
	names  []string
}

func newHotPath(tb testing.TB) hotPath {
	rdb, prefix := redistest.New(tb)
	ctx := context.Background()
	cnt := &cmdCounter{}
	rdb.AddHook(cnt)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for i := 0; i < hotPathSKUs; i++ {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: fmt.Sprintf("S%02d", i), Location: "main", Quantity: 1_000_000_000, Reason: "bench"}); err != nil {
			tb.Fatal(err)
		}
	}
	cat := catalog.New(rdb, prefix)
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "6-PACK", SKU: "S00", Multiplier: 6}},
		Kits: []catalog.Kit{{SKU: "KIT", Components: []catalog.Component{{SKU: "S01", Quantity: 2}, {SKU: "S02", Quantity: 1}}}}}
	if probs, err := cat.Check(ctx, plan, l, nil); err != nil || len(probs) > 0 {
		tb.Fatal(probs, err)
	}
	if _, err := cat.Apply(ctx, plan, "bench"); err != nil {
		tb.Fatal(err)
	}
	names := []string{"shop", "bay", "amz"}
	var chans []config.Channel
	var pchans []propagate.Channel
	for _, n := range names {
		chans = append(chans, config.Channel{Name: n, Locations: []string{"main"}})
		pchans = append(pchans, propagate.Channel{Name: n, Locations: []string{"main"}, Outbox: outbox.New(rdb, prefix, n), Wake: func() {}})
	}
	g := New(Options{
		Ledger: l, Parking: NewParking(rdb, prefix), Catalog: cat,
		Publisher:  downstream.NewPublisher(rdb, prefix, "orders", 1000, time.Hour, nil),
		Propagator: propagate.New(rdb, l, pchans).WithCatalog(cat),
		Channels:   chans, Locations: []config.Location{{ID: "main"}},
		Metrics: NewMetrics(prometheus.NewRegistry()), Logger: zerolog.Nop(),
	})
	return hotPath{g: g, rdb: rdb, prefix: prefix, cat: cat, cnt: cnt, names: names}
}
