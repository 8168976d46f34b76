package woocommerce

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// TestParseWebhookSignature: deliveries are verified over the raw body
// against every configured secret before anything else is read.
func TestParseWebhookSignature(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	body := readFixture(t, "order_retrieve_response.example.json")
	good := s.Options().WebhookSecret
	tests := []struct {
		name    string
		secrets []string
		mutate  func(r *connectors.WebhookRequest)
		status  int
		reason  string
	}{
		{name: "good", secrets: []string{good}},
		{name: "rotated: the new secret first", secrets: []string{"new-secret", good}},
		{name: "rotated: the old secret first", secrets: []string{good, "new-secret"}},
		{name: "wrong secret", secrets: []string{"other"}, status: 401, reason: "bad_signature"},
		{name: "no secret configured", secrets: nil, status: 401, reason: "bad_signature"},
		{name: "body changed", secrets: []string{good}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Body = append(r.Body, ' ') }},
		{name: "no signature", secrets: []string{good}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Del("X-WC-Webhook-Signature") }},
		{name: "signature not base64", secrets: []string{good}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Set("X-WC-Webhook-Signature", "%%%") }},
		{name: "signature of another length", secrets: []string{good}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Set("X-WC-Webhook-Signature", "YWJj") }},
		{name: "hex instead of base64", secrets: []string{good}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) {
				r.Header.Set("X-WC-Webhook-Signature", strings.Repeat("ab", 32))
			}},
		{name: "no topic", secrets: []string{good}, status: 400, reason: "malformed",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Del("X-WC-Webhook-Topic") }},
		{name: "lower-case header names", secrets: []string{good},
			mutate: func(r *connectors.WebhookRequest) {
				h := http.Header{}
				for k, v := range r.Header {
					h[strings.ToLower(k)] = v
				}
				r.Header = h
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestConnector(t, s, func(_ *Settings, c *Credentials, d *connectors.Deps) {
				c.WebhookSecrets = nil
				for _, v := range tt.secrets {
					c.WebhookSecrets = append(c.WebhookSecrets, config.NewSecret(v))
				}
				d.Now = func() time.Time { return testNow }
			})
			r := signed(t, s, "order.updated", body)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			ev, err := f.c.ParseWebhook(context.Background(), r)
			status, reason := webhookStatus(err)
			if status != tt.status || reason != tt.reason {
				t.Fatalf("got %d %q (%v), want %d %q", status, reason, err, tt.status, tt.reason)
			}
			if tt.status != 0 {
				if ev != nil {
					t.Fatal("events returned with a refusal")
				}
				return
			}
			if len(ev) != 1 || ev[0].Kind != connectors.EventOrder || ev[0].Order.OrderID != "727" {
				t.Fatalf("events %+v", ev)
			}
		})
	}
}

// TestParseWebhookSecretEntities: WooCommerce signs with the secret's HTML
// entities decoded (wp_specialchars_decode), so a secret holding &amp;
// verifies in either form.
func TestParseWebhookSecretEntities(t *testing.T) {
	s := newFake(t, woocommercetest.Options{WebhookSecret: "a&b<c"})
	f := newTestConnector(t, s, func(_ *Settings, c *Credentials, d *connectors.Deps) {
		c.WebhookSecrets = []config.Secret{config.NewSecret("a&amp;b&lt;c")}
		d.Now = func() time.Time { return testNow }
	})
	_, err := f.c.ParseWebhook(context.Background(), signed(t, s, "order.updated", readFixture(t, "order_retrieve_response.example.json")))
	if err != nil {
		t.Fatal(err)
	}
}

// TestParseWebhookPing: a new webhook's ping is answered 200 with no
// events, signed or not; a body that only looks like one with a topic is
// a delivery and must be signed.
func TestParseWebhookPing(t *testing.T) {
	s := newFake(t, woocommercetest.Options{WebhookID: 142})
	f := newTestConnector(t, s, nil)
	req, err := s.NewPing(context.Background(), "https://sync.example.com/webhooks/woo")
	if err != nil {
		t.Fatal(err)
	}
	r := webhookRequest(t, req)
	if string(r.Body) != "webhook_id=142" {
		t.Fatalf("ping body %q", r.Body)
	}
	ev, err := f.c.ParseWebhook(context.Background(), r)
	if !errors.Is(err, connectors.ErrIgnored) || ev != nil {
		t.Fatalf("ping: %v %v", ev, err)
	}
	// With a topic header it is not a ping: unsigned, it is refused.
	r.Header.Set("X-WC-Webhook-Topic", "order.updated")
	if _, err := f.c.ParseWebhook(context.Background(), r); errors.Is(err, connectors.ErrIgnored) {
		t.Fatal("a body like a ping with a topic passed unsigned")
	}
	for _, body := range []string{"webhook_id=", "webhook_id=1&x=2", "webhook_id=abc", "webhook_id=123456789012345678901"} {
		r := &connectors.WebhookRequest{Method: "POST", Header: http.Header{}, Body: []byte(body)}
		_, err := f.c.ParseWebhook(context.Background(), r)
		if status, _ := webhookStatus(err); status != 401 {
			t.Errorf("%q: %v, want 401", body, err)
		}
	}
}

// TestParseWebhookTopics: what each topic becomes.
func TestParseWebhookTopics(t *testing.T) {
	s := newFake(t, woocommercetest.Options{Now: func() time.Time { return testNow }})
	s.AddProduct(woocommercetest.Product{SKU: "A", ManageStock: true, Stock: 5})
	plain := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 2}}})
	refunded := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 2}}})
	if _, err := s.Refund(refunded, true, map[int64]int64{mustLine(t, s, refunded): 1}); err != nil {
		t.Fatal(err)
	}
	draft := s.AddOrder(woocommercetest.Order{Status: "checkout-draft", Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = func() time.Time { return testNow } })
	body := func(id int64) []byte {
		b, err := s.OrderJSON(id)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		topic   string
		body    []byte
		kind    connectors.EventKind
		orderID string
		ignored bool
	}{
		{name: "created: the whole order", topic: "order.created", body: body(plain), kind: connectors.EventOrder, orderID: idStr(plain)},
		{name: "updated: the whole order", topic: "order.updated", body: body(plain), kind: connectors.EventOrder, orderID: idStr(plain)},
		{name: "restored: the whole order", topic: "order.restored", body: body(plain), kind: connectors.EventOrder, orderID: idStr(plain)},
		{name: "an order with refunds: fetch it", topic: "order.updated", body: body(refunded), kind: connectors.EventOrderChanged, orderID: idStr(refunded)},
		{name: "deleted: fetch it (a trashed order reads as trash)", topic: "order.deleted", body: woocommercetest.DeletedBody(plain), kind: connectors.EventOrderChanged, orderID: idStr(plain)},
		{name: "deleted with a string id", topic: "order.deleted", body: []byte(`{"id":"42"}`), kind: connectors.EventOrderChanged, orderID: "42"},
		{name: "topic case is ignored", topic: "Order.Updated", body: body(plain), kind: connectors.EventOrder, orderID: idStr(plain)},
		{name: "a checkout draft is ignored", topic: "order.created", body: body(draft), ignored: true},
		{name: "product.updated is ignored", topic: "product.updated", body: []byte(`{"id":1}`), ignored: true},
		{name: "a custom action topic is ignored", topic: "action.woocommerce_add_to_cart", body: []byte(`{"action":"x","arg":"y"}`), ignored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := f.c.ParseWebhook(context.Background(), signed(t, s, tt.topic, tt.body))
			if tt.ignored {
				if !errors.Is(err, connectors.ErrIgnored) || ev != nil {
					t.Fatalf("want ErrIgnored, got %v %v", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ev) != 1 {
				t.Fatalf("events %+v", ev)
			}
			e := ev[0]
			if e.Kind != tt.kind || e.Channel != "woo" || e.Topic != strings.ToLower(tt.topic) || !e.ReceivedAt.Equal(testNow) {
				t.Fatalf("event %+v", e)
			}
			id := e.OrderID
			if e.Order != nil {
				id = e.Order.OrderID
				if err := e.Order.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			if id != tt.orderID {
				t.Fatalf("order %s, want %s", id, tt.orderID)
			}
			if !strings.HasPrefix(e.ID, strings.ToLower(tt.topic)+":") {
				t.Fatalf("dedup id %q", e.ID)
			}
		})
	}
}

// TestParseWebhookDedupID: two states of an order within one second (a
// sale and its cancel) share date_modified_gmt and X-WC-Webhook-Delivery-ID,
// yet get different dedup ids; the same body again gets the same one.
func TestParseWebhookDedupID(t *testing.T) {
	s := newFake(t, woocommercetest.Options{Now: func() time.Time { return testNow }})
	id := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 2}}})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = func() time.Time { return testNow } })
	sale, _ := s.OrderJSON(id)
	if err := s.UpdateOrder(id, func(o *woocommercetest.Order) { o.Status = "cancelled" }); err != nil {
		t.Fatal(err)
	}
	cancel, _ := s.OrderJSON(id)
	r1, r2, r3 := signed(t, s, "order.updated", sale), signed(t, s, "order.updated", cancel), signed(t, s, "order.updated", sale)
	if r1.Header.Get("X-WC-Webhook-Delivery-ID") != r2.Header.Get("X-WC-Webhook-Delivery-ID") {
		t.Fatal("the fake's delivery ids differ within a second: it should derive them as WooCommerce does")
	}
	e1, err1 := f.c.ParseWebhook(context.Background(), r1)
	e2, err2 := f.c.ParseWebhook(context.Background(), r2)
	e3, err3 := f.c.ParseWebhook(context.Background(), r3)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if !e1[0].Order.UpdatedAt.Equal(e2[0].Order.UpdatedAt) {
		t.Fatal("the two states should share their version")
	}
	if e1[0].ID == e2[0].ID {
		t.Fatalf("sale and cancel share the dedup id %q", e1[0].ID)
	}
	if e1[0].ID != e3[0].ID {
		t.Fatalf("the same body got two dedup ids %q %q", e1[0].ID, e3[0].ID)
	}
	if e2[0].Order.Status != connectors.StatusCancelled || e2[0].Order.Lines[0].Cancelled != 2 || e2[0].Order.Lines[0].Quantity != 2 {
		t.Fatalf("cancel %+v", e2[0].Order)
	}
}

// TestParseWebhookHostile: signed bodies the ledger would refuse are a 400
// with nothing returned.
func TestParseWebhookHostile(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = func() time.Time { return testNow } })
	order := func(sku, qty, modified string) string {
		return `{"id":1,"status":"processing","date_modified_gmt":"` + modified + `","refunds":[],"line_items":[{"id":2,"sku":` + sku + `,"quantity":` + qty + `}]}`
	}
	const now = "2026-04-02T09:00:00"
	tests := []struct {
		name, topic, body, reason string
	}{
		{"control character in a SKU", "order.created", order(`"A\u0007"`, "1", now), "invalid_identifier"},
		{"the ledger's separator in a SKU", "order.created", order(`"A\u001fB"`, "1", now), "invalid_identifier"},
		{"DEL in a SKU", "order.created", order(`"A\u007f"`, "1", now), "invalid_identifier"},
		{"invalid UTF-8 in a SKU", "order.created", strings.Replace(order(`"AB"`, "1", now), "AB", "A\xff", 1), "malformed"},
		{"negative quantity", "order.updated", order(`"A"`, "-3", now), "invalid_quantity"},
		{"quantity past 10^12", "order.updated", order(`"A"`, "1000000000001", now), "invalid_quantity"},
		{"quantity past int64", "order.updated", order(`"A"`, "99999999999999999999", now), "malformed"},
		{"fractional quantity", "order.updated", order(`"A"`, "0.5", now), "invalid_quantity"},
		{"version 6 minutes ahead", "order.updated", order(`"A"`, "1", "2026-04-02T09:06:00"), "invalid_version"},
		{"version in year 9999", "order.updated", order(`"A"`, "1", "9999-12-31T23:59:59"), "invalid_version"},
		{"version before 1970", "order.updated", order(`"A"`, "1", "1960-01-01T00:00:00"), "invalid_version"},
		{"not JSON", "order.updated", `<html>oops</html>`, "malformed"},
		{"empty body", "order.updated", ``, "malformed"},
		{"truncated", "order.updated", order(`"A"`, "1", now)[:40], "malformed"},
		{"a list, not an order", "order.updated", `[]`, "malformed"},
		{"wrong type", "order.updated", `{"id":1,"status":"processing","date_modified_gmt":"` + now + `","line_items":"many"}`, "malformed"},
		{"no date (a v1 payload)", "order.updated", `{"id":1,"status":"processing","line_items":[]}`, "malformed"},
		{"deleted without id", "order.deleted", `{}`, "malformed"},
		{"deleted with id 0", "order.deleted", `{"id":0}`, "malformed"},
		{"deleted with a negative id", "order.deleted", `{"id":-4}`, "malformed"},
		{"deleted with trailing data", "order.deleted", `{"id":4}x`, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := f.c.ParseWebhook(context.Background(), signed(t, s, tt.topic, []byte(tt.body)))
			status, reason := webhookStatus(err)
			if status != 400 || reason != tt.reason || ev != nil {
				t.Fatalf("got %d %q %v (%v), want 400 %q", status, reason, ev, err, tt.reason)
			}
		})
	}
	// Up to the skew is taken.
	ev, err := f.c.ParseWebhook(context.Background(), signed(t, s, "order.updated", []byte(order(`"A"`, "1", "2026-04-02T09:04:59"))))
	if err != nil || len(ev) != 1 {
		t.Fatalf("within the skew: %v %v", ev, err)
	}
}

// TestParseWebhookCountsNoSKULines: lines without a SKU are kept and counted.
func TestParseWebhookCountsNoSKULines(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = func() time.Time { return testNow } })
	ev, err := f.c.ParseWebhook(context.Background(), signed(t, s, "order.created", readFixture(t, "order_retrieve_response.example.json")))
	if err != nil {
		t.Fatal(err)
	}
	o := ev[0].Order
	if len(o.Lines) != 2 || !o.Lines[0].NoSKU || o.Lines[1].SKU != "Bar3" || o.Status != connectors.StatusOpen {
		t.Fatalf("order %+v", o)
	}
	if n := f.counter(t, "shelfsync_woocommerce_nosku_lines_total", "source", "webhook"); n != 1 {
		t.Fatalf("nosku lines counted %v", n)
	}
}

func mustLine(t *testing.T, s *woocommercetest.Server, orderID int64) int64 {
	t.Helper()
	o, ok := s.Order(orderID)
	if !ok || len(o.Lines) == 0 {
		t.Fatalf("order %d has no line", orderID)
	}
	return o.Lines[0].ID
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }
