package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// fixtureSeeds are the testdata examples, compacted: smaller seeds keep
// the minimization of each new finding short.
func fixtureSeeds(f *testing.F) [][]byte {
	files, _ := filepath.Glob("testdata/*.json")
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			f.Fatal(err)
		}
		out = append(out, c.Bytes())
	}
	return out
}

// fuzzConnector is a connector for parsing only: no store behind it.
func fuzzConnector(f *testing.F, secret string) *Connector {
	deps := connectors.TestDeps(config.Channel{Name: "woo", Kind: Kind})
	deps.Now = func() time.Time { return testNow }
	st := &Settings{URL: "http://127.0.0.1:9"}
	st.Defaults()
	c, err := newConnector(deps, st, Credentials{
		ConsumerKey: config.NewSecret("ck"), ConsumerSecret: config.NewSecret("cs"),
		WebhookSecrets: []config.Secret{config.NewSecret(secret)},
	})
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// checkEvents: whatever is accepted is consistent and de-duplicable.
func checkEvents(t *testing.T, ev []connectors.Event) {
	for _, e := range ev {
		switch e.Kind {
		case connectors.EventOrder:
			if e.Order == nil {
				t.Fatal("order event without an order")
			}
			if err := e.Order.Validate(); err != nil {
				t.Fatalf("accepted an inconsistent order: %v", err)
			}
			for _, l := range e.Order.Lines {
				if l.Quantity > connectors.MaxQuantity || l.Cancelled > l.Quantity || l.Returned > l.Shipped {
					t.Fatalf("line out of bounds: %+v", l)
				}
				if l.SKU != "" && checkSKU(l.SKU) != nil {
					t.Fatalf("a SKU the ledger refuses: %q", l.SKU)
				}
			}
		case connectors.EventOrderChanged:
			if e.OrderID == "" {
				t.Fatal("order_changed without an order id")
			}
		default:
			t.Fatalf("unexpected event kind %s", e.Kind)
		}
	}
}

// FuzzParseWebhook feeds signed deliveries of any body and topic: the
// parser never panics, refuses what it can not read with a 400 (never a
// 401: the signature is good), and every event it returns is consistent.
func FuzzParseWebhook(f *testing.F) {
	for _, b := range fixtureSeeds(f) {
		for _, topic := range []string{"order.created", "order.updated", "order.deleted", "order.restored"} {
			f.Add(topic, b)
		}
	}
	f.Add("order.deleted", []byte(`{"id":"12"}`))
	f.Add("order.updated", []byte(`{"id":1,"status":"completed","date_modified_gmt":"2026-04-01T00:00:00","date_completed_gmt":"2026-04-01T00:00:00","line_items":[{"id":2,"sku":"A","quantity":-3,"meta_data":[{"key":"_restock_refunded_items","value":"9"}]}],"refunds":[]}`))
	f.Add("product.updated", []byte(`{"id":1}`))
	const secret = "fuzz-secret"
	c := fuzzConnector(f, secret)
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		r := &connectors.WebhookRequest{Method: "POST", Header: map[string][]string{
			"X-Wc-Webhook-Topic":     {topic},
			"X-Wc-Webhook-Signature": {woocommercetest.Sign(secret, body)},
		}, Body: body}
		ev, err := c.ParseWebhook(context.Background(), r)
		if err != nil {
			if errors.Is(err, connectors.ErrIgnored) {
				return
			}
			if status, _ := webhookStatus(err); status != 400 {
				t.Fatalf("error %v: want ErrIgnored or a 400", err)
			}
			if ev != nil {
				t.Fatal("events with an error")
			}
			return
		}
		if len(ev) == 0 {
			t.Fatalf("no events and no error for topic %q", topic)
		}
		for _, e := range ev {
			if e.ID == "" || e.Topic == "" {
				t.Fatal("event without a dedup id or topic")
			}
		}
		checkEvents(t, ev)
	})
}

// FuzzNormalize: any saved payload is read or refused, never a panic.
func FuzzNormalize(f *testing.F) {
	for _, b := range fixtureSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"id":7}`))
	f.Add([]byte(`[{"id":1,"status":"pending","date_created_gmt":"2026-01-01T00:00:00","line_items":[{"id":1,"quantity":"2","sku":null}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Normalize("woo", data)
		if err != nil {
			return
		}
		checkEvents(t, ev)
	})
}

// FuzzCanonical: an order answer and a refunds answer of any shape: the
// mapping never panics, and what it accepts keeps the model's rules
// (refunds never lower a figure below zero nor past the ordered units).
func FuzzCanonical(f *testing.F) {
	// Compact seeds: the two inputs are minimized together, and large
	// ones make every new finding slow to minimize.
	compact := func(b []byte) []byte {
		var out bytes.Buffer
		if err := json.Compact(&out, b); err != nil {
			f.Fatal(err)
		}
		return out.Bytes()
	}
	var list []json.RawMessage
	if err := json.Unmarshal(readFixture(f, "orders_list_response.example.json"), &list); err != nil {
		f.Fatal(err)
	}
	refunds := compact(readFixture(f, "order_refunds_list_response.example.json"))
	for _, o := range list {
		f.Add(compact(o), refunds)
	}
	f.Add(compact(readFixture(f, "order_retrieve_response.example.json")), []byte(`[]`))
	m := newMapping("woo", "", map[string]string{"shipped": "shipped"})
	f.Fuzz(func(t *testing.T, order, refunds []byte) {
		var o wcOrder
		if json.Unmarshal(order, &o) != nil {
			return
		}
		var rs []wcRefund
		if json.Unmarshal(refunds, &rs) != nil {
			rs = nil
		}
		res, err := m.canonical(&o, rs)
		if err != nil {
			return
		}
		checkEvents(t, []connectors.Event{{Kind: connectors.EventOrder, Order: res.order}})
	})
}

// FuzzProductAnswers: lookup and batch answers of any shape are read or
// refused, never a panic; a batch answer maps every item to a status.
func FuzzProductAnswers(f *testing.F) {
	for _, b := range fixtureSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"update":[{"id":5,"manage_stock":"parent","stock_quantity":"3.5"},{"id":6,"error":{"code":"x_invalid_id","message":"m","data":{"status":"400"}}}]}`))
	c := fuzzConnector(f, "s")
	f.Fuzz(func(t *testing.T, data []byte) {
		var list []wcProduct
		if json.Unmarshal(data, &list) == nil {
			for i := range list {
				_, _ = list[i].listing()
			}
		}
		var b wcBatch
		if json.Unmarshal(data, &b) != nil {
			return
		}
		for i := range b.Update {
			r := c.itemResult(context.Background(), "SKU", pushEntry{id: 1, quantity: 1}, &b.Update[i])
			switch r.Status {
			case connectors.PushAccepted, connectors.PushFailed, connectors.PushRetry, connectors.PushUnknownSKU:
			default:
				t.Fatalf("status %q", r.Status)
			}
		}
	})
}
