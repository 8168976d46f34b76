package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

const (
	shopLocMain = "gid://shopify/Location/1"
	shopLocPOS  = "gid://shopify/Location/2"
	shopLocOld  = "gid://shopify/Location/3" // no shelfsync location maps to it
)

// perLocationShop runs an engine with one per_location Shopify channel
// selling from main and pos (mapped to the store's locations 1 and 2; the
// store also has location 3), until the test ends.
func perLocationShop(t *testing.T, rdb *redis.Client, prefix string, shop *shopifytest.Server, zero bool, mode string) (*engine.Engine, connectors.Connector, *prometheus.Registry) {
	t.Helper()
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.CoalesceWindow = 30 * time.Millisecond
	cfg.Sync.Mode = mode
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}, {ID: "pos", Priority: 2}}
	cfg.Channels = []config.Channel{{Name: "shop", Kind: shopify.Kind, APIURL: shop.URL(), Locations: []string{"main", "pos"},
		StockMode: config.StockPerLocation, ZeroUnmappedLocations: zero, Reconcile: "@every 1h",
		Credentials: config.Credentials{AccessToken: config.NewSecret(shop.Options().AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(shopSecret)}},
		Settings:    &shopify.Settings{Shop: shop.Options().Shop, LocationIDs: map[string]string{"main": shopLocMain, "pos": shopLocPOS}}}}
	cfg.Channels[0].Allocation.Percent = nil
	cfg = reparse(t, cfg)
	conn, err := connectors.New(connectors.TestDeps(cfg.Channels[0]))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"shop": conn},
		Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	return eng, conn, reg
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func levelIs(shop *shopifytest.Server, sku, loc string, want int64) func() bool {
	return func() bool { q, ok := shop.LevelAt(sku, loc); return ok && q == want }
}

// TestPerLocationShopify: stock at two shelfsync locations is pushed to
// the two Shopify locations they map to; a POS sale at one lowers that
// location's figure only (one push, compared right); a level left at an
// unmapped Shopify location is reported by reconcile, and zeroed when
// zero_unmapped_locations is set, so Shopify sells what the ledger has.
func TestPerLocationShopify(t *testing.T) {
	t.Parallel()
	for _, zero := range []bool{false, true} {
		name := "report only"
		if zero {
			name = "zero_unmapped_locations"
		}
		t.Run(name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			shop := shopifytest.New(shopifytest.Options{WebhookSecret: shopSecret, LocationID: shopLocMain,
				Locations: []string{shopLocPOS, shopLocOld}, RestoreRate: 100000})
			t.Cleanup(shop.Close)
			shop.SetLevelAt("A", shopLocMain, 0)
			shop.SetLevelAt("A", shopLocPOS, 0)
			shop.SetLevelAt("A", shopLocOld, 4) // left from before: Shopify sells it

			eng, conn, reg := perLocationShop(t, rdb, prefix, shop, zero, config.ModeLive)
			for _, d := range []inventory.Delta{
				{Key: "r1", SKU: "A", Location: "main", Quantity: 5, Reason: "initial"},
				{Key: "r2", SKU: "A", Location: "pos", Quantity: 3, Reason: "initial"},
			} {
				if _, err := eng.Ledger().Receive(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			waitUntil(t, "main's stock at location 1", levelIs(shop, "A", shopLocMain, 5))
			waitUntil(t, "pos's stock at location 2", levelIs(shop, "A", shopLocPOS, 3))

			// A POS sale of one unit at location 2: Shopify takes it off there.
			before := shop.Calls()["ShelfsyncSetQuantities"]
			id := shop.AddOrder(shopifytest.Order{Name: "#1001", FinancialStatus: "PAID", RetailLocationID: shopLocPOS,
				Lines: []shopifytest.OrderLine{{SKU: "A", Quantity: 1}}})
			shop.SellAt("A", shopLocPOS, 1)
			o, err := conn.(connectors.OrderFetcher).FetchOrder(ctx, strconv.FormatInt(id, 10))
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", ID: "o1", Order: o, ReceivedAt: time.Now()}}); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the sale reserved at pos in the ledger", func() bool {
				st, err := eng.Ledger().Stock(ctx, "A")
				return err == nil && st.Locations["pos"].Reserved == 1
			})
			waitUntil(t, "location 2 lists pos's 2", levelIs(shop, "A", shopLocPOS, 2))
			if q, _ := shop.LevelAt("A", shopLocMain); q != 5 {
				t.Errorf("location 1 = %d, want 5 (the sale was not there)", q)
			}
			if n := shop.Calls()["ShelfsyncSetQuantities"] - before; n > 1 {
				t.Errorf("%d set calls after the sale, want at most 1 (its own echo compares right)", n)
			}

			// Reconcile finds the level at location 3.
			if !eng.TriggerReconcile("shop") {
				t.Fatal("reconcile not triggered")
			}
			waitUntil(t, "reconcile reported the unmapped level", func() bool {
				n, err := testutil.GatherAndCount(reg, "shelfsync_unmapped_location_levels")
				return err == nil && n == 1
			})
			if zero {
				waitUntil(t, "location 3 zeroed", levelIs(shop, "A", shopLocOld, 0))
				if got := shop.Sellable("A"); got != 7 {
					t.Errorf("Shopify sells %d, want 7 (the ledger's 5 + 2)", got)
				}
				return
			}
			if got := gaugeValue(t, reg, "shelfsync_unmapped_location_levels"); got != 1 {
				t.Errorf("shelfsync_unmapped_location_levels = %v, want 1", got)
			}
			if q, _ := shop.LevelAt("A", shopLocOld); q != 4 {
				t.Errorf("location 3 = %d, want 4 (reported, not zeroed)", q)
			}
		})
	}
}

// gaugeValue is the value of the one series of the gauge name in reg.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single series of %s", name)
	return 0
}

// TestPerLocationShadowReport: in shadow mode a per-location channel's
// would-be pushes are recorded per location and compared with each
// location's level on Shopify; nothing is written.
func TestPerLocationShadowReport(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	shop := shopifytest.New(shopifytest.Options{WebhookSecret: shopSecret, LocationID: shopLocMain,
		Locations: []string{shopLocPOS, shopLocOld}, RestoreRate: 100000})
	t.Cleanup(shop.Close)
	shop.SetLevelAt("A", shopLocMain, 1)
	shop.SetLevelAt("A", shopLocPOS, 0)
	eng, _, _ := perLocationShop(t, rdb, prefix, shop, false, config.ModeShadow)
	for _, d := range []inventory.Delta{
		{Key: "r1", SKU: "A", Location: "main", Quantity: 5, Reason: "initial"},
		{Key: "r2", SKU: "A", Location: "pos", Quantity: 3, Reason: "initial"},
	} {
		if _, err := eng.Ledger().Receive(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][2]int64{"A@main": {5, 1}, "A@pos": {3, 0}}
	waitUntil(t, "both locations in the shadow report, against Shopify's levels", func() bool {
		rep, err := eng.ShadowReport(ctx, "shop")
		if err != nil || len(rep.Lines) != 2 {
			return false
		}
		for _, l := range rep.Lines {
			w, ok := want[l.SKU]
			if !ok || l.Quantity != w[0] || l.Channel == nil || *l.Channel != w[1] {
				return false
			}
		}
		return true
	})
	if n := shop.Calls()["ShelfsyncSetQuantities"]; n != 0 {
		t.Fatalf("shadow mode: %d set calls", n)
	}
}
