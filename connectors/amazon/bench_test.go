package amazon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

func BenchmarkParseNotification(b *testing.B) {
	data := readFixture(b, "notification_ORDER_CHANGE.example.json")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseNotification("c", data, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeSearchOrders(b *testing.B) {
	data := readFixture(b, "searchOrders_v2026-01-01_response.example.json")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Normalize("c", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushFeed pushes 5,000 SKUs as one feed through amazontest end
// to end (build, upload, create, poll, gzipped report, results), with the
// rate limits lifted: it measures shelfsync's own cost, not Amazon's pacing.
func BenchmarkPushFeed(b *testing.B) {
	clk := newClock()
	srv := newFake(b, clk, func(o *amazontest.Options) { o.GzipReports = true })
	c := newTestConnector(b, srv, clk, func(ch *config.Channel) { settingsOf(ch).FeedThreshold = 1 })
	updates := make([]connectors.QuantityUpdate, 5000)
	for i := range updates {
		updates[i] = connectors.QuantityUpdate{SKU: fmt.Sprintf("SKU-%05d", i), Quantity: int64(i)}
		srv.SetListing(updates[i].SKU, 0)
	}
	for b.Loop() {
		res, err := c.PushQuantities(context.Background(), updates)
		if err != nil || res[len(res)-1].Status != connectors.PushAccepted {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollOrders polls 500 orders of 3 items each (5 pages) from amazontest.
func BenchmarkPollOrders(b *testing.B) {
	clk := newClock()
	srv := newFake(b, clk, nil)
	c := newTestConnector(b, srv, clk, nil)
	since := clk.Now().Add(-24 * time.Hour)
	for i := range 500 {
		o := amazontest.Order{AmazonOrderID: fmt.Sprintf("111-%07d", i), Status: "Unshipped", LastUpdate: since.Add(time.Duration(i) * time.Minute)}
		for j := range 3 {
			o.Items = append(o.Items, amazontest.Item{OrderItemID: fmt.Sprintf("%d-%d", i, j), SellerSKU: fmt.Sprintf("SKU-%d", j), Ordered: 2})
		}
		srv.AddOrder(o)
	}
	for b.Loop() {
		n := 0
		if _, err := c.PollOrders(context.Background(), since, func(_ context.Context, o []connectors.Order) error { n += len(o); return nil }); err != nil || n != 500 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkReadQuantities1000 reads 1,000 listed SKUs through amazontest
// in the engine's reconcile chunks of 100, with the rate limits lifted, and
// reports the SP-API calls it took per 1,000 SKUs (calls/op): at Amazon's
// published 5 requests a second, each call is 0.2 s of a reconcile.
func BenchmarkReadQuantities1000(b *testing.B) {
	clk := newClock()
	srv := newFake(b, clk, nil)
	c := newTestConnector(b, srv, clk, nil)
	skus := make([]string, 1000)
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-%05d", i)
		srv.SetListing(skus[i], int64(i))
	}
	calls := func() int { return srv.Calls("searchListingsItems") + srv.Calls("getListingsItem") }
	before := calls()
	for b.Loop() {
		for start := 0; start < len(skus); start += 100 {
			got, err := c.ReadQuantities(context.Background(), skus[start:start+100])
			if err != nil || len(got) != 100 {
				b.Fatalf("read %d quantities: %v", len(got), err)
			}
		}
	}
	b.ReportMetric(float64(calls()-before)/float64(b.N), "calls/op")
}
