package admin

import (
	"context"
	"encoding/json"
	"net/http"
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

// newCatalogAPI is the admin API of an engine with one channel "shop"
// (buffer 2, 50 %) and the catalog endpoints; A and B have 20 units.
func newCatalogAPI(t *testing.T) http.Handler {
	rdb, prefix := redistest.New(t)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main"}}
	half := 50.0
	cfg.Channels = []config.Channel{{Name: "shop", Kind: "test", Locations: []string{"main"},
		Allocation: config.Allocation{Buffer: 2, Percent: &half}}}
	e, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": pushOnly{}},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"A", "B"} {
		if _, err := e.Ledger().Receive(context.Background(), inventory.Delta{Key: "r", SKU: s, Location: "main", Quantity: 20, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := &Catalog{Book: e.Catalog(), Ledger: e.Ledger(), Channels: e.Channels(), Listings: e.Propagator()}
	return New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(), Catalog: cat}, "tok", zerolog.Nop())
}

func TestCatalogAPI(t *testing.T) {
	h := newCatalogAPI(t)
	steps := []struct {
		name, method, path, body string
		code                     int
		want                     []string // substrings of the answer
	}{
		{"empty export", "GET", "/api/v1/catalog", "", 200, []string{`"mappings":[]`, `"kits":[]`}},
		{"a bad plan applies nothing, every problem named", "PUT", "/api/v1/catalog",
			`{"mappings":[{"channel":"shop","listing":"X","sku":"A"},{"channel":"nope","listing":"Y","sku":"NOPE","multiplier":0}],"kits":[{"sku":"K","components":[{"sku":"A","quantity":1},{"sku":"Z","quantity":1}]}]}`,
			422, []string{`"item":"mappings[1]"`, "unknown channel nope", "multiplier 0", "unknown ledger SKU NOPE", `"item":"kits[0]"`, "unknown component Z", "nothing applied"}},
		{"still empty", "GET", "/api/v1/catalog", "", 200, []string{`"mappings":[]`}},
		{"unknown field", "PUT", "/api/v1/catalog", `{"mapings":[]}`, 400, []string{"unknown field"}},
		{"a good plan", "PUT", "/api/v1/catalog",
			`{"mappings":[{"channel":"shop","listing":"6-PACK","sku":"A","multiplier":6}],"kits":[{"sku":"K","components":[{"sku":"A","quantity":2},{"sku":"B","quantity":1}]}]}`,
			200, []string{`"changed":2`}},
		{"one mapping", "PUT", "/api/v1/catalog/mappings/shop/K-LISTING", `{"sku":"K"}`, 200, []string{`"changed":1`}},
		{"one kit, a kit of kits refused", "PUT", "/api/v1/catalog/kits/K2", `{"components":[{"sku":"K","quantity":1}]}`, 422, []string{"component K is a kit"}},
		{"one kit, zero quantity refused", "PUT", "/api/v1/catalog/kits/K2", `{"components":[{"sku":"B","quantity":0}]}`, 422, []string{"quantity 0"}},
		{"one kit", "PUT", "/api/v1/catalog/kits/K2", `{"components":[{"sku":"B","quantity":2}]}`, 200, []string{`"changed":1`}},
		{"changing it needs replace", "PUT", "/api/v1/catalog/kits/K2", `{"components":[{"sku":"B","quantity":3}]}`, 422, []string{"needs --replace"}},
		{"with replace", "PUT", "/api/v1/catalog/kits/K2?replace=true", `{"components":[{"sku":"B","quantity":3}]}`, 200, []string{`"changed":1`}},
		// shop lists A: (20-2)*50% = 9; 6-PACK: 1; K = min(9/2, 9/1) = 4, K-LISTING 4.
		{"a component and its listings", "GET", "/api/v1/catalog/skus/A", "", 200,
			[]string{`"in_ledger":true`, `"listings":[{"channel":"shop","listing":"6-PACK","multiplier":6}]`, `"kits":{"K":2}`, `"shop":{"6-PACK":1,"A":9,"K":4,"K-LISTING":4}`}},
		{"a kit", "GET", "/api/v1/catalog/skus/K2", "", 200, []string{`"components":[{"sku":"B","quantity":3}]`, `"in_ledger":false`, `"shop":{"K2":3}`}},
		{"unknown", "GET", "/api/v1/catalog/skus/NOPE", "", 404, []string{"unknown SKU"}},
		{"export", "GET", "/api/v1/catalog", "", 200, []string{`"listing":"6-PACK"`, `"listing":"K-LISTING"`, `"sku":"K2"`}},
		{"history", "GET", "/api/v1/catalog/history?n=2", "", 200, []string{`"name":"K2"`, `"source":"api"`}},
		{"bad n", "GET", "/api/v1/catalog/history?n=0", "", 400, []string{"n must be"}},
		{"delete a kit listings are mapped to", "DELETE", "/api/v1/catalog/kits/K", "", 409, []string{"shop/K-LISTING", "orphan"}},
		{"delete a mapping of a listing that would stand for nothing", "DELETE", "/api/v1/catalog/mappings/shop/K-LISTING", "", 409, []string{"stands for nothing"}},
		{"bad force", "DELETE", "/api/v1/catalog/mappings/shop/K-LISTING?force=yes", "", 400, []string{"force must be"}},
		{"unknown mapping", "DELETE", "/api/v1/catalog/mappings/shop/NOPE", "", 404, []string{"not in the catalog"}},
		{"forced", "DELETE", "/api/v1/catalog/mappings/shop/K-LISTING?force=true", "", 200, []string{`"listing":"K-LISTING"`, `"sku":"K"`}},
		{"then the kit", "DELETE", "/api/v1/catalog/kits/K", "", 200, []string{`"sku":"K"`, `"components":[{"sku":"A","quantity":2},{"sku":"B","quantity":1}]`}},
		{"gone", "DELETE", "/api/v1/catalog/kits/K", "", 404, []string{"not in the catalog"}},
		{"A no longer lists K", "GET", "/api/v1/catalog/skus/A", "", 200, []string{`"shop":{"6-PACK":1,"A":9}`}},
		{"journaled", "GET", "/api/v1/catalog/history?n=2", "", 200, []string{`"op":"delete kit"`, `"op":"delete mapping"`, `"name":"shop/K-LISTING"`}},
	}
	for _, s := range steps {
		w := do(h, s.method, s.path, "tok", s.body)
		if w.Code != s.code {
			t.Errorf("%s: %d %s, want %d", s.name, w.Code, w.Body.String(), s.code)
			continue
		}
		for _, sub := range s.want {
			if !strings.Contains(w.Body.String(), sub) {
				t.Errorf("%s: %s lacks %s", s.name, w.Body.String(), sub)
			}
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Errorf("%s: not JSON: %s", s.name, w.Body.String())
		}
	}
	if w := do(h, "GET", "/api/v1/catalog", "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("without a token: %d", w.Code)
	}
}
