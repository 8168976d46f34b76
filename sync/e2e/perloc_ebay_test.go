package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
)

// TestPerLocationEBay: stock at two shelfsync locations goes to the two
// eBay inventory locations they map to (availabilityDistributions), the
// listing selling their sum; a quantity left at an unmapped eBay
// location is reported by reconcile and, with zero_unmapped_locations,
// zeroed, after which eBay sells what the ledger has.
func TestPerLocationEBay(t *testing.T) {
	t.Parallel()
	for _, zero := range []bool{false, true} {
		name := "report only"
		if zero {
			name = "zero_unmapped_locations"
		}
		t.Run(name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			bay := ebaytest.New(ebaytest.Options{})
			t.Cleanup(bay.Close)
			for _, k := range []string{"WH-MAIN", "STORE-1", "OLD-WH"} {
				bay.AddLocation(k)
			}
			bay.AddListing("A", 4, 1)
			bay.SetDistributions("A", map[string]int64{"OLD-WH": 4}) // left from before: eBay sells it

			eng, reg := startPerLocationEBay(t, rdb, prefix, bay, zero)
			distIs := func(key string, want int64) func() bool {
				return func() bool { q, ok := bay.DistributionAt("A", key); return ok && q == want }
			}
			waitUntil(t, "main's stock at WH-MAIN", distIs("WH-MAIN", 5))
			waitUntil(t, "pos's stock at STORE-1", distIs("STORE-1", 3))

			if !eng.TriggerReconcile("bay") {
				t.Fatal("reconcile not triggered")
			}
			waitUntil(t, "reconcile reported the unmapped location", func() bool {
				n, err := testutil.GatherAndCount(reg, "shelfsync_unmapped_location_levels")
				return err == nil && n == 1 && gaugeValue(t, reg, "shelfsync_unmapped_location_levels") == 1
			})
			if zero {
				waitUntil(t, "OLD-WH zeroed", distIs("OLD-WH", 0))
				waitUntil(t, "eBay sells the ledger's 5 + 3", func() bool { q, _ := bay.Quantity("A"); return q == 8 })
				return
			}
			if q, _ := bay.DistributionAt("A", "OLD-WH"); q != 4 {
				t.Errorf("OLD-WH = %d, want 4 (reported, not zeroed)", q)
			}
			if q, _ := bay.Quantity("A"); q != 12 {
				t.Errorf("eBay sells %d, want 12 (5 + 3 and the unmapped 4)", q)
			}
		})
	}
}

// TestPerLocationEBayDisabledLocation: with zero_unmapped_locations, a
// level at an unmapped eBay location the seller has disabled is reported
// (unmapped and disabled levels) and never zeroed: no update names it
// (eBay would refuse it, 25709, every reconcile, and with it the SKU's
// other changes in the same entry), while one at an unmapped enabled
// location is zeroed. The locations are read once per reconcile.
func TestPerLocationEBayDisabledLocation(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	bay := ebaytest.New(ebaytest.Options{})
	t.Cleanup(bay.Close)
	for _, k := range []string{"WH-MAIN", "STORE-1", "OLD-WH", "SPARE"} {
		bay.AddLocation(k)
	}
	bay.AddListing("A", 6, 1)
	bay.SetDistributions("A", map[string]int64{"OLD-WH": 4, "SPARE": 2})
	bay.DisableLocation("OLD-WH")

	eng, reg := startPerLocationEBay(t, rdb, prefix, bay, true)
	distIs := func(key string, want int64) func() bool {
		return func() bool { q, ok := bay.DistributionAt("A", key); return ok && q == want }
	}
	waitUntil(t, "main's stock at WH-MAIN", distIs("WH-MAIN", 5))
	waitUntil(t, "pos's stock at STORE-1", distIs("STORE-1", 3))
	locReads := bay.Calls("get_inventory_locations")

	if !eng.TriggerReconcile("bay") {
		t.Fatal("reconcile not triggered")
	}
	waitUntil(t, "reconcile reported the disabled location", func() bool {
		n, err := testutil.GatherAndCount(reg, "shelfsync_disabled_location_levels")
		return err == nil && n == 1 && gaugeValue(t, reg, "shelfsync_disabled_location_levels") == 1 &&
			gaugeValue(t, reg, "shelfsync_unmapped_location_levels") == 2
	})
	waitUntil(t, "SPARE (enabled, unmapped) zeroed", distIs("SPARE", 0))
	if q, _ := bay.DistributionAt("A", "OLD-WH"); q != 4 {
		t.Errorf("OLD-WH = %d; want 4 (disabled: reported, not zeroed)", q)
	}
	if n := bay.DisabledRefusals(); n != 0 {
		t.Errorf("%d updates changing the disabled OLD-WH; want none", n)
	}
	if n := bay.Calls("get_inventory_locations") - locReads; n != 1 {
		t.Errorf("%d location reads for one reconcile; want 1", n)
	}
	if q, _ := bay.Quantity("A"); q != 12 {
		t.Errorf("eBay sells %d; want 12 (5 + 3, and the 4 at the disabled OLD-WH)", q)
	}
}

// startPerLocationEBay runs an engine with one per-location eBay channel
// on bay (shelfsync's main and pos mapped to WH-MAIN and STORE-1; polls
// and reconciles only when triggered) and receives 5 of SKU A at main and
// 3 at pos. The engine stops at the test's end.
func startPerLocationEBay(t *testing.T, rdb *redis.Client, prefix string, bay *ebaytest.Server, zero bool) (*engine.Engine, *prometheus.Registry) {
	t.Helper()
	ctx := context.Background()
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.CoalesceWindow = 30 * time.Millisecond
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}, {ID: "pos", Priority: 2}}
	cfg.Channels = []config.Channel{{Name: "bay", Kind: ebay.Kind, APIURL: bay.URL(), Locations: []string{"main", "pos"},
		StockMode: config.StockPerLocation, ZeroUnmappedLocations: zero, Reconcile: "@every 1h", Poll: "@every 1h",
		Credentials: config.Credentials{ClientID: config.NewSecret(ebaytest.DefaultClientID),
			ClientSecret: config.NewSecret(ebaytest.DefaultClientSecret), RefreshToken: config.NewSecret(ebaytest.DefaultRefreshToken)},
		Webhook:  config.Webhook{Disabled: true},
		Settings: &ebay.Settings{LocationKeys: map[string]string{"main": "WH-MAIN", "pos": "STORE-1"}}}}
	cfg.Channels[0].Allocation.Percent = nil
	cfg = reparse(t, cfg)
	conn, err := connectors.New(connectors.TestDeps(cfg.Channels[0]))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"bay": conn},
		Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	for _, d := range []inventory.Delta{
		{Key: "r1", SKU: "A", Location: "main", Quantity: 5, Reason: "initial"},
		{Key: "r2", SKU: "A", Location: "pos", Quantity: 3, Reason: "initial"},
	} {
		if _, err := eng.Ledger().Receive(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return eng, reg
}
