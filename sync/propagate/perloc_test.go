package propagate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// TestLocationATS: the channel's ATS is shared among its locations in
// proportion to their stock (largest remainder, ties in location order);
// the shares add up to the channel's ATS and no location gets more than
// it holds.
func TestLocationATS(t *testing.T) {
	pct := func(p float64) *float64 { return &p }
	locs := []string{"A", "B", "C"}
	cases := []struct {
		name  string
		avail map[string]int64
		a     Allocation
		want  map[string]int64
	}{
		{"no rules: each its own stock", map[string]int64{"A": 3, "B": 4, "C": 0}, Allocation{}, map[string]int64{"A": 3, "B": 4, "C": 0}},
		{"a location outside the channel is not listed", map[string]int64{"A": 3, "X": 50}, Allocation{}, map[string]int64{"A": 3, "B": 0, "C": 0}},
		{"an oversold location gets none and its debt is owed by the others", map[string]int64{"A": -2, "B": 6, "C": 4}, Allocation{}, map[string]int64{"A": 0, "B": 5, "C": 3}},
		{"buffer split by stock", map[string]int64{"A": 10, "B": 10}, Allocation{Buffer: 4}, map[string]int64{"A": 8, "B": 8, "C": 0}},
		{"remainder to the largest fraction", map[string]int64{"A": 2, "B": 3, "C": 5}, Allocation{Buffer: 3}, map[string]int64{"A": 1, "B": 2, "C": 4}},
		{"equal fractions: location order", map[string]int64{"A": 1, "B": 2, "C": 7}, Allocation{Buffer: 5}, map[string]int64{"A": 1, "B": 1, "C": 3}},
		{"tie in location order", map[string]int64{"A": 5, "B": 5}, Allocation{Buffer: 1}, map[string]int64{"A": 5, "B": 4, "C": 0}},
		{"cap", map[string]int64{"A": 30, "B": 10}, Allocation{Max: 20}, map[string]int64{"A": 15, "B": 5, "C": 0}},
		{"percent", map[string]int64{"A": 9, "B": 3}, Allocation{Percent: pct(50)}, map[string]int64{"A": 5, "B": 1, "C": 0}},
		{"threshold: all zero", map[string]int64{"A": 1, "B": 1}, Allocation{OutOfStockThreshold: 2}, map[string]int64{"A": 0, "B": 0, "C": 0}},
		{"min keeps a listing alive within stock", map[string]int64{"A": 1, "B": 1}, Allocation{Buffer: 5, Min: 2}, map[string]int64{"A": 1, "B": 1, "C": 0}},
		{"nothing", map[string]int64{}, Allocation{}, map[string]int64{"A": 0, "B": 0, "C": 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := LocationATS(tc.avail, locs, tc.a)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("LocationATS = %v, want %v", got, tc.want)
			}
			var sum int64
			for _, l := range locs {
				sum += got[l]
				if got[l] > max(tc.avail[l], 0) {
					t.Errorf("%s gets %d, holds %d", l, got[l], tc.avail[l])
				}
			}
			if total := ATS(tc.avail, locs, tc.a); sum != total {
				t.Errorf("shares add up to %d, the channel's ATS is %d", sum, total)
			}
		})
	}
}

// FuzzLocationATS: for any stock and rules, the shares add up to the
// channel's ATS, none is negative, none exceeds its location's stock.
func FuzzLocationATS(f *testing.F) {
	f.Add(int64(3), int64(4), int64(-1), int64(2), int64(0), int64(0), 100.0)
	f.Add(int64(10), int64(0), int64(7), int64(0), int64(5), int64(1), 33.3)
	f.Fuzz(func(t *testing.T, a, b, c, buffer, maxQ, minQ int64, pct float64) {
		clamp := func(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
		avail := map[string]int64{"A": clamp(a, -1e6, 1e6), "B": clamp(b, -1e6, 1e6), "C": clamp(c, -1e6, 1e6)}
		if !(pct >= 0 && pct <= 100) {
			pct = 100
		}
		al := Allocation{Buffer: clamp(buffer, 0, 1e6), Max: clamp(maxQ, 0, 1e6), Min: clamp(minQ, 0, 1e6), Percent: &pct}
		if al.Max > 0 && al.Min > al.Max {
			al.Min = al.Max
		}
		locs := []string{"A", "B", "C"}
		got := LocationATS(avail, locs, al)
		var sum int64
		for _, l := range locs {
			if got[l] < 0 || got[l] > max(avail[l], 0) {
				t.Fatalf("%s gets %d of %d (%v, %+v)", l, got[l], avail[l], avail, al)
			}
			sum += got[l]
		}
		if total := ATS(avail, locs, al); sum != total {
			t.Fatalf("shares %v add up to %d, ATS %d", got, sum, total)
		}
	})
}

// TestPropagatePerLocation: a per-location channel gets one outbox item
// per listing and location (a kit's built from its components' stock at
// that location); a single-mode channel beside it one per listing.
func TestPropagatePerLocation(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for _, d := range []inventory.Delta{
		{Key: "r1", SKU: "A", Location: "main", Quantity: 5, Reason: "initial"},
		{Key: "r2", SKU: "A", Location: "pos", Quantity: 2, Reason: "initial"},
		{Key: "r3", SKU: "B", Location: "pos", Quantity: 3, Reason: "initial"},
	} {
		if _, err := l.Receive(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.New(rdb, prefix)
	plan := catalog.Plan{Kits: []catalog.Kit{{SKU: "K", Components: []catalog.Component{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 1}}}}}
	if _, err := cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	chans := []Channel{
		{Name: "shop", Locations: []string{"main", "pos"}, PerLocation: true},
		{Name: "one", Locations: []string{"main", "pos"}},
	}
	for i := range chans {
		chans[i].Outbox = outbox.New(rdb, prefix, chans[i].Name)
		chans[i].Wake = func() {}
	}
	p := New(rdb, l, chans).WithCatalog(cat)
	if err := p.Propagate(ctx, []string{"A", "B"}, time.Now(), nil, catalog.Version{}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]map[string]int64{
		"shop": {"A@main": 5, "A@pos": 2, "B@main": 0, "B@pos": 3, "K@main": 0, "K@pos": 2},
		"one":  {"A": 7, "B": 3, "K": 3},
	} {
		ch, _ := p.Channel(name)
		items, err := ch.Outbox.Due(ctx, 100, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, it := range items {
			got[it.SKU] = it.Quantity
		}
		// Zero figures never accepted before are not queued (nothing to change).
		for k, v := range want {
			if _, ok := got[k]; !ok && v == 0 {
				delete(want, k)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s outbox %v, want %v", name, got, want)
		}
	}
	listed, err := p.Listed(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if got := listed["shop"]; got["A@main"] != 5 || got["A@pos"] != 2 || got["K@pos"] != 2 {
		t.Errorf("Listed shop = %v", got)
	}
}

func TestLocationKeys(t *testing.T) {
	for _, tt := range []struct{ key, sku, loc, chLoc string }{
		{outbox.LocationKey("A", "main"), "A", "main", ""},
		{outbox.LocationKey("x@y.com", "main"), "x@y.com", "main", ""},
		{outbox.UnmappedKey("A@1", "gid://shopify/Location/7"), "A@1", "", "gid://shopify/Location/7"},
		{"plain", "plain", "", ""},
	} {
		sku, loc, chLoc := outbox.SplitLocationKey(tt.key)
		if sku != tt.sku || loc != tt.loc || chLoc != tt.chLoc {
			t.Errorf("SplitLocationKey(%q) = %q, %q, %q", tt.key, sku, loc, chLoc)
		}
	}
}
