package engine

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// newIdleEngineOn builds an engine over rdb with one channel per entry of
// chans that is not running: the test drives its jobs itself.
func newIdleEngineOn(t *testing.T, rdb *redis.Client, prefix string, chans map[string]*memChannel) *Engine {
	t.Helper()
	conns := map[string]connectors.Connector{}
	var names []string
	for name, c := range chans {
		conns[name] = c
		names = append(names, name)
	}
	e, err := New(Options{Config: testConfig(prefix, names...), Redis: rdb, Connectors: conns,
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), Holder: "a:1"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// applyPlan checks and applies a catalog plan.
func applyPlan(t *testing.T, e *Engine, plan catalog.Plan) {
	t.Helper()
	ctx := context.Background()
	if probs, err := e.Catalog().Check(ctx, plan, e.Ledger(), e.Channels()); err != nil || len(probs) > 0 {
		t.Fatalf("catalog check: %v %v", probs, err)
	}
	if _, err := e.Catalog().Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
}

// queued takes every item due in ch's outbox: listing → quantity.
func queued(t *testing.T, e *Engine, ch string) map[string]int64 {
	t.Helper()
	items, err := e.channels[ch].outbox.Due(context.Background(), 1000, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, it := range items {
		out[it.SKU] = it.Quantity
	}
	return out
}

// TestReconcileWorksOnListings: reconcile compares and corrects each
// channel's listings (the ledger SKUs' own names, the listings mapped to
// them, the kits they are in) with what propagation lists, and counts
// drift per listing. shop and bay both list every name below as set in
// live; the catalog is the case's plan.
func TestReconcileWorksOnListings(t *testing.T) {
	sixPack := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "A-6PK", SKU: "A", Multiplier: 6}}}
	kit := catalog.Plan{Kits: []catalog.Kit{{SKU: "K", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}}}}
	// On shop the listing "B" is A (the channel's B is one unit of A); on
	// bay "B" is the ledger SKU B.
	shadowed := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "B", SKU: "A", Multiplier: 1}}}
	packs := catalog.Plan{Mappings: []catalog.Mapping{
		{Channel: "shop", Listing: "A-6PK", SKU: "A", Multiplier: 6},
		{Channel: "shop", Listing: "A-2PK", SKU: "A", Multiplier: 2},
	}}
	tests := []struct {
		name      string
		stock     map[string]int64
		plan      catalog.Plan
		live      map[string]map[string]int64 // channel → listing → what it shows
		want      map[string]map[string]int64 // channel → corrections queued
		driftSKUs map[string]float64          // per channel (listings)
		units     map[string]float64
		checked   string // shop's reconcile_checked
	}{
		{
			name: "a mapped 6-pack read wrong is corrected to floor(ATS/6)", stock: map[string]int64{"A": 20}, plan: sixPack,
			live:      map[string]map[string]int64{"shop": {"A": 20, "A-6PK": 9}, "bay": {"A": 20, "A-6PK": 9}},
			want:      map[string]map[string]int64{"shop": {"A-6PK": 3}, "bay": {}},
			driftSKUs: map[string]float64{"shop": 1, "bay": 0}, units: map[string]float64{"shop": 6, "bay": 0}, checked: "2",
		},
		{
			name: "a kit listing read wrong is corrected to its kit ATS", stock: map[string]int64{"A": 20, "B": 7}, plan: kit,
			live:      map[string]map[string]int64{"shop": {"A": 20, "B": 7, "K": 2}, "bay": {"A": 20, "B": 7, "K": 7}},
			want:      map[string]map[string]int64{"shop": {"K": 7}, "bay": {}},
			driftSKUs: map[string]float64{"shop": 1, "bay": 0}, units: map[string]float64{"shop": 5, "bay": 0}, checked: "3",
		},
		{
			name: "a ledger SKU's name mapped to another SKU gets the mapped value, not its own ATS", stock: map[string]int64{"A": 12, "B": 30}, plan: shadowed,
			live:      map[string]map[string]int64{"shop": {"A": 12, "B": 30}, "bay": {"A": 12, "B": 12}},
			want:      map[string]map[string]int64{"shop": {"B": 12}, "bay": {"B": 30}},
			driftSKUs: map[string]float64{"shop": 1, "bay": 1}, units: map[string]float64{"shop": 18, "bay": 18}, checked: "2",
		},
		{
			name: "a ledger SKU's name mapped to another SKU and listed right is left alone", stock: map[string]int64{"A": 12, "B": 30}, plan: shadowed,
			live:      map[string]map[string]int64{"shop": {"A": 12, "B": 12}, "bay": {"A": 12, "B": 30}},
			want:      map[string]map[string]int64{"shop": {}, "bay": {}},
			driftSKUs: map[string]float64{"shop": 0, "bay": 0}, units: map[string]float64{"shop": 0, "bay": 0}, checked: "2",
		},
		{
			name: "drift is counted per listing", stock: map[string]int64{"A": 20}, plan: packs,
			live:      map[string]map[string]int64{"shop": {"A": 19, "A-6PK": 1, "A-2PK": 4}, "bay": {"A": 20}},
			want:      map[string]map[string]int64{"shop": {"A": 20, "A-6PK": 3, "A-2PK": 10}, "bay": {}},
			driftSKUs: map[string]float64{"shop": 3, "bay": 0}, units: map[string]float64{"shop": 1 + 2 + 6, "bay": 0}, checked: "3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			chans := map[string]*memChannel{"shop": newMemChannel(), "bay": newMemChannel()}
			e := newIdleEngineOn(t, rdb, prefix, chans)
			for sku, q := range tc.stock {
				stockEach(t, e, q, sku)
			}
			applyPlan(t, e, tc.plan)
			for ch, m := range tc.live {
				for id, q := range m {
					chans[ch].set(id, q)
				}
			}
			for _, ch := range []string{"shop", "bay"} {
				if err := e.reconcile(ctx, e.channels[ch]); err != nil {
					t.Fatal(err)
				}
				if got := queued(t, e, ch); !reflect.DeepEqual(got, tc.want[ch]) {
					t.Errorf("%s: corrections queued %v, want %v", ch, got, tc.want[ch])
				}
				if got := testutil.ToFloat64(e.m.driftSKUs.WithLabelValues(ch)); got != tc.driftSKUs[ch] {
					t.Errorf("%s: drift_skus %v, want %v", ch, got, tc.driftSKUs[ch])
				}
				if got := testutil.ToFloat64(e.m.driftUnits.WithLabelValues(ch)); got != tc.units[ch] {
					t.Errorf("%s: drift_units %v, want %v", ch, got, tc.units[ch])
				}
			}
			rec, err := e.board.Get(ctx, "shop")
			if err != nil {
				t.Fatal(err)
			}
			if rec["reconcile_checked"] != tc.checked {
				t.Errorf("shop reconcile_checked %v, want %s", rec["reconcile_checked"], tc.checked)
			}
		})
	}
}

// TestReconcileComparesAKitOfManyChunksOnce: a kit whose components fall
// in several reconcile chunks is compared (and corrected) once.
func TestReconcileComparesAKitOfManyChunksOnce(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	shop := newMemChannel()
	e := newIdleEngineOn(t, rdb, prefix, map[string]*memChannel{"shop": shop})
	n := reconcileChunk + reconcileChunk/2
	var comps []catalog.Component
	for i := 0; i < n; i++ {
		sku := fmt.Sprintf("C%03d", i)
		stockEach(t, e, 4, sku)
		shop.set(sku, 4)
		comps = append(comps, catalog.Component{SKU: sku, Quantity: 2})
	}
	applyPlan(t, e, catalog.Plan{Kits: []catalog.Kit{{SKU: "K", Components: comps}}})
	shop.set("K", 5)
	if err := e.reconcile(ctx, e.channels["shop"]); err != nil {
		t.Fatal(err)
	}
	if got := queued(t, e, "shop"); !reflect.DeepEqual(got, map[string]int64{"K": 2}) {
		t.Errorf("corrections queued %v, want K=2", got)
	}
	rec, err := e.board.Get(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(n + 1); rec["reconcile_checked"] != want || rec["drift_skus"] != "1" || rec["drift_units"] != "3" {
		t.Errorf("status %v, want %s checked, 1 drifted by 3", rec, want)
	}
}

// TestReconcileOnAClusterCountsEveryListingOnce: on a Redis Cluster the
// ledger's SKUs come from every primary; reconcile compares each listing
// once (a kit whose components sit on every primary, a pack mapped to
// one of them) and counts every drifted one, without a data race between
// the primaries' pages (go test -race).
func TestReconcileOnAClusterCountsEveryListingOnce(t *testing.T) {
	c := redistest.StartCluster(t)
	cc := c.Client(t)
	prefix := redistest.Prefix()
	ctx := context.Background()
	shop := newMemChannel()
	e, err := New(Options{Config: testConfig(prefix, "shop"), Redis: cc, Connectors: map[string]connectors.Connector{"shop": shop},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), Holder: "a:1"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	var comps []catalog.Component
	for i := 0; i < n; i++ {
		sku := fmt.Sprintf("S%03d", i)
		stockEach(t, e, 5, sku)
		shop.set(sku, 9)
		comps = append(comps, catalog.Component{SKU: sku, Quantity: 1})
	}
	applyPlan(t, e, catalog.Plan{
		Kits:     []catalog.Kit{{SKU: "K", Components: comps}},
		Mappings: []catalog.Mapping{{Channel: "shop", Listing: "PACK", SKU: "S001", Multiplier: 5}},
	})
	shop.set("K", 1)
	shop.set("PACK", 3)
	if err := e.reconcile(ctx, e.channels["shop"]); err != nil {
		t.Fatal(err)
	}
	rec, err := e.board.Get(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"reconcile_checked": fmt.Sprint(n + 2), "drift_skus": fmt.Sprint(n + 2), "drift_units": fmt.Sprint(n*4 + 4 + 2)}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %s, want %s (status %v)", k, rec[k], v, rec)
		}
	}
	got := queued(t, e, "shop")
	if len(got) != n+2 || got["K"] != 5 || got["PACK"] != 1 || got["S000"] != 5 {
		t.Errorf("corrections queued %v: want every SKU at 5, K at 5, PACK at 1", got)
	}
}
