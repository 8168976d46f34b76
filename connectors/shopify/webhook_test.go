package shopify

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func webhookStatus(err error) int {
	var we *connectors.WebhookError
	if errors.As(err, &we) {
		return we.Status
	}
	return 0
}

func TestParseWebhookSignature(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	body, err := os.ReadFile("testdata/order_rest_resource.shopify_python_api.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secrets []string
		mutate  func(r *connectors.WebhookRequest)
		status  int
		reason  string
	}{
		{name: "good", secrets: []string{s.Options().WebhookSecret}},
		{name: "rotated: the new secret listed first", secrets: []string{"new-secret", s.Options().WebhookSecret}},
		{name: "rotated: the old secret listed first", secrets: []string{s.Options().WebhookSecret, "new-secret"}},
		{name: "wrong secret", secrets: []string{"other"}, status: 401, reason: "bad_signature"},
		{name: "body changed", secrets: []string{s.Options().WebhookSecret}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Body = append([]byte(" "), r.Body...) }},
		{name: "no signature", secrets: []string{s.Options().WebhookSecret}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Del("X-Shopify-Hmac-Sha256") }},
		{name: "signature not base64", secrets: []string{s.Options().WebhookSecret}, status: 401, reason: "bad_signature",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Set("X-Shopify-Hmac-Sha256", "%%%") }},
		{name: "another shop's delivery", secrets: []string{s.Options().WebhookSecret}, status: 401, reason: "wrong_shop",
			mutate: func(r *connectors.WebhookRequest) { r.Header.Set("X-Shopify-Shop-Domain", "other.myshopify.com") }},
		{name: "lower-case header names", secrets: []string{s.Options().WebhookSecret},
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
			c := newTestConnector(t, s, func(ch *config.Channel) {
				ch.Webhook.Secrets = nil
				for _, sec := range tt.secrets {
					ch.Webhook.Secrets = append(ch.Webhook.Secrets, config.NewSecret(sec))
				}
			})
			r := signed(t, s, "orders/updated", body, "evt-1")
			if tt.mutate != nil {
				tt.mutate(r)
			}
			ev, err := c.ParseWebhook(context.Background(), r)
			if tt.status == 0 {
				if err != nil || len(ev) != 1 || ev[0].Order == nil || ev[0].Order.OrderID != "450789469" {
					t.Fatalf("ParseWebhook = %+v, %v", ev, err)
				}
				return
			}
			var we *connectors.WebhookError
			if !errors.As(err, &we) || we.Status != tt.status || we.Reason != tt.reason {
				t.Fatalf("ParseWebhook error = %v, want %d %s", err, tt.status, tt.reason)
			}
			for _, sec := range tt.secrets {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error %q holds a secret", err)
				}
			}
		})
	}
}

func TestParseWebhookTopics(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	order, _ := os.ReadFile("testdata/order_test_webhook_cancelled.go-shopify.json")
	refund, _ := os.ReadFile("testdata/refund_rest_resource.shopify_python_api.json")
	level, _ := os.ReadFile("testdata/inventory_level_set_response.go-shopify.json")
	// Webhook bodies are the bare resource; the fixtures wrap it: unwrap.
	bare := func(b []byte, key string) []byte {
		s := strings.TrimSpace(string(b))
		s = strings.TrimPrefix(s, "{")
		s = strings.TrimSpace(s)
		s = strings.TrimPrefix(s, `"`+key+`":`)
		return []byte(strings.TrimSuffix(strings.TrimSpace(s), "}"))
	}
	tests := []struct {
		topic  string
		body   []byte
		kind   connectors.EventKind
		status int
		ignore bool
	}{
		{topic: "orders/create", body: bare(order, "order"), kind: connectors.EventOrder},
		{topic: "orders/cancelled", body: order, kind: connectors.EventOrder},
		{topic: "orders/fulfilled", body: bare(order, "order"), kind: connectors.EventOrder},
		{topic: "orders/partially_fulfilled", body: bare(order, "order"), kind: connectors.EventOrder},
		{topic: "ORDERS/UPDATED", body: bare(order, "order"), kind: connectors.EventOrder},
		{topic: "orders/edited", body: []byte(`{"order_edit":{"id":1,"order_id":123456,"line_items":{"additions":[],"removals":[]}}}`), kind: connectors.EventOrderChanged},
		{topic: "refunds/create", body: bare(refund, "refund"), kind: connectors.EventReturn},
		{topic: "inventory_levels/update", body: bare(level, "inventory_level"), kind: connectors.EventStockChanged},
		{topic: "products/update", body: []byte(`{"id":1}`), ignore: true},
		{topic: "orders/delete", body: []byte(`{"id":1}`), ignore: true},
		{topic: "orders/create", body: []byte(`{"id":`), status: 400},
		{topic: "orders/create", body: bare(refund, "refund"), status: 400},
		{topic: "refunds/create", body: bare(order, "order"), status: 400},
		{topic: "inventory_levels/update", body: []byte(`{"inventory_item_id":1,"location_id":2,"available":null}`), ignore: true},
		{topic: "orders/create", body: []byte(`{"customer":{}}`), status: 400},
		{topic: "orders/edited", body: []byte(`{"order_edit":{}}`), status: 400},
		{topic: "", body: bare(order, "order"), status: 400},
	}
	c := newTestConnector(t, s, nil)
	if err := c.deps.Cache.Set(context.Background(), itemKey("808950810"), "IPOD2008PINK", 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.topic+"/"+string(tt.kind)+"/"+http.StatusText(tt.status), func(t *testing.T) {
			r := signed(t, s, tt.topic, tt.body, "evt-42")
			ev, err := c.ParseWebhook(context.Background(), r)
			switch {
			case tt.ignore:
				if !errors.Is(err, connectors.ErrIgnored) || len(ev) != 0 {
					t.Fatalf("ParseWebhook = %v, %v; want ErrIgnored", ev, err)
				}
				return
			case tt.status != 0:
				if webhookStatus(err) != tt.status {
					t.Fatalf("ParseWebhook error = %v, want status %d", err, tt.status)
				}
				return
			case err != nil:
				t.Fatalf("ParseWebhook: %v", err)
			}
			if len(ev) != 1 || ev[0].Kind != tt.kind {
				t.Fatalf("events = %+v, want one %s", ev, tt.kind)
			}
			e := ev[0]
			topic := strings.ToLower(tt.topic)
			if e.ID != topic+":evt-42" || e.Topic != topic || e.Channel != "shop-eu" || e.ReceivedAt != r.ReceivedAt {
				t.Errorf("event = id %q topic %q channel %q at %v", e.ID, e.Topic, e.Channel, e.ReceivedAt)
			}
			switch e.Kind {
			case connectors.EventOrderChanged:
				if e.OrderID != "123456" {
					t.Errorf("order id = %q", e.OrderID)
				}
			case connectors.EventStockChanged:
				if e.Stock.SKU != "IPOD2008PINK" || e.Stock.ItemID != "808950810" || e.Stock.Quantity != 6 {
					t.Errorf("stock = %+v: want the SKU from the cache", e.Stock)
				}
			}
		})
	}
}

// TestParseWebhookDuplicates: every delivery of one event (Shopify's
// retries) carries the same id, whatever its X-Shopify-Webhook-Id.
func TestParseWebhookDuplicates(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	body, _ := os.ReadFile("testdata/order_rest_resource.shopify_python_api.json")
	first, err := c.ParseWebhook(context.Background(), signed(t, s, "orders/updated", body, "evt-7"))
	if err != nil {
		t.Fatal(err)
	}
	retry := signed(t, s, "orders/updated", body, "evt-7")
	again, err := c.ParseWebhook(context.Background(), retry)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].ID == "" || first[0].ID != again[0].ID {
		t.Errorf("ids %q and %q: retries must share the dedup id", first[0].ID, again[0].ID)
	}
	other, _ := c.ParseWebhook(context.Background(), signed(t, s, "orders/create", body, "evt-7"))
	if other[0].ID == first[0].ID {
		t.Errorf("another topic with the same event id must not dedupe: %q", other[0].ID)
	}
	// Without X-Shopify-Event-Id the delivery id stands in.
	noEvent := signed(t, s, "orders/updated", body, "")
	noEvent.Header.Del("X-Shopify-Event-Id")
	ev, err := c.ParseWebhook(context.Background(), noEvent)
	if err != nil {
		t.Fatal(err)
	}
	if want := "orders/updated:" + noEvent.Header.Get("X-Shopify-Webhook-Id"); ev[0].ID != want {
		t.Errorf("id = %q, want %q", ev[0].ID, want)
	}
}

// TestWebhookFromFakeOrder: the fake's REST rendering of an order and
// the connector's GraphQL reading of it agree.
func TestWebhookFromFakeOrder(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	id := s.AddOrder(shopifytest.Order{
		RetailLocationID: "gid://shopify/Location/905684977",
		Lines:            []shopifytest.OrderLine{{ID: 1, SKU: "A", Quantity: 3}, {ID: 2, SKU: "", Quantity: 1}},
		Fulfillments:     []shopifytest.Fulfillment{{Status: "SUCCESS", Lines: map[int64]int64{1: 2}}},
		Refunds:          []shopifytest.Refund{{ID: 9, Lines: []shopifytest.RefundLine{{LineID: 1, Quantity: 1, RestockType: "RETURN"}}}},
	})
	body, err := s.WebhookBody(id)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.ParseWebhook(context.Background(), signed(t, s, "orders/updated", body, "e"))
	if err != nil {
		t.Fatal(err)
	}
	fetched, err := c.FetchOrder(context.Background(), ev[0].Order.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	got, want := *ev[0].Order, *fetched
	if got.Location != "pos" || len(got.Lines) != 2 || got.Lines[0] != want.Lines[0] || got.Lines[1] != want.Lines[1] || got.Status != want.Status || got.Location != want.Location {
		t.Errorf("webhook order %+v\nfetched order %+v", got, want)
	}
}
