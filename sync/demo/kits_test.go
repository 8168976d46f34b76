package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// catalogEngine is recordingEngine with a real catalog and a propagator
// over the ledger and the demo's channels: what Seed uses of the engine to
// put the catalogue's mapped listings and kits in.
type catalogEngine struct {
	*recordingEngine
	cat   *catalog.Catalog
	prop  *propagate.Propagator
	names []string
}

func (c *catalogEngine) Catalog() *catalog.Catalog         { return c.cat }
func (c *catalogEngine) Channels() []string                { return c.names }
func (c *catalogEngine) Propagator() *propagate.Propagator { return c.prop }

// TestSeedThenCheckCatalogFindsKitsAndPacksOff: the catalogue has a
// 6-pack on the first channel, kits A and B sharing a component on every
// channel and a 2-pack of kit B on the second; after Seed every one of
// them lists what the propagator says. Each case then puts one of them
// off (the channel edits it, or the ledger moves without a push) and the
// check must name that listing and not report convergence.
func TestSeedThenCheckCatalogFindsKitsAndPacksOff(t *testing.T) {
	tests := []struct {
		name    string
		channel string
		listing string
		off     func(t *testing.T, f *Fakes, e *catalogEngine, c *Catalog)
	}{
		{name: "a kit listing edited on a channel", channel: Amazon, listing: "DEMO-KIT-A",
			off: func(t *testing.T, f *Fakes, _ *catalogEngine, _ *Catalog) {
				q, _ := f.Listed(Amazon, "DEMO-KIT-A")
				f.list(Amazon, "DEMO-KIT-A", q+1)
			}},
		{name: "a kit's shared component sold in the ledger, the kit not pushed", channel: Ebay, listing: "DEMO-KIT-B",
			off: func(t *testing.T, f *Fakes, e *catalogEngine, c *Catalog) {
				// Take all of the component A and B share but one unit: both kits fall.
				shared := c.Items[2]
				d := inventory.Delta{Key: "off", SKU: shared.SKU, Location: LocationWarehouse, Quantity: -(shared.Warehouse - 1), Reason: "test"}
				if _, err := e.l.Adjust(context.Background(), d); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "the 6-pack edited on its channel", channel: ChannelNames()[0], listing: "DEMO-000001-6PK",
			off: func(t *testing.T, f *Fakes, _ *catalogEngine, _ *Catalog) {
				f.list(ChannelNames()[0], "DEMO-000001-6PK", 0)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			f := StartFakes(0, AmazonPublished)
			defer f.Close()
			cfg, err := Config(f, ConfigOptions{RedisAddr: "127.0.0.1:6379", KeyPrefix: prefix, Listen: "127.0.0.1:9999", AdminToken: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			l := inventory.New(rdb, inventory.Options{Prefix: prefix})
			var chans []propagate.Channel
			var names []string
			for _, ch := range cfg.Channels {
				chans = append(chans, propagate.Channel{Name: ch.Name, Locations: ch.Locations, Allocation: propagate.Allocation(ch.Allocation)})
				names = append(names, ch.Name)
			}
			cat := catalog.New(rdb, prefix)
			eng := &catalogEngine{recordingEngine: &recordingEngine{l: l, reported: map[string]int64{}}, cat: cat,
				prop: propagate.New(rdb, l, chans).WithCatalog(cat), names: names}
			c := NewCatalog(40, 7)
			if err := Seed(ctx, eng, f, cfg, c); err != nil {
				t.Fatal(err)
			}
			conv, err := c.CheckCatalog(ctx, l, cfg, f)
			if err != nil {
				t.Fatal(err)
			}
			wantListings := 2*len(names) + 2 // two kits everywhere, the 6-pack and the kit 2-pack
			if !conv.Converged() || len(conv.Listings) != wantListings || conv.ListingsMatching() != wantListings {
				t.Fatalf("after seeding: %+v, want %d catalogue listings all matching", conv, wantListings)
			}
			for _, ls := range conv.Listings {
				if ls.Want <= 0 {
					t.Errorf("%s %s seeded at %d: the demo's catalogue should be on sale", ls.Channel, ls.Listing, ls.Want)
				}
			}
			tc.off(t, f, eng, c)
			conv, err = c.CheckCatalog(ctx, l, cfg, f)
			if err != nil {
				t.Fatal(err)
			}
			if conv.Converged() {
				t.Fatalf("converged with %s on %s off: %+v", tc.listing, tc.channel, conv.Listings)
			}
			found := false
			for _, ls := range conv.Listings {
				if ls.Channel == tc.channel && ls.Listing == tc.listing {
					found = !ls.Matches()
				}
			}
			if !found {
				t.Fatalf("%s on %s not reported off: %+v", tc.listing, tc.channel, conv.Listings)
			}
		})
	}
}

func TestCatalogPer(t *testing.T) {
	c := NewCatalog(10, 1)
	first, second := ChannelNames()[0], ChannelNames()[1]
	tests := []struct {
		channel, listing string
		want             int64
	}{
		{first, "DEMO-000001-6PK", 6},
		{second, "DEMO-000001-6PK", 1}, // not mapped there: a SKU of that name
		{first, "DEMO-KIT-A", 3},       // 1 + 2
		{Amazon, "DEMO-KIT-B", 2},      // 1 + 1
		{second, "DEMO-KIT-B-2PK", 4},  // 2 kits of 2 units
		{first, "DEMO-000005", 1},
	}
	for _, tc := range tests {
		if got := c.Per(tc.channel, tc.listing); got != tc.want {
			t.Errorf("Per(%s, %s) = %d, want %d", tc.channel, tc.listing, got, tc.want)
		}
	}
}

// TestGeneratorSellsTheCatalogue: with the catalogue's mapped listings and
// kits listed on the fakes, the generator sells them too, each order
// carrying the ledger units one unit of its listing moves, and their
// listings fall by what it sold.
func TestGeneratorSellsTheCatalogue(t *testing.T) {
	f := StartFakes(0, AmazonPublished)
	defer f.Close()
	c := NewCatalog(30, 3)
	initial := map[string]int64{}
	for _, ch := range ChannelNames() {
		for _, it := range c.Items {
			f.list(ch, it.SKU, it.Warehouse+it.Store)
		}
		for _, l := range c.Listings(ch) {
			f.list(ch, l, 50)
			initial[ch+"/"+l] = 50
		}
	}
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer daemon.Close()
	g := NewGenerator(f, c, GeneratorOptions{Rate: 300, Target: daemon.URL, Seed: 9, Logger: zerolog.Nop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	catalogue := func() map[string]int64 { // channel/listing → units sold
		sold := map[string]int64{}
		for _, p := range g.Placed() {
			if _, ok := initial[p.Channel+"/"+p.SKU]; ok {
				sold[p.Channel+"/"+p.SKU] += p.Units
			}
		}
		return sold
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(catalogue()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the generator sold too few of the catalogue's listings: %v", catalogue())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	var placed, counted int64
	for _, cc := range g.Counts() {
		counted += cc.Catalogue
	}
	for _, p := range g.Placed() {
		if _, ok := initial[p.Channel+"/"+p.SKU]; ok {
			placed++
		}
		if want := c.Per(p.Channel, p.SKU); p.Per != want {
			t.Errorf("order %s of %s on %s: Per %d, want %d", p.OrderID, p.SKU, p.Channel, p.Per, want)
		}
	}
	if counted != placed {
		t.Errorf("counts show %d catalogue orders, %d were placed", counted, placed)
	}
	for key, sold := range catalogue() {
		ch, l, _ := strings.Cut(key, "/")
		if q, _ := f.Listed(ch, l); initial[key]-q != sold {
			t.Errorf("%s fell by %d, the generator sold %d", key, initial[key]-q, sold)
		}
	}
}
