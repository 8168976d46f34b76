package ebay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// BenchmarkParseWebhook is the receiver's per-delivery cost with the
// public key cached: decode the header, verify ECDSA P-256/SHA-1, parse.
func BenchmarkParseWebhook(b *testing.B) {
	e := newEnv(b, envConfig{})
	body, err := os.ReadFile("testdata/notification_order_confirmation.json")
	if err != nil {
		b.Fatal(err)
	}
	req := webhookRequest(body, e.fake.SignedNotification(body))
	if _, err := e.conn.ParseWebhook(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.conn.ParseWebhook(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTestVector is the published VALID vector's check alone.
func BenchmarkVerifyTestVector(b *testing.B) {
	v := loadVectors(b)["VALID"]
	e := newEnv(b, envConfig{})
	kid := kidOf(b, v.Signature)
	e.fake.AddPublicKey(kid, *v.Response)
	req := webhookRequest(compact(b, v.Message), v.Signature)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.conn.ParseWebhook(context.Background(), req); !errors.Is(err, connectors.ErrIgnored) {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeOrdersPage parses and maps the five-order page.
func BenchmarkNormalizeOrdersPage(b *testing.B) {
	data, err := os.ReadFile("testdata/orders_page.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("bench", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPush25 is one full batch against the local fake (offers
// cached): the connector's and the fake's work, no network latency.
func BenchmarkPush25(b *testing.B) {
	// Neither the connector's revision budget nor the fake's daily limit
	// (eBay's 250) may refuse the benchmark's thousands of revisions.
	e := newEnv(b, envConfig{opts: Options{RevisionCeiling: 250}, fake: ebaytest.Options{RevisionsPerDay: -1}})
	updates := make([]connectors.QuantityUpdate, 25)
	for i := range updates {
		sku := fmt.Sprintf("SKU-%02d", i)
		e.fake.AddListing(sku, 0, 1)
		updates[i] = connectors.QuantityUpdate{SKU: sku, Quantity: int64(i)}
	}
	if _, err := e.conn.PushQuantities(context.Background(), updates); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		// A fresh day each time keeps the revision budget out of the way.
		e.conn.budget.cache = &connectors.MemoryCache{}
		res, err := e.conn.PushQuantities(context.Background(), updates)
		if err != nil || res[0].Status == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadQuantities1000 reads 1,000 listed SKUs as the engine's
// reconcile does, in chunks of 100, against the local fake, and reports
// the eBay calls it took per 1,000 SKUs: ceil(100/25) = 4 a chunk, 40 in
// all, whatever the size of the merchant's catalogue.
func BenchmarkReadQuantities1000(b *testing.B) {
	const n, chunk = 1000, 100
	e := newEnv(b, envConfig{})
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-%04d", i)
		e.fake.AddListing(skus[i], int64(i), 1)
	}
	b.ReportAllocs()
	reads := 0
	for b.Loop() {
		for start := 0; start < n; start += chunk {
			got, err := e.conn.ReadQuantities(context.Background(), skus[start:start+chunk])
			if err != nil || len(got) != chunk {
				b.Fatalf("ReadQuantities = %d quantities, %v", len(got), err)
			}
		}
		reads++
	}
	b.ReportMetric(float64(e.fake.Calls("bulk_get_inventory_item"))/float64(reads), "calls/1000skus")
}

// BenchmarkConfirmShipment is one shipment's confirmation against the
// fake (no latency): a new order and shipment each time. It reports the
// eBay calls a first attempt costs (calls/shipment: 1, the POST).
func BenchmarkConfirmShipment(b *testing.B) {
	e := newEnv(b, envConfig{})
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		order := fmt.Sprintf("27-00000-%05d", n)
		shipOrder(e.fake, order)
		s := shipment(fmt.Sprintf("s-%d", n), order, connectors.ShipmentLine{LineID: "L1", Quantity: 3})
		if res, err := e.conn.ConfirmShipment(context.Background(), s); err != nil || res.Status != connectors.ShipmentConfirmed {
			b.Fatalf("%+v, %v", res, err)
		}
	}
	calls := e.fake.Calls("create_shipping_fulfillment") + e.fake.Calls("get_shipping_fulfillments")
	b.ReportMetric(float64(calls)/float64(n), "calls/shipment")
}

// BenchmarkPollReturns1000 polls an account with 1,000 returns in the
// window, 10 orders: the first poll emits them all; it reports the calls
// of the first poll (calls/poll: 5 searches of 200 and 10 getOrder) and
// of a repeat poll that finds nothing changed (repeat-calls/poll: 5).
func BenchmarkPollReturns1000(b *testing.B) {
	var first, repeat float64
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, envConfig{})
		for o := range 10 {
			shipOrder(e.fake, fmt.Sprintf("O-%d", o))
		}
		for i := range 1000 {
			e.fake.AddReturn(ebaytest.Return{ReturnID: fmt.Sprintf("R%04d", i), OrderID: fmt.Sprintf("O-%d", i%10), ItemID: "110001",
				TransactionID: "L1", Quantity: 1, State: "ITEM_DELIVERED", CreationDate: e.clock.Now().Add(-time.Duration(i) * time.Minute)})
		}
		calls := func() int {
			return e.fake.Calls("search_returns") + e.fake.Calls("get_order") + e.fake.Calls("get_return")
		}
		emitted := 0
		emit := func(_ context.Context, rs []connectors.Return) error { emitted += len(rs); return nil }
		b.StartTimer()
		since := e.clock.Now().Add(-time.Hour)
		through, err := e.conn.PollReturns(context.Background(), since, emit)
		if err != nil || emitted != 1000 {
			b.Fatalf("first poll: %d emitted, %v", emitted, err)
		}
		first = float64(calls())
		if _, err := e.conn.PollReturns(context.Background(), through, emit); err != nil || emitted != 1000 {
			b.Fatalf("repeat poll: %d emitted, %v", emitted, err)
		}
		repeat = float64(calls()) - first
	}
	b.ReportMetric(first, "calls/poll")
	b.ReportMetric(repeat, "repeat-calls/poll")
}
