package shopify

import (
	"context"
	"errors"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestReturnWebhooks: each returns/* topic is a return event with the
// return's state; the body's own status wins over the topic's.
func TestReturnWebhooks(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	body := func(status string, lines ...shopifytest.ReturnLineBody) []byte {
		b, err := shopifytest.ReturnWebhookBody(9001, 820982911946154500, status, lines)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lineA := shopifytest.ReturnLineBody{ID: 1, LineID: 466157049, SKU: "IPOD2008GREEN", Quantity: 2, Reason: "SIZE_TOO_SMALL"}
	tests := []struct {
		topic, name string
		body        []byte
		status      string // Return.Status
		lines       int
		code        int // webhook status; 0: accepted
		ignored     bool
	}{
		{topic: "returns/request", name: "requested", body: body("requested", lineA), status: "requested", lines: 1},
		{topic: "returns/approve", name: "approved", body: body("open"), status: "open"},
		{topic: "returns/decline", name: "declined", body: body("declined"), status: "declined"},
		{topic: "returns/close", name: "closed", body: body("closed", lineA), status: "closed", lines: 1},
		{topic: "returns/cancel", name: "canceled", body: body("canceled"), status: "canceled"},
		{topic: "returns/reopen", name: "reopened", body: body("open"), status: "open"},
		{topic: "returns/close", name: "no status: the topic's", body: []byte(`{"id":5,"order":{"admin_graphql_api_id":"gid://shopify/Order/77"}}`), status: "closed"},
		{topic: "returns/approve", name: "unknown status: the topic's", body: []byte(`{"id":5,"order_id":77,"status":"teleported"}`), status: "open"},
		{topic: "returns/approve", name: "a later state wins", body: body("closed"), status: "closed"},
		{topic: "returns/update", name: "update ignored", body: body("open"), ignored: true},
		{topic: "returns/process", name: "process ignored", body: body("open"), ignored: true},
		{topic: "returns/approve", name: "no order", body: []byte(`{"id":5,"status":"open"}`), code: 400},
		{topic: "returns/approve", name: "no id", body: []byte(`{"order_id":77,"status":"open"}`), code: 400},
		{topic: "returns/approve", name: "negative units", body: []byte(`{"id":5,"order_id":77,"return_line_items":[{"quantity":-1,"line_item_id":3}]}`), code: 400},
		{topic: "returns/approve", name: "line without id", body: []byte(`{"id":5,"order_id":77,"return_line_items":[{"quantity":1}]}`), code: 400},
		{topic: "returns/approve", name: "sku with a control character", body: []byte(`{"id":5,"order_id":77,"return_line_items":[{"quantity":1,"line_item":{"id":3,"sku":"A\u001fB"}}]}`), code: 400},
		{topic: "returns/approve", name: "not json", body: []byte(`{"id":`), code: 400},
	}
	for _, tt := range tests {
		t.Run(tt.topic+"/"+tt.name, func(t *testing.T) {
			ev, err := c.ParseWebhook(context.Background(), signed(t, s, tt.topic, tt.body, "evt-7"))
			switch {
			case tt.ignored:
				if !errors.Is(err, connectors.ErrIgnored) {
					t.Fatalf("ParseWebhook = %v, %v; want ignored", ev, err)
				}
				return
			case tt.code != 0:
				if webhookStatus(err) != tt.code || len(ev) != 0 {
					t.Fatalf("ParseWebhook = %v, %v; want %d", ev, err, tt.code)
				}
				return
			case err != nil:
				t.Fatalf("ParseWebhook: %v", err)
			}
			if len(ev) != 1 || ev[0].Kind != connectors.EventReturn || ev[0].Return == nil || ev[0].ID != tt.topic+":evt-7" {
				t.Fatalf("events = %+v, want one return event", ev)
			}
			r := ev[0].Return
			if r.Status != tt.status || r.OrderID == "" || r.OrderID != ev[0].OrderID || r.ReturnID == "" || len(r.Lines) != tt.lines {
				t.Fatalf("return = %+v, want status %q with %d lines", r, tt.status, tt.lines)
			}
			if tt.lines > 0 {
				// Closed: the items are back (returnClose); before, not.
				want := connectors.ReturnLine{LineID: "466157049", SKU: "IPOD2008GREEN", Quantity: 2, Reason: "size_too_small", Received: tt.status == "closed"}
				if r.Lines[0] != want {
					t.Errorf("line = %+v, want %+v", r.Lines[0], want)
				}
			}
		})
	}
}

// TestReturnWebhookSignature: returns/* deliveries are verified like
// every other topic, before anything is read.
func TestReturnWebhookSignature(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, func(ch *config.Channel) {
		ch.Webhook.Secrets = []config.Secret{config.NewSecret("another-secret")}
	})
	b, _ := shopifytest.ReturnWebhookBody(1, 2, "open", nil)
	if ev, err := c.ParseWebhook(context.Background(), signed(t, s, "returns/approve", b, "e")); webhookStatus(err) != 401 || len(ev) != 0 {
		t.Fatalf("ParseWebhook = %v, %v; want 401", ev, err)
	}
}

// FuzzParseReturnWebhook: a signed returns/* body of any content is one
// return event the ledger can key, or a 400; never a panic.
func FuzzParseReturnWebhook(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"admin_graphql_api_id":"gid://shopify/Return/1","status":"open","order":{"id":2,"admin_graphql_api_id":"gid://shopify/Order/2"}}`,
		`{"id":1,"order_id":2,"status":"requested","return_line_items":[{"id":3,"quantity":1,"return_reason":"color","fulfillment_line_item":{"line_item":{"id":4,"sku":"A"}}}]}`,
		`{"id":"1","order_id":"2","created_at":"2026-01-01T00:00:00Z","return_line_items":[{"quantity":9999999999999,"line_item_id":4}]}`,
		`{"admin_graphql_api_id":"gid://shopify/Return/x","order":{"id":null}}`,
	} {
		for _, topic := range []string{"returns/approve", "returns/close"} {
			f.Add(topic, []byte(seed))
		}
	}
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
			if !errors.Is(err, connectors.ErrIgnored) && webhookStatus(err) != 400 {
				t.Fatalf("error %v: want ErrIgnored or a 400", err)
			}
			return
		}
		for _, e := range ev {
			if e.Kind != connectors.EventReturn {
				continue
			}
			ret := e.Return
			if ret == nil || ret.OrderID == "" || ret.ReturnID == "" || !returnStatuses[ret.Status] {
				t.Fatalf("accepted return %+v", ret)
			}
			for _, l := range ret.Lines {
				if l.LineID == "" || l.Quantity < 0 || l.Quantity > connectors.MaxQuantity || connectors.CheckID("reason", l.Reason+"x") != nil {
					t.Fatalf("accepted line %+v", l)
				}
			}
		}
	})
}
