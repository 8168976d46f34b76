package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
)

// runShopEngine runs an engine with one Shopify channel against shop, in
// mode, until the returned stop is called.
func runShopEngine(t *testing.T, rdb *redis.Client, prefix string, shop *shopifytest.Server, mode string) (*engine.Engine, func()) {
	t.Helper()
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.CoalesceWindow = 30 * time.Millisecond
	cfg.Sync.Mode = mode
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}}
	cfg.Channels = []config.Channel{{Name: "shop", Kind: shopify.Kind, APIURL: shop.URL(), Locations: []string{"main"},
		Credentials: config.Credentials{AccessToken: config.NewSecret(shop.Options().AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(shopSecret)}},
		Settings:    &shopify.Settings{Shop: shop.Options().Shop, LocationIDs: map[string]string{"main": shop.Options().LocationID}}}}
	cfg.Channels[0].Allocation.Percent = nil
	cfg = reparse(t, cfg)
	conn, err := connectors.New(connectors.TestDeps(cfg.Channels[0]))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": conn},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return eng, stop
}

// TestShadowThenLiveAgainstShopify: in shadow mode the Shopify fake gets
// no inventorySetQuantities call while the ledger changes, and the shadow
// report shows the would-be quantity against the fake's level (read by the
// connector); restarted live, the fake receives the quantity.
func TestShadowThenLiveAgainstShopify(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	shop := shopifytest.New(shopifytest.Options{WebhookSecret: shopSecret})
	t.Cleanup(shop.Close)
	shop.SetLevel("SKU-1", 2)

	eng, stop := runShopEngine(t, rdb, prefix, shop, config.ModeShadow)
	if _, err := eng.Ledger().Receive(ctx, inventory.Delta{Key: "r1", SKU: "SKU-1", Location: "main", Quantity: 20, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rep, err := eng.ShadowReport(ctx, "shop")
		if err == nil && len(rep.Lines) == 1 && rep.Lines[0].Quantity == 20 && rep.Lines[0].Channel != nil {
			if *rep.Lines[0].Channel != 2 || !rep.Lines[0].Differs || rep.ReadError != "" {
				t.Fatalf("report %+v line %+v: want 20 against the fake's 2", rep, rep.Lines[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shadow record: %+v, %v", rep, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if n := shop.Calls()["ShelfsyncSetQuantities"]; n != 0 || shop.Level("SKU-1") != 2 {
		t.Fatalf("shadow mode wrote to Shopify: %d set calls, level %d", n, shop.Level("SKU-1"))
	}

	runShopEngine(t, rdb, prefix, shop, config.ModeLive)
	for deadline = time.Now().Add(20 * time.Second); shop.Level("SKU-1") != 20; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("live: Shopify lists %d, want 20 (%d set calls)", shop.Level("SKU-1"), shop.Calls()["ShelfsyncSetQuantities"])
		}
	}
	if n := shop.Calls()["ShelfsyncSetQuantities"]; n == 0 {
		t.Fatal("live: no set call")
	}
}
