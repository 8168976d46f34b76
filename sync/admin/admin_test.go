package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
)

// pushOnly is a channel that only takes pushes.
type pushOnly struct{}

func (pushOnly) Kind() string  { return "test" }
func (pushOnly) MaxBatch() int { return 10 }
func (pushOnly) PushQuantities(_ context.Context, u []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	out := make([]connectors.PushResult, len(u))
	for i := range u {
		out[i] = connectors.PushResult{SKU: u[i].SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

func newAPI(t *testing.T) (http.Handler, *engine.Engine) {
	rdb, prefix := redistest.New(t)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main"}}
	buffer := 50.0
	cfg.Channels = []config.Channel{{Name: "shop", Kind: "test", Locations: []string{"main"},
		Allocation: config.Allocation{Buffer: 2, Percent: &buffer}}}
	e, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": pushOnly{}},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake()}, "tok", zerolog.Nop()), e
}

func do(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAdminAPI(t *testing.T) {
	h, e := newAPI(t)
	ctx := context.Background()
	if _, err := e.Ledger().Receive(ctx, inventory.Delta{Key: "k", SKU: "A", Location: "main", Quantity: 12, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"no token", "GET", "/api/v1/stock/A", "", "", 401, "bearer"},
		{"wrong token", "GET", "/api/v1/stock/A", "tok2", "", 401, "bearer"},
		{"stock with ATS per channel", "GET", "/api/v1/stock/A", "tok", "", 200, `"ats":{"shop":5}`},
		{"unknown SKU", "GET", "/api/v1/stock/NOPE", "tok", "", 404, "error"},
		{"adjust", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":-2,"reason":"damaged","key":"adj-1"}`, 200, `"OnHand":10`},
		{"adjust repeated key is a no-op", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":-2,"reason":"damaged","key":"adj-1"}`, 200, `"Applied":false,"OnHand":10`},
		{"adjust key reused with another delta", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":-20,"reason":"damaged","key":"adj-1"}`, 409, "adjust A at main: operation key already used for a different request"},
		{"adjust key reused at another location", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"back","delta":-2,"reason":"damaged","key":"adj-1"}`, 409, "adjust A at back: operation key already used for a different request"},
		{"adjust key reused with another reason", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":-2,"reason":"lost","key":"adj-1"}`, 409, "different request"},
		{"adjust key retried after the conflicts", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":-2,"reason":"damaged","key":"adj-1"}`, 200, `"Applied":false,"OnHand":10`},
		{"stock unchanged by the conflicts", "GET", "/api/v1/stock/A", "tok", "", 200, `"main":{"OnHand":10`},
		{"adjust unknown field", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"main","delta":1,"reasn":"x"}`, 400, "unknown field"},
		{"set count", "PUT", "/api/v1/stock/A/main", "tok", `{"on_hand":40,"reason":"cycle count"}`, 200, `"OnHand":40`},
		{"set count needs on_hand", "PUT", "/api/v1/stock/A/main", "tok", `{}`, 400, "on_hand"},
		{"set count at location ..", "PUT", "/api/v1/stock/A/%2E%2E", "tok", `{"on_hand":1}`, 400, `location \"..\" is not allowed`},
		{"set count at location .", "PUT", "/api/v1/stock/A/%2e", "tok", `{"on_hand":1}`, 400, `location \".\" is not allowed`},
		{"set count of SKU ..", "PUT", "/api/v1/stock/%2E%2E/main", "tok", `{"on_hand":1}`, 400, `sku \"..\" is not allowed`},
		{"adjust of SKU .", "POST", "/api/v1/stock/%2E/adjust", "tok", `{"location":"main","delta":1,"reason":"r"}`, 400, `sku \".\" is not allowed`},
		{"adjust at location ..", "POST", "/api/v1/stock/A/adjust", "tok", `{"location":"..","delta":1,"reason":"r"}`, 400, `location \"..\" is not allowed`},
		{"history", "GET", "/api/v1/stock/A/history?limit=5", "tok", "", 200, "cycle count"},
		{"channels", "GET", "/api/v1/channels", "tok", "", 200, `"name":"shop"`},
		{"unknown channel", "GET", "/api/v1/channels/nope", "tok", "", 404, "unknown channel"},
		{"reconcile of a channel that can not read", "POST", "/api/v1/channels/shop/reconcile", "tok", "", 404, "no reconcile job"},
		{"unknown order", "GET", "/api/v1/orders/shop/1", "tok", "", 404, "no lines"},
		{"dead letters", "GET", "/api/v1/deadletters", "tok", "", 200, "[]"},
		{"replay unknown", "POST", "/api/v1/deadletters/1-1/replay", "tok", "", 404, "no such dead letter"},
		{"replay of a malformed id", "POST", "/api/v1/deadletters/nope/replay", "tok", "", 404, "no such dead letter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(h, c.method, c.path, c.token, c.body)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.contains) {
				t.Fatalf("%s %s: %d %s; want %d containing %q", c.method, c.path, w.Code, w.Body, c.status, c.contains)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var v any
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
		})
	}
}

// TestAdminAdjustIdempotencyKey: the key comes from the body or the
// Idempotency-Key header (both: they must agree); the same request again
// answers the first result, another request under the key is a 409 that
// names the SKU and location but not the key; no key at all applies every
// request once.
func TestAdminAdjustIdempotencyKey(t *testing.T) {
	h, e := newAPI(t)
	ctx := context.Background()
	if _, err := e.Ledger().Receive(ctx, inventory.Delta{Key: "k", SKU: "A", Location: "main", Quantity: 12, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	const secretish = "idem-7f3a9c"
	steps := []struct {
		name, header, body string
		status             int
		contains           string
	}{
		{"header key", secretish, `{"location":"main","delta":-1,"reason":"damaged"}`, 200, `"Applied":true,"OnHand":11`},
		{"header key retried", secretish, `{"location":"main","delta":-1,"reason":"damaged"}`, 200, `"Applied":false,"OnHand":11`},
		{"the same key in body and header", secretish, `{"location":"main","delta":-1,"reason":"damaged","key":"` + secretish + `"}`, 200, `"Applied":false,"OnHand":11`},
		{"the same key in the body only", "", `{"location":"main","delta":-1,"reason":"damaged","key":"` + secretish + `"}`, 200, `"Applied":false,"OnHand":11`},
		{"header key, another delta", secretish, `{"location":"main","delta":-5,"reason":"damaged"}`, 409, "adjust A at main: operation key already used for a different request"},
		{"body key, another reason", "", `{"location":"main","delta":-1,"reason":"lost","key":"` + secretish + `"}`, 409, "different request"},
		{"body and header disagree", "other", `{"location":"main","delta":-1,"reason":"damaged","key":"` + secretish + `"}`, 400, "Idempotency-Key header differ"},
		{"no key", "", `{"location":"main","delta":-1,"reason":"damaged"}`, 200, `"Applied":true,"OnHand":10`},
		{"no key again applies again", "", `{"location":"main","delta":-1,"reason":"damaged"}`, 200, `"Applied":true,"OnHand":9`},
	}
	for _, s := range steps {
		r := httptest.NewRequest("POST", "/api/v1/stock/A/adjust", strings.NewReader(s.body))
		r.Header.Set("Authorization", "Bearer tok")
		if s.header != "" {
			r.Header.Set("Idempotency-Key", s.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != s.status || !strings.Contains(w.Body.String(), s.contains) {
			t.Fatalf("%s: %d %s; want %d containing %q", s.name, w.Code, w.Body, s.status, s.contains)
		}
		if w.Code != 200 && strings.Contains(w.Body.String(), secretish) {
			t.Fatalf("%s: the error echoes the key: %s", s.name, w.Body)
		}
	}
}
