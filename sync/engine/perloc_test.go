package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// locChannel is a per-location channel whose locations have states
// (connectors.LocationReader): levels by SKU and by shelfsync location
// (mapped) or channel location id (unmapped).
type locChannel struct {
	*memChannel
	mu       sync.Mutex
	levels   map[string]map[string]int64
	unmapped map[string]bool // channel location ids among the levels' keys
	locs     []connectors.ChannelLocation
	locErr   error
	locReads int
}

var (
	_ connectors.LocationPusher = (*locChannel)(nil)
	_ connectors.LocationReader = (*locChannel)(nil)
)

func (c *locChannel) PushesPerLocation() bool { return true }

func (c *locChannel) ReadLocations(context.Context) ([]connectors.ChannelLocation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.locReads++
	return c.locs, c.locErr
}

func (c *locChannel) ReadQuantities(_ context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []connectors.LiveQuantity
	for _, s := range skus {
		for k, q := range c.levels[s] {
			lq := connectors.LiveQuantity{SKU: s, Quantity: q, Location: k}
			if c.unmapped[k] {
				lq.Location, lq.ChannelLocation = "", k
			}
			out = append(out, lq)
		}
	}
	return out, nil
}

// TestReconcileSparesDisabledLocations: on a per-location channel whose
// locations are read once per reconcile, a level at an unmapped disabled
// location is reported (unmapped and disabled levels) and not queued for
// zeroing, one at an unmapped enabled location is zeroed; a shelfsync
// location mapped to a disabled location, or to one the channel does not
// have, is exported. When the locations can not be read, every unmapped
// level is zeroed as before.
func TestReconcileSparesDisabledLocations(t *testing.T) {
	states := []connectors.ChannelLocation{
		{ID: "WH", Location: "main", State: connectors.LocationEnabled},
		{ID: "BK", Location: "backup", State: connectors.LocationDisabled},
		{ID: "OLD", State: connectors.LocationDisabled},
		{ID: "SPARE", State: connectors.LocationEnabled},
		{ID: "GONE", Location: "far", State: connectors.LocationMissing},
	}
	for _, tc := range []struct {
		name         string
		locErr       error
		wantOLDZero  bool
		wantDisabled float64 // -1: not exported
		wantProblems map[string]float64
	}{
		{"locations read", nil, false, 1, map[string]float64{"backup disabled": 1, "far missing": 1}},
		{"locations not read", errors.New("eBay is down"), true, -1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			cfg := testConfig(prefix, "bay")
			cfg.Channels[0].StockMode = config.StockPerLocation
			cfg.Channels[0].ZeroUnmappedLocations = true
			ch := &locChannel{memChannel: newMemChannel(), locs: states, locErr: tc.locErr,
				unmapped: map[string]bool{"OLD": true, "SPARE": true},
				levels:   map[string]map[string]int64{"A": {"main": 5, "backup": 0, "OLD": 4, "SPARE": 2}}}
			reg := prometheus.NewRegistry()
			e, err := New(Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"bay": ch},
				Registry: reg, Logger: zerolog.Nop(), Holder: "a:1"})
			if err != nil {
				t.Fatal(err)
			}
			stockEach(t, e, 5, "A")
			c := e.channels["bay"]
			if err := e.reconcile(ctx, c); err != nil {
				t.Fatal(err)
			}
			if ch.locReads != 1 {
				t.Errorf("%d location reads; want 1 per reconcile", ch.locReads)
			}
			old, spare := outbox.UnmappedKey("A", "OLD"), outbox.UnmappedKey("A", "SPARE")
			pending, err := c.outbox.Pending(ctx, []string{old, spare})
			if err != nil {
				t.Fatal(err)
			}
			if !pending[spare] {
				t.Errorf("the enabled unmapped SPARE's 2 units: no zeroing queued")
			}
			if pending[old] != tc.wantOLDZero {
				t.Errorf("zeroing of the disabled OLD queued: %v; want %v", pending[old], tc.wantOLDZero)
			}
			if got := testutil.ToFloat64(e.m.unmappedLevels.WithLabelValues("bay")); got != 2 {
				t.Errorf("unmapped levels %v; want 2 (OLD, disabled, is still sold)", got)
			}
			n, err := testutil.GatherAndCount(reg, "shelfsync_disabled_location_levels")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.wantDisabled < 0 && n != 0:
				t.Errorf("disabled levels exported without a location read")
			case tc.wantDisabled >= 0 && (n != 1 || testutil.ToFloat64(e.m.disabledLevels.WithLabelValues("bay")) != tc.wantDisabled):
				t.Errorf("disabled levels: %d series; want %v", n, tc.wantDisabled)
			}
			if n, _ := testutil.GatherAndCount(reg, "shelfsync_mapped_location_problems"); n != len(tc.wantProblems) {
				t.Errorf("%d mapped location problems exported; want %d", n, len(tc.wantProblems))
			}
			for k, v := range tc.wantProblems {
				loc, state, _ := strings.Cut(k, " ")
				if got := testutil.ToFloat64(e.m.mappedProblems.WithLabelValues("bay", loc, state)); got != v {
					t.Errorf("mapped problem %s = %v; want %v", k, got, v)
				}
			}
			rec, err := e.board.Get(ctx, "bay")
			if err != nil {
				t.Fatal(err)
			}
			if tc.locErr == nil && (rec["disabled_location_levels"] != "1" || rec["mapped_location_problems"] != "backup→BK disabled, far→GONE missing") {
				t.Errorf("status %v", rec)
			}
		})
	}
}

// TestReconcileDropsZeroesQueuedBeforeALocationWasDisabled: a zero of an
// unmapped level queued while its location was enabled, still queued when
// the channel reports the location disabled, is dropped by the next
// reconcile (the channel would refuse it every push cycle); the zero at
// an enabled location stays.
func TestReconcileDropsZeroesQueuedBeforeALocationWasDisabled(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	cfg := testConfig(prefix, "bay")
	cfg.Channels[0].StockMode = config.StockPerLocation
	cfg.Channels[0].ZeroUnmappedLocations = true
	ch := &locChannel{memChannel: newMemChannel(),
		locs: []connectors.ChannelLocation{
			{ID: "WH", Location: "main", State: connectors.LocationEnabled},
			{ID: "OLD", State: connectors.LocationEnabled},
			{ID: "SPARE", State: connectors.LocationEnabled},
		},
		unmapped: map[string]bool{"OLD": true, "SPARE": true},
		levels:   map[string]map[string]int64{"A": {"main": 5, "OLD": 4, "SPARE": 2}}}
	e, err := New(Options{Config: cfg, Redis: rdb, Connectors: map[string]connectors.Connector{"bay": ch},
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), Holder: "a:1"})
	if err != nil {
		t.Fatal(err)
	}
	stockEach(t, e, 5, "A")
	c := e.channels["bay"]
	old, spare := outbox.UnmappedKey("A", "OLD"), outbox.UnmappedKey("A", "SPARE")
	for _, step := range []struct {
		name               string
		oldState           connectors.LocationState
		wantOld, wantSpare bool
	}{
		{"OLD enabled", connectors.LocationEnabled, true, true},
		{"OLD disabled since", connectors.LocationDisabled, false, true},
	} {
		ch.mu.Lock()
		ch.locs[1].State = step.oldState
		ch.mu.Unlock()
		if err := e.reconcile(ctx, c); err != nil {
			t.Fatal(err)
		}
		pending, err := c.outbox.Pending(ctx, []string{old, spare})
		if err != nil {
			t.Fatal(err)
		}
		if pending[old] != step.wantOld || pending[spare] != step.wantSpare {
			t.Fatalf("%s: zero of OLD queued %v, of SPARE %v; want %v, %v", step.name, pending[old], pending[spare], step.wantOld, step.wantSpare)
		}
	}
	items, err := c.outbox.Due(ctx, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.SKU == old {
			t.Fatalf("due %v: the zero of the disabled OLD is still pushed", items)
		}
	}
}
