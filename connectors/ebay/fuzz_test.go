package ebay

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
)

func seedTestdata(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzNormalize: any payload normalizes to valid orders or an error,
// never a panic.
func FuzzNormalize(f *testing.F) {
	seedTestdata(f)
	f.Add([]byte(`{"orders":[{"orderId":"1","lastModifiedDate":"2026-01-01T00:00:00.000Z","lineItems":[{"lineItemId":"1","quantity":1}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := Normalize("fuzz", data)
		if err != nil {
			if len(events) != 0 {
				t.Fatalf("events with an error: %v", err)
			}
			return
		}
		for _, ev := range events {
			switch ev.Kind {
			case connectors.EventOrder:
				if err := ev.Order.Validate(); err != nil {
					t.Fatalf("invalid order handed on: %v", err)
				}
			case connectors.EventOrderChanged:
				if ev.OrderID == "" {
					t.Fatal("order_changed without an order id")
				}
			default:
				t.Fatalf("unexpected event kind %s", ev.Kind)
			}
		}
	})
}

// FuzzParseSignature: any header decodes or is refused, never a panic;
// what decodes names a kid and a known digest.
func FuzzParseSignature(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Signature)
	}
	f.Add("")
	f.Add("e30=")
	f.Fuzz(func(t *testing.T, header string) {
		s, err := parseSignature(header)
		if err != nil {
			return
		}
		if s.Kid == "" || !s.hash.Available() || len(s.sig) == 0 {
			t.Fatalf("accepted a header without kid, digest or signature: %+v", s)
		}
	})
}

// FuzzParsePublicKey: any getPublicKey answer parses to an ECDSA key or
// is refused.
func FuzzParsePublicKey(f *testing.F) {
	for _, v := range loadVectors(f) {
		if v.Response != nil {
			b, _ := json.Marshal(v.Response)
			f.Add(b)
		}
	}
	f.Add([]byte(`{"key":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----","algorithm":"ECDSA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parsePublicKey(data)
		if err == nil && k.key == nil {
			t.Fatal("no error and no key")
		}
	})
}

// FuzzBulkResponse: any answer of bulk_update_price_quantity gives one
// result per SKU with a known status.
func FuzzBulkResponse(f *testing.F) {
	f.Add([]byte(`{"responses":[{"statusCode":200,"sku":"A","offerId":"1"},{"statusCode":400,"sku":"B","errors":[{"errorId":25604,"message":"bad"}]}]}`))
	f.Add([]byte(`{"responses":[{"statusCode":404,"sku":"A","offerId":"1","errors":[{"errorId":25713}]}]}`))
	f.Add([]byte(`{"errors":[{"errorId":25709,"message":"Invalid value for requests"}]}`))
	c := &Connector{metrics: mustMetrics(f), log: zerolog.Nop(), budget: &revisionBudget{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var br bulkResponse
		if json.Unmarshal(data, &br) != nil {
			return
		}
		bySKU := map[string][]bulkEntry{}
		for _, e := range br.Responses {
			bySKU[e.SKU] = append(bySKU[e.SKU], e)
		}
		for _, sku := range []string{"A", "B"} {
			r := c.itemResult(context.Background(), bulkItem{sku: sku}, bySKU[sku])
			switch r.Status {
			case connectors.PushAccepted, connectors.PushRetry, connectors.PushFailed, connectors.PushUnknownSKU:
			default:
				t.Fatalf("status %q", r.Status)
			}
			if r.SKU != sku {
				t.Fatalf("result for %q names %q", sku, r.SKU)
			}
		}
	})
}

func mustMetrics(tb testing.TB) *metrics {
	m, err := newMetrics(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// bulkGetFixture is a real-shaped bulkGetInventoryItem answer (written for
// this project): two items, a 404 and a 500 entry.
const bulkGetFixture = "testdata/inventory/bulk_get_inventory_item.json"

// bulkGetAsked are the SKUs the fixture answers for, and one it does not.
var bulkGetAsked = []string{"TSHIRT-RED-M", "MUG-WHITE", "POSTER-A2", "SOCKS-3PK", "NOT-ANSWERED"}

// FuzzBulkGetResponse: any bulkGetInventoryItem answer, with any status,
// is an error or sorts every SKU asked into exactly one of found, unknown,
// retry and skipped, with no quantity below zero and no SKU not asked.
func FuzzBulkGetResponse(f *testing.F) {
	fixture, err := os.ReadFile(bulkGetFixture)
	if err != nil {
		f.Fatal(err)
	}
	for _, status := range []int{200, 207, 400} {
		f.Add(status, fixture)
	}
	f.Add(200, []byte(`{"responses":[{"statusCode":200,"sku":"MUG-WHITE","inventoryItem":{"sku":"MUG-WHITE","availability":{"shipToLocationAvailability":{"quantity":3}}}},{"statusCode":200,"sku":"MUG-WHITE","inventoryItem":{"availability":{"shipToLocationAvailability":{"quantity":4}}}}]}`))
	f.Add(200, []byte(`{"responses":[{"statusCode":200,"sku":"TSHIRT-RED-M","inventoryItem":{"availability":{"shipToLocationAvailability":{"quantity":-1}}}},{"statusCode":200,"sku":"MUG-WHITE"}]}`))
	f.Add(400, []byte(`{"errors":[{"errorId":25709,"message":"Invalid value for requests"}]}`))
	f.Add(200, []byte(`{"responses":[]}`))
	f.Add(500, []byte(`not json`))
	f.Fuzz(func(t *testing.T, status int, data []byte) {
		o, err := parseBulkGet(&response{status: status, body: data}, bulkGetAsked, true)
		if err != nil {
			if o.found != nil || o.unknown != nil || o.retry != nil || o.skipped != nil {
				t.Fatalf("an outcome with the error %v: %+v", err, o)
			}
			return
		}
		if status != 200 && status != 207 && status != 400 {
			t.Fatalf("status %d read as per-SKU entries", status)
		}
		seen := map[string]int{}
		for sku, q := range o.found {
			seen[sku]++
			if q < 0 {
				t.Fatalf("SKU %s found with quantity %d", sku, q)
			}
		}
		for _, sku := range o.unknown {
			seen[sku]++
		}
		for _, s := range append(o.retry, o.skipped...) {
			seen[s.sku]++
			if s.reason == "" {
				t.Fatalf("SKU %s left out without a reason", s.sku)
			}
		}
		if len(seen) != len(bulkGetAsked) {
			t.Fatalf("outcome names %d SKUs; asked %d: %+v", len(seen), len(bulkGetAsked), o)
		}
		for _, sku := range bulkGetAsked {
			if seen[sku] != 1 {
				t.Fatalf("SKU %s sorted %d times: %+v", sku, seen[sku], o)
			}
		}
	})
}
