package ebay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
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
	e := newEnv(b, envConfig{opts: Options{RevisionCeiling: 250}})
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
