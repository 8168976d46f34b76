package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/admin"
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
)

// shipChannel is a channel that confirms every shipment.
type shipChannel struct{}

func (shipChannel) Kind() string                { return "test" }
func (shipChannel) Carriers() map[string]string { return map[string]string{"ups": "UPS"} }
func (shipChannel) ConfirmShipment(context.Context, connectors.Shipment) (connectors.ShipmentResult, error) {
	return connectors.ShipmentResult{Status: connectors.ShipmentConfirmed}, nil
}

// TestShipCommand runs `shelfsync ship` against the real admin API of an
// engine whose ledger holds order 7 (2 units of SKU-1 on line L1).
func TestShipCommand(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main"}}
	cfg.Channels = []config.Channel{{Name: "shop", Kind: "test", Locations: []string{"main"}}}
	e, err := syncengine.New(syncengine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": shipChannel{}},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger().Receive(ctx, inventory.Delta{Key: "r", SKU: "SKU-1", Location: "main", Quantity: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger().ApplyLines(ctx, []inventory.LineState{{Channel: "shop", OrderID: "7", LineID: "L1", SKU: "SKU-1",
		Location: "main", Ordered: 2, Version: time.Now().UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin.New(admin.Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(),
		Shipments: e.Shipments()}, "tok", zerolog.Nop()))
	defer srv.Close()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := runShip(ctx, append(args, "--api", srv.URL, "--token", "tok"), &out, &errb)
		return code, out.String(), errb.String()
	}
	base := []string{"--channel", "shop", "--order", "7", "--carrier", "ups", "--tracking", "1Z999AA10123456784", "--shipped-at", "2026-12-01T10:00:00Z"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"new", append(base, "--line", "L1=1"), 0, "recorded; confirmation on shop: pending", ""},
		{"the same again", append(base, "--line", "L1=1"), 0, "already recorded", ""},
		{"more than open", append([]string{"--key", "k2"}, append(base, "--sku", "SKU-1=2")...), 1, "", "open units by line: map[L1:1]"},
		{"unknown carrier", []string{"--channel", "shop", "--order", "7", "--carrier", "owl", "--tracking", "X", "--line", "L1=1"}, 1, "", "known carriers: ups"},
		{"unknown order", []string{"--channel", "shop", "--order", "8", "--carrier", "ups", "--tracking", "1Z999AA10123456784", "--line", "L1=1"}, 1, "", "refused (404)"},
		{"no lines", base, 2, "", "at least one --line"},
		{"bad line flag", append(base, "--line", "L1"), 2, "", "NAME=QUANTITY"},
		{"show", []string{"show", "--channel", "shop", "--order", "7"}, 0, `"tracking_number": "1Z999AA10123456784"`, ""},
	}
	for _, c := range cases {
		code, out, errs := run(c.args...)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.name, code, out, errs, c.code, c.stdout, c.stderr)
		}
	}
	var out, errb bytes.Buffer
	if code := runShip(ctx, append(base, "--line", "L1=1", "--api", srv.URL, "--token", "wrong"), &out, &errb); code != 1 {
		t.Errorf("a wrong token: exit %d, stderr %q", code, errb.String())
	}
}
