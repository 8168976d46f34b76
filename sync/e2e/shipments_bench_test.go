package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// BenchmarkShipmentConfirmLatency submits shipments at 50 a second for
// 10 s (500 orders of one unit, already on the ledger) to the real
// Shopify connector against its fake answering after 50 ms, on a Shopify
// Plus cost bucket (1000 points a second, as the demo's fake Shopify),
// with the config's defaults (shipments.workers), and reports the time
// from each shipment's arrival to the channel's acceptance of its
// confirmation (each shipment's received_at and confirmed_at): p50, p99,
// max, and the fulfillments created (must equal the shipments).
//
//	go test -run '^$' -bench ShipmentConfirmLatency -benchtime 1x ./sync/e2e/
func BenchmarkShipmentConfirmLatency(b *testing.B) {
	const (
		rate   = 50
		orders = 500
	)
	for b.Loop() {
		eng, shop, ids := shipWorld(b, orders)
		ctx := context.Background()
		tick := time.NewTicker(time.Second / rate)
		start := time.Now()
		var wg sync.WaitGroup
		for i, id := range ids {
			<-tick.C
			wg.Add(1)
			go func() { // as many clients as it takes to offer the rate
				defer wg.Done()
				_, err := eng.Shipments().Submit(ctx, shipments.Request{Channel: "shop", OrderID: strconv.FormatInt(id, 10),
					Lines: []shipments.RequestLine{{LineID: strconv.Itoa(1000 + i), Quantity: 1}}, Carrier: "ups",
					TrackingNumber: fmt.Sprintf("1Z999AA1%010d", i), ShippedAt: start, IdempotencyKey: "bench-" + strconv.Itoa(i)}, "api")
				if err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		tick.Stop()
		offered := float64(orders) / time.Since(start).Seconds()
		lat := waitConfirmed(b, eng, ids)
		slices.Sort(lat)
		q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))].Seconds() * 1000 }
		b.ReportMetric(offered, "offered/s")
		b.ReportMetric(q(0.5), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
		b.ReportMetric(lat[len(lat)-1].Seconds()*1000, "max-ms")
		b.ReportMetric(float64(len(shop.CreatedFulfillments())), "fulfillments")
	}
}

// waitConfirmed waits until every order's shipment is confirmed and
// returns each one's arrival → acceptance time.
func waitConfirmed(b *testing.B, eng *engine.Engine, ids []int64) []time.Duration {
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var lat []time.Duration
		for _, id := range ids {
			v, err := eng.Shipments().ForOrder(ctx, "shop", strconv.FormatInt(id, 10))
			if err != nil {
				b.Fatal(err)
			}
			if len(v) != 1 || v[0].State.ConfirmedAt == nil {
				break
			}
			lat = append(lat, v[0].State.ConfirmedAt.Sub(v[0].ReceivedAt))
		}
		if len(lat) == len(ids) {
			return lat
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d confirmed after 5 min", len(lat), len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shipWorld is the engine with one Shopify channel against its fake (50
// ms latency, Plus bucket), holding n open one-unit orders, their ids.
func shipWorld(b *testing.B, n int) (*engine.Engine, *shopifytest.Server, []int64) {
	rdb, prefix := redistest.New(b)
	shop := shopifytest.New(shopifytest.Options{Latency: 50 * time.Millisecond, BucketSize: 10000, RestoreRate: 1000})
	b.Cleanup(shop.Close)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}}
	cfg.Channels = []config.Channel{{Name: "shop", Kind: shopify.Kind, APIURL: shop.URL(), Locations: []string{"main"},
		Credentials: config.Credentials{AccessToken: config.NewSecret(shop.Options().AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(shopSecret)}},
		Settings:    &shopify.Settings{Shop: shop.Options().Shop, LocationIDs: map[string]string{"main": shop.Options().LocationID}}}}
	cfg.Channels[0].Allocation.Percent = nil
	cfg = reparse(b, cfg)
	conn, err := connectors.New(connectors.TestDeps(cfg.Channels[0]))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": conn},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.Ledger().Receive(ctx, inventory.Delta{Key: "init", SKU: "SKU-000", Location: "main", Quantity: int64(n), Reason: "initial"}); err != nil {
		b.Fatal(err)
	}
	shop.SetLevel("SKU-000", int64(n))
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	ids := make([]int64, n)
	states := make([]inventory.LineState, n)
	for i := range ids {
		ids[i] = shop.AddOrder(shopifytest.Order{Name: fmt.Sprintf("#%d", 5000+i), UpdatedAt: t0, FinancialStatus: "PAID",
			Lines: []shopifytest.OrderLine{{ID: int64(1000 + i), SKU: "SKU-000", Quantity: 1}}})
		states[i] = inventory.LineState{Channel: "shop", OrderID: strconv.FormatInt(ids[i], 10), LineID: strconv.Itoa(1000 + i),
			SKU: "SKU-000", Location: "main", Ordered: 1, Version: t0.UnixMilli()}
	}
	// The orders reach the ledger as ingest would put them (their intake
	// path is measured elsewhere).
	if _, err := eng.Ledger().ApplyLines(ctx, states); err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = eng.Run(runCtx) }()
	b.Cleanup(func() { cancel(); wg.Wait() })
	return eng, shop, ids
}
