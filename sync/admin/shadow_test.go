package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/shadow"
)

func TestShadowEndpoint(t *testing.T) {
	rdb, prefix := redistest.New(t)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.Mode = config.ModeShadow
	cfg.Locations = []config.Location{{ID: "main"}}
	pct := 100.0
	cfg.Channels = []config.Channel{{Name: "shop", Kind: "test", Locations: []string{"main"}, Allocation: config.Allocation{Percent: &pct}}}
	e, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": pushOnly{}},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := shadow.New(rdb, prefix, 0).Record(context.Background(), "shop", []shadow.Entry{{SKU: "A", Quantity: 5, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	with := New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(), Shadow: e}, "tok", zerolog.Nop())
	without := New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake()}, "tok", zerolog.Nop())
	for _, c := range []struct {
		name, path, token string
		mounted           bool
		status            int
		contains          []string
	}{
		{"report", "/api/v1/channels/shop/shadow", "tok", true, 200, []string{`"sku":"A"`, `"would_push":5`, `"mode":"shadow"`, `"read_error":"the connector has no read role"`, `"channel_shows":null`}},
		{"no token", "/api/v1/channels/shop/shadow", "", true, 401, []string{"bearer"}},
		{"unknown channel", "/api/v1/channels/nope/shadow", "tok", true, 404, []string{"unknown channel"}},
		{"not mounted", "/api/v1/channels/shop/shadow", "tok", false, 404, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := with
			if !c.mounted {
				h = without
			}
			w := do(h, "GET", c.path, c.token, "")
			if w.Code != c.status {
				t.Fatalf("%d %s; want %d", w.Code, w.Body, c.status)
			}
			for _, s := range c.contains {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %s lacks %s", w.Body, s)
				}
			}
		})
	}
}
