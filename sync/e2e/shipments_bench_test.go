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
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// BenchmarkShipmentConfirmLatency submits shipments at 50 a second for
// 10 s (500 orders of one unit, already on the ledger) to the real
// connectors against their fakes answering after 50 ms, at the channels'
// published limits (Shopify Plus: 1000 points a second; Amazon's
// published plan, confirmShipment 2/s burst 10; eBay publishes daily
// quotas only), with the config's defaults (shipments.workers), and
// reports the time from each shipment's arrival to the channel's
// acceptance of its confirmation (each shipment's received_at and
// confirmed_at): p50, p99 and max, overall and per channel, and the
// confirmations each fake holds (must equal the shipments: each order
// confirmed exactly once). The sub-benchmarks split the 50 a second:
// shopify puts all on Shopify; three_equal a third on each of Shopify,
// eBay and Amazon (Amazon's published plan cannot carry 16.7 a second:
// its figures show the floor that plan sets); three_amazon_at_plan gives
// Amazon 1.8 a second (the connector's pace of its 2/s plan) and Shopify
// and eBay 24.1 each.
//
//	go test -run '^$' -bench ShipmentConfirmLatency -benchtime 1x ./sync/e2e/
func BenchmarkShipmentConfirmLatency(b *testing.B) {
	mixes := []struct {
		name   string
		shares map[string]float64 // channel → shipments a second
	}{
		{"shopify", map[string]float64{"shop": 50}},
		{"three_equal", map[string]float64{"shop": 50.0 / 3, "bay": 50.0 / 3, "amz": 50.0 / 3}},
		{"three_amazon_at_plan", map[string]float64{"shop": 24.1, "bay": 24.1, "amz": 1.8}},
	}
	for _, m := range mixes {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				runShipBench(b, m.shares)
			}
		})
	}
}

// benchShipment is one order of the benchmark: its channel and ids.
type benchShipment struct {
	channel, order, line string
}

// runShipBench offers 500 shipments at 50 a second, spread over the
// channels by shares, and reports the latencies.
func runShipBench(b *testing.B, shares map[string]float64) {
	const (
		rate   = 50
		orders = 500
	)
	sw := newShipWorld(b, spread(shares, orders))
	ctx := context.Background()
	tick := time.NewTicker(time.Second / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i, s := range sw.ships {
		<-tick.C
		wg.Add(1)
		go func() { // as many clients as it takes to offer the rate
			defer wg.Done()
			_, err := sw.eng.Shipments().Submit(ctx, shipments.Request{Channel: s.channel, OrderID: s.order,
				Lines: []shipments.RequestLine{{LineID: s.line, Quantity: 1}}, Carrier: "ups",
				TrackingNumber: fmt.Sprintf("1Z999AA1%010d", i), ShippedAt: start, IdempotencyKey: "bench-" + strconv.Itoa(i)}, "api")
			if err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	tick.Stop()
	b.ReportMetric(float64(orders)/time.Since(start).Seconds(), "offered/s")
	lat := waitConfirmed(b, sw.eng, sw.ships)
	report := func(prefix string, l []time.Duration) {
		if len(l) == 0 {
			return
		}
		slices.Sort(l)
		q := func(p float64) float64 { return l[int(p*float64(len(l)-1))].Seconds() * 1000 }
		b.ReportMetric(q(0.5), prefix+"p50-ms")
		b.ReportMetric(q(0.99), prefix+"p99-ms")
		b.ReportMetric(l[len(l)-1].Seconds()*1000, prefix+"max-ms")
	}
	var all []time.Duration
	for ch, l := range lat {
		all = append(all, l...)
		if len(shares) > 1 {
			report(ch+"-", l)
		}
	}
	report("", all)
	if n := sw.confirmations(); n != orders {
		b.Errorf("the fakes hold %d confirmations of %d shipments, want exactly one each", n, orders)
	}
	b.ReportMetric(float64(sw.confirmations()), "confirmations")
}

// spread assigns n orders to channels in proportion to shares, evenly
// interleaved (smooth weighted round robin), in submission order.
func spread(shares map[string]float64, n int) []benchShipment {
	names := make([]string, 0, len(shares))
	var total float64
	for ch, s := range shares {
		names = append(names, ch)
		total += s
	}
	slices.Sort(names)
	credit := map[string]float64{}
	out := make([]benchShipment, n)
	for i := range out {
		best := ""
		for _, ch := range names {
			credit[ch] += shares[ch] / total
			if best == "" || credit[ch] > credit[best] {
				best = ch
			}
		}
		credit[best]--
		out[i] = benchShipment{channel: best}
	}
	return out
}

// waitConfirmed waits until every shipment is confirmed and returns each
// one's arrival → acceptance time, by channel.
func waitConfirmed(b *testing.B, eng *engine.Engine, ships []benchShipment) map[string][]time.Duration {
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		lat := map[string][]time.Duration{}
		done := 0
		for _, s := range ships {
			v, err := eng.Shipments().ForOrder(ctx, s.channel, s.order)
			if err != nil {
				b.Fatal(err)
			}
			if len(v) != 1 || v[0].State.ConfirmedAt == nil {
				break
			}
			lat[s.channel] = append(lat[s.channel], v[0].State.ConfirmedAt.Sub(v[0].ReceivedAt))
			done++
		}
		if done == len(ships) {
			return lat
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d confirmed after 5 min", done, len(ships))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shipWorld is the engine with the benchmark's channels against their
// fakes (50 ms latency, published limits), holding one open one-unit
// order per shipment.
type shipWorld struct {
	eng   *engine.Engine
	shop  *shopifytest.Server
	bay   *ebaytest.Server
	amz   *amazontest.Server
	ships []benchShipment
}

func newShipWorld(b *testing.B, ships []benchShipment) *shipWorld {
	rdb, prefix := redistest.New(b)
	const latency = 50 * time.Millisecond
	sw := &shipWorld{ships: ships,
		shop: shopifytest.New(shopifytest.Options{Latency: latency, BucketSize: 10000, RestoreRate: 1000}),
		bay:  ebaytest.New(ebaytest.Options{Latency: latency}),
		amz:  amazontest.New(amazontest.Options{Latency: latency})}
	b.Cleanup(func() { sw.shop.Close(); sw.bay.Close(); sw.amz.Close() })
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}}
	used := map[string]bool{}
	for _, s := range ships {
		used[s.channel] = true
	}
	for _, ch := range sw.channels() {
		if used[ch.Name] {
			ch.Allocation.Percent = nil
			cfg.Channels = append(cfg.Channels, ch)
		}
	}
	cfg = reparse(b, cfg)
	conns := map[string]connectors.Connector{}
	for _, ch := range cfg.Channels {
		c, err := connectors.New(connectors.TestDeps(ch))
		if err != nil {
			b.Fatal(err)
		}
		conns[ch.Name] = c
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: conns,
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	sw.eng = eng
	sw.addOrders(b)
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = eng.Run(runCtx) }()
	b.Cleanup(func() { cancel(); wg.Wait() })
	return sw
}

// channels are the three channels' configs against the fakes.
func (sw *shipWorld) channels() []config.Channel {
	locs := []string{"main"}
	return []config.Channel{
		{Name: "shop", Kind: shopify.Kind, APIURL: sw.shop.URL(), Locations: locs,
			Credentials: config.Credentials{AccessToken: config.NewSecret(sw.shop.Options().AccessToken)},
			Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(shopSecret)}},
			Settings:    &shopify.Settings{Shop: sw.shop.Options().Shop, LocationIDs: map[string]string{"main": sw.shop.Options().LocationID}}},
		{Name: "bay", Kind: ebay.Kind, APIURL: sw.bay.URL(), Locations: locs,
			Credentials: config.Credentials{ClientID: config.NewSecret(ebaytest.DefaultClientID),
				ClientSecret: config.NewSecret(ebaytest.DefaultClientSecret), RefreshToken: config.NewSecret(ebaytest.DefaultRefreshToken)},
			Webhook:  config.Webhook{VerificationToken: config.NewSecret(ebayToken), EndpointURL: "http://127.0.0.1:1/webhooks/bay"},
			Settings: &ebay.Settings{}},
		{Name: "amz", Kind: amazon.Kind, APIURL: sw.amz.URL, Locations: locs,
			Credentials: config.Credentials{ClientID: config.NewSecret(amazontest.DefaultClientID),
				ClientSecret: config.NewSecret(amazontest.DefaultClientSecret), RefreshToken: config.NewSecret(amazontest.DefaultRefreshToken),
				AWSAccessKeyID: config.NewSecret(amazontest.DefaultAWSKeyID), AWSSecretAccessKey: config.NewSecret(amazontest.DefaultAWSSecret)},
			Webhook: config.Webhook{Secrets: []config.Secret{config.NewSecret(amzSecret)}, Header: "X-Relay-Secret"},
			Settings: &amazon.Settings{SellerID: amazontest.DefaultSellerID, MarketplaceIDs: []string{amazontest.DefaultMarketplace},
				AuthURL: sw.amz.TokenURL(), SQS: amazon.SQS{QueueURL: sw.amz.QueueURL(), Region: amazontest.DefaultAWSRegion,
					Endpoint: sw.amz.URL, WaitTime: time.Second}}},
	}
}

// addOrders stocks SKU-000 for every shipment and puts one open one-unit
// order per shipment on its channel's fake and on the ledger, as ingest
// would (their intake path is measured elsewhere); it fills in the
// shipments' order and line ids.
func (sw *shipWorld) addOrders(b *testing.B) {
	ctx := context.Background()
	n := int64(len(sw.ships))
	if _, err := sw.eng.Ledger().Receive(ctx, inventory.Delta{Key: "init", SKU: "SKU-000", Location: "main", Quantity: n, Reason: "initial"}); err != nil {
		b.Fatal(err)
	}
	sw.shop.SetLevel("SKU-000", n)
	sw.bay.AddListing("SKU-000", n, 1)
	sw.amz.SetListing("SKU-000", n)
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	states := make([]inventory.LineState, len(sw.ships))
	for i := range sw.ships {
		s := &sw.ships[i]
		switch s.channel {
		case "shop":
			s.line = strconv.Itoa(1000 + i)
			s.order = strconv.FormatInt(sw.shop.AddOrder(shopifytest.Order{Name: fmt.Sprintf("#%d", 5000+i), UpdatedAt: t0, FinancialStatus: "PAID",
				Lines: []shopifytest.OrderLine{{ID: int64(1000 + i), SKU: "SKU-000", Quantity: 1}}}), 10)
		case "bay":
			s.order, s.line = fmt.Sprintf("E-%d", i), "L1"
			sw.bay.AddOrder(ebaytest.Order{OrderID: s.order, LegacyOrderID: s.order, CreationDate: t0, LastModifiedDate: t0,
				OrderFulfillmentStatus: "NOT_STARTED", OrderPaymentStatus: "PAID", CancelState: "NONE_REQUESTED",
				LineItems: []ebaytest.LineItem{{LineItemID: s.line, SKU: "SKU-000", Quantity: 1}}})
		case "amz":
			s.order, s.line = fmt.Sprintf("111-%07d-0000000", i), "I1"
			sw.amz.AddOrder(amazontest.Order{AmazonOrderID: s.order, Status: "Unshipped", LastUpdate: t0,
				Items: []amazontest.Item{{OrderItemID: s.line, SellerSKU: "SKU-000", Ordered: 1}}})
		}
		states[i] = inventory.LineState{Channel: s.channel, OrderID: s.order, LineID: s.line,
			SKU: "SKU-000", Location: "main", Ordered: 1, Version: t0.UnixMilli()}
	}
	if _, err := sw.eng.Ledger().ApplyLines(ctx, states); err != nil {
		b.Fatal(err)
	}
}

// confirmations counts what the fakes hold: Shopify fulfillments, eBay
// shipping fulfillments and Amazon packages.
func (sw *shipWorld) confirmations() int {
	n := len(sw.shop.CreatedFulfillments())
	for _, s := range sw.ships {
		switch s.channel {
		case "bay":
			n += len(sw.bay.Fulfillments(s.order))
		case "amz":
			n += len(sw.amz.Packages(s.order))
		}
	}
	return n
}
