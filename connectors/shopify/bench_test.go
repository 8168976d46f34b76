package shopify

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// BenchmarkParseWebhook: verify and parse one orders/updated delivery
// (the 7.6 kB #1001 fixture): the work done inside Shopify's 5 s timeout.
func BenchmarkParseWebhook(b *testing.B) {
	s := shopifytest.New(shopifytest.Options{})
	defer s.Close()
	c, err := newConnector(connectors.TestDeps(channelFor(s)))
	if err != nil {
		b.Fatal(err)
	}
	body, err := os.ReadFile("testdata/order_rest_resource.shopify_python_api.json")
	if err != nil {
		b.Fatal(err)
	}
	req, _ := s.NewWebhook(context.Background(), "http://x/webhooks/shop", "orders/updated", body, "e")
	r := &connectors.WebhookRequest{Method: "POST", Header: req.Header, Body: body, ReceivedAt: time.Now()}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ParseWebhook(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushQuantities250: one full batch of 250 compare-and-set
// updates against the fake store (loopback HTTP, no latency, resolved
// SKUs cached): the connector's own cost per batch.
func BenchmarkPushQuantities250(b *testing.B) {
	s := shopifytest.New(shopifytest.Options{BucketSize: 1e9, RestoreRate: 1e9})
	defer s.Close()
	c, err := newConnector(connectors.TestDeps(channelFor(s)))
	if err != nil {
		b.Fatal(err)
	}
	updates := make([]connectors.QuantityUpdate, 250)
	for i := range updates {
		sku := fmt.Sprintf("SKU-%03d", i)
		s.SetLevel(sku, 0)
		updates[i] = connectors.QuantityUpdate{SKU: sku, Quantity: 0, Previous: new(int64)}
	}
	ctx := context.Background()
	n := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		n++
		for i := range updates {
			*updates[i].Previous = updates[i].Quantity
			updates[i].Quantity = n
		}
		res, err := c.PushQuantities(ctx, updates)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Status != connectors.PushAccepted {
			b.Fatalf("%+v", res[0])
		}
	}
	b.ReportMetric(float64(b.N*len(updates))/b.Elapsed().Seconds(), "items/s")
}
