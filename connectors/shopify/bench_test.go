package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// BenchmarkParseWebhook: verify and parse one orders/updated delivery
// (the 7.6 kB #1001 fixture): the work done inside Shopify's 5 s timeout.
// bare is the body as Shopify sends it (the order itself, read in one
// decode); wrapped is the fixture as saved, {"order": …} (read by shape
// detection).
func BenchmarkParseWebhook(b *testing.B) {
	s := shopifytest.New(shopifytest.Options{})
	defer s.Close()
	c, err := newConnector(connectors.TestDeps(channelFor(s)))
	if err != nil {
		b.Fatal(err)
	}
	wrapped, err := os.ReadFile("testdata/order_rest_resource.shopify_python_api.json")
	if err != nil {
		b.Fatal(err)
	}
	var v struct {
		Order json.RawMessage `json:"order"`
	}
	if err := json.Unmarshal(wrapped, &v); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{{"bare", v.Order}, {"wrapped", wrapped}} {
		b.Run(tc.name, func(b *testing.B) {
			req, _ := s.NewWebhook(context.Background(), "http://x/webhooks/shop", "orders/updated", tc.body, "e")
			r := &connectors.WebhookRequest{Method: "POST", Header: req.Header, Body: tc.body, ReceivedAt: time.Now()}
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ParseWebhook(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
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
