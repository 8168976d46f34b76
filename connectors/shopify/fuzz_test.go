package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// FuzzParseWebhook feeds signed deliveries of any body and topic: the
// parser never panics, refuses what it can not read with a 400, and
// every order it accepts is consistent.
func FuzzParseWebhook(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, topic := range []string{"orders/updated", "refunds/create", "inventory_levels/update"} {
			f.Add(topic, b)
		}
	}
	f.Add("orders/edited", []byte(`{"order_edit":{"order_id":"12"}}`))
	f.Add("orders/create", []byte(`{"id":1,"updated_at":"2026-01-01T00:00:00Z","line_items":[{"id":2,"sku":"A","quantity":-3,"current_quantity":9}],"fulfillments":[{"status":"success","line_items":[{"id":2,"quantity":7}]}],"refunds":[{"id":3,"refund_line_items":[{"line_item_id":2,"quantity":5,"restock_type":"return"}]}]}`))
	// No fake store: parsing a webhook does no I/O beyond the cache.
	const secret = "fuzz-secret"
	c, err := newConnector(connectors.TestDeps(config.Channel{
		Name: "shop", Kind: Kind, APIURL: "http://127.0.0.1:9",
		Credentials: config.Credentials{AccessToken: config.NewSecret("shpat_fuzz")},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(secret)}},
		Settings:    &Settings{APIVersion: DefaultAPIVersion},
	}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		r := &connectors.WebhookRequest{Method: "POST", Header: map[string][]string{
			"X-Shopify-Topic":       {topic},
			"X-Shopify-Hmac-Sha256": {shopifytest.Sign(secret, body)},
			"X-Shopify-Event-Id":    {"e"},
		}, Body: body}
		ev, err := c.ParseWebhook(context.Background(), r)
		if err != nil {
			var we *connectors.WebhookError
			if errors.Is(err, connectors.ErrIgnored) {
				return
			}
			if !errors.As(err, &we) || we.Status != 400 {
				t.Fatalf("error %v: want ErrIgnored or a 400", err)
			}
			return
		}
		if len(ev) == 0 {
			t.Fatalf("no events and no error for topic %q", topic)
		}
		for _, e := range ev {
			if e.Order != nil {
				if err := e.Order.Validate(); err != nil {
					t.Fatalf("accepted an inconsistent order: %v", err)
				}
			}
			if e.ID == "" {
				t.Fatal("event without a dedup id")
			}
		}
	})
}

// addFixtures seeds f with every testdata/*.json payload.
func addFixtures(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzNormalize: any input is read or refused, never a panic, and
// accepted orders are consistent.
func FuzzNormalize(f *testing.F) {
	addFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Normalize("shop", data)
		if err != nil {
			return
		}
		for _, e := range ev {
			if e.Order != nil {
				if err := e.Order.Validate(); err != nil {
					t.Fatalf("accepted an inconsistent order: %v", err)
				}
			}
		}
	})
}

// FuzzOrderBody: an orders/* webhook body that parse reads as one order
// (a wrapping "order", or a top-level "line_items" and none of the keys it
// looks for first) is read by orderBody (one decode straight into an
// order) to exactly parse's events, and an error where parse errs; any
// other body orderBody hands to parse, or reads as an order whose keys
// differ from Shopify's only in case (encoding/json matches them so).
func FuzzOrderBody(f *testing.F) {
	addFixtures(f)
	f.Add([]byte(`{"id": 1, "line_items": [], "order": {"id": 2, "line_items": []}}`))
	f.Add([]byte(`{"id": 1, "line_items": [], "refund": {"id": 2}}`))
	f.Add([]byte(`{"id": "", "line_items": [{"id": 1, "sku": "A", "quantity": 1}]}`))
	f.Add([]byte(`{"id": 7, "line_items": [], "updated_at": "nope"}`))
	r := payloadReader{channel: "shop", locations: map[string]string{"1": "main"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ferr := r.orderBody(data)
		slow, serr := r.parse(data)
		var top map[string]json.RawMessage
		if json.Unmarshal(bytes.TrimSpace(data), &top) != nil || !oneOrderShape(top) {
			return
		}
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("orderBody error %v, parse error %v", ferr, serr)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("orderBody read %+v, parse %+v", fast, slow)
		}
	})
}

// oneOrderShape: parse reads a body with these top-level keys as one order.
func oneOrderShape(top map[string]json.RawMessage) bool {
	if has(top, "order") {
		return true
	}
	for _, k := range []string{"order", "orders", "refund", "inventory_level", "inventory_levels", "data", "errors"} {
		if has(top, k) {
			return false
		}
	}
	return has(top, "line_items")
}
