package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// confirming is a channel that takes pushes and shipment confirmations.
type confirming struct{ pushOnly }

func (confirming) Carriers() map[string]string { return map[string]string{"ups": "UPS"} }
func (confirming) ConfirmShipment(context.Context, connectors.Shipment) (connectors.ShipmentResult, error) {
	return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed}, nil
}

func newShipmentsAPI(t *testing.T) (http.Handler, *engine.Engine) {
	rdb, prefix := redistest.New(t)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main"}}
	cfg.Channels = []config.Channel{{Name: "shop", Kind: "test", Locations: []string{"main"}, Carriers: map[string]string{"acme": "ACME"}}}
	e, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": confirming{}},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o := &connectors.Order{Channel: "shop", OrderID: "1001", Status: connectors.StatusOpen, UpdatedAt: time.Now().Add(-time.Minute),
		Lines: []connectors.Line{{LineID: "L1", SKU: "SKU-1", Quantity: 2}}}
	h := New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(), Shipments: e.Shipments(), ShipmentDeadLetters: e.Inbound()}, "tok", zerolog.Nop())
	if w := do(h, "PUT", "/api/v1/stock/SKU-1/main", "tok", `{"on_hand":10,"version":1}`); w.Code != http.StatusOK {
		t.Fatalf("seed: %d %s", w.Code, w.Body)
	}
	if err := e.Intake().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: o}}); err != nil {
		t.Fatal(err)
	}
	// The order reaches the ledger through the engine's own ingest.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = e.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for {
		if recs, _ := e.Ledger().Lines(ctx, "shop", "1001"); len(recs) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h, e
}

func TestShipmentsEndpoint(t *testing.T) {
	h, _ := newShipmentsAPI(t)
	const good = `{"channel":"shop","order_id":"1001","lines":[{"line_id":"L1","quantity":1}],"carrier":"UPS",` +
		`"tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","location":"main","idempotency_key":"wms-1"}`
	cases := []struct {
		name, token, body string
		status            int
		has               string
	}{
		{"no token", "", good, 401, ""},
		// The answer is the shipment's state when it is read back: pending,
		// or already confirmed when the engine's worker was quicker.
		{"new", "tok", good, 201, `"id":"shp_`},
		{"repeat", "tok", good, 200, `"id":"shp_`},
		{"same key, other body", "tok", `{"channel":"shop","order_id":"1001","lines":[{"line_id":"L1","quantity":2}],"carrier":"ups","tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"wms-1"}`, 409, "different shipment"},
		{"more than open", "tok", `{"channel":"shop","order_id":"1001","lines":[{"sku":"SKU-1","quantity":2}],"carrier":"ups","tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"wms-2"}`, 409, `"open":{"L1":1}`},
		{"unknown order", "tok", `{"channel":"shop","order_id":"9","lines":[{"line_id":"L1","quantity":1}],"carrier":"ups","tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"wms-3"}`, 404, "no such order"},
		{"unknown carrier", "tok", `{"channel":"shop","order_id":"1001","lines":[{"line_id":"L1","quantity":1}],"carrier":"owl","tracking_number":"X1","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"wms-4"}`, 400, `"known_carriers":["acme","ups"]`},
		{"bad tracking", "tok", `{"channel":"shop","order_id":"1001","lines":[{"line_id":"L1","quantity":1}],"carrier":"ups","tracking_number":"12","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"wms-5"}`, 400, "not a ups tracking number"},
		{"duplicate key in the body", "tok", `{"channel":"shop","channel":"x"}`, 400, "duplicate key"},
		{"unknown field", "tok", `{"channel":"shop","weight":3}`, 400, "unknown field"},
	}
	for _, c := range cases {
		w := do(h, "POST", "/api/v1/shipments", c.token, c.body)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.has) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, w.Code, w.Body, c.status, c.has)
		}
	}
	w := do(h, "GET", "/api/v1/orders/shop/1001", "tok", "")
	var view struct {
		Shipments []struct {
			ID    string `json:"id"`
			State struct {
				Status string `json:"status"`
			} `json:"state"`
			Applied bool `json:"applied"`
		} `json:"shipments"`
		Lines []struct {
			Shipped int64 `json:"Shipped"`
		} `json:"lines"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil || len(view.Shipments) != 1 || !view.Shipments[0].Applied || view.Lines[0].Shipped != 1 {
		t.Fatalf("order view %s (%v)", w.Body, err)
	}
	// The engine's worker confirms it (the fake channel accepts).
	for view.Shipments[0].State.Status != "confirmed" {
		time.Sleep(20 * time.Millisecond)
		w = do(h, "GET", "/api/v1/orders/shop/1001", "tok", "")
		if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil {
			t.Fatal(err)
		}
	}
	if w := do(h, "POST", "/api/v1/shipments/shop/"+view.Shipments[0].ID+"/retry", "tok", ""); w.Code != 404 {
		t.Errorf("retry of a confirmed shipment: %d, want 404", w.Code)
	}
}

// TestShipmentDeadLetters: an inbound stream entry refused for its
// content (an order the ledger does not hold yet: 404) and one that is no
// shipment are listed by GET /api/v1/shipments/deadletters with the
// reason, newest first; once the order arrived, replaying the first stores
// the shipment and takes it off the list; an unknown id is 404.
func TestShipmentDeadLetters(t *testing.T) {
	h, e := newShipmentsAPI(t)
	ctx := context.Background()
	stream := e.Inbound().Consumer().Stream()
	body := `{"channel":"shop","order_id":"1002","lines":[{"line_id":"L1","quantity":1}],"carrier":"ups",` +
		`"tracking_number":"1Z999AA10123456784","shipped_at":"2026-12-01T10:00:00Z","idempotency_key":"dl-1"}`
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
	defer rdb.Close()
	for _, v := range []string{body, "not json"} {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{shipments.StreamField: v}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var dead []shipments.DeadLetter
	for deadline := time.Now().Add(30 * time.Second); len(dead) < 2; time.Sleep(20 * time.Millisecond) {
		w := do(h, "GET", "/api/v1/shipments/deadletters?limit=10", "tok", "")
		if w.Code != http.StatusOK {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		dead = nil
		if err := json.Unmarshal(w.Body.Bytes(), &dead); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters %+v, want 2", dead)
		}
	}
	if dead[0].Raw != "not json" || dead[0].Shipment != nil || !strings.HasPrefix(dead[0].Reason, "refused: shipment:") {
		t.Errorf("newest dead letter %+v, want the unreadable entry with its reason", dead[0])
	}
	if dead[1].Shipment == nil || dead[1].Shipment.IdempotencyKey != "dl-1" || !strings.HasPrefix(dead[1].Reason, "refused: 404:") {
		t.Fatalf("older dead letter %+v, want the shipment refused 404", dead[1])
	}
	if w := do(h, "GET", "/api/v1/shipments/deadletters?limit=0", "tok", ""); w.Code != http.StatusBadRequest {
		t.Errorf("limit 0: %d, want 400", w.Code)
	}
	if w := do(h, "POST", "/api/v1/shipments/deadletters/1-1/replay", "tok", ""); w.Code != http.StatusNotFound {
		t.Errorf("replay of an unknown id: %d, want 404", w.Code)
	}
	o := &connectors.Order{Channel: "shop", OrderID: "1002", Status: connectors.StatusOpen, UpdatedAt: time.Now().Add(-time.Minute),
		Lines: []connectors.Line{{LineID: "L1", SKU: "SKU-1", Quantity: 1}}}
	if err := e.Intake().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: o}}); err != nil {
		t.Fatal(err)
	}
	for recs, _ := e.Ledger().Lines(ctx, "shop", "1002"); len(recs) == 0; recs, _ = e.Ledger().Lines(ctx, "shop", "1002") {
		time.Sleep(10 * time.Millisecond)
	}
	if w := do(h, "POST", "/api/v1/shipments/deadletters/"+dead[1].ID+"/replay", "tok", ""); w.Code != http.StatusAccepted {
		t.Fatalf("replay: %d %s", w.Code, w.Body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		v, err := e.Shipments().ForOrder(ctx, "shop", "1002")
		if err == nil && len(v) == 1 && v[0].Key == "dl-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replayed shipment was not stored: %+v %v", v, err)
		}
	}
	w := do(h, "GET", "/api/v1/shipments/deadletters", "tok", "")
	if err := json.Unmarshal(w.Body.Bytes(), &dead); err != nil || len(dead) != 1 || dead[0].Raw != "not json" {
		t.Errorf("after the replay: %+v %v, want only the unreadable entry", dead, err)
	}
}
