package propagate

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// catalogPropagator: a ledger with A 20, B 7, C 3 at "main"; channels
// shop (everything), bay (buffer 2), amz (50 %); on shop the listing
// 6-PACK is 6 A; on bay A-ALIAS is A and the listing "A" is B; the kits
// K1 = 2 A + 1 B and K2 = 1 A + 1 C; on amz the listing K1-L is K1.
func catalogPropagator(t testing.TB, rdb *redis.Client, prefix string) (*Propagator, *catalog.Catalog, *inventory.Ledger) {
	t.Helper()
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for sku, q := range map[string]int64{"A": 20, "B": 7, "C": 3} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: sku, Location: "main", Quantity: q, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.New(rdb, prefix)
	plan := catalog.Plan{
		Mappings: []catalog.Mapping{
			{Channel: "shop", Listing: "6-PACK", SKU: "A", Multiplier: 6},
			{Channel: "bay", Listing: "A-ALIAS", SKU: "A", Multiplier: 1},
			{Channel: "bay", Listing: "A", SKU: "B", Multiplier: 1},
			{Channel: "amz", Listing: "K1-L", SKU: "K1", Multiplier: 1},
		},
		Kits: []catalog.Kit{
			{SKU: "K1", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{SKU: "K2", Components: []catalog.Component{{SKU: "A", Quantity: 1}, {SKU: "C", Quantity: 1}}},
		},
	}
	if probs, err := cat.Check(ctx, plan, l, nil); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if _, err := cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	half := 50.0
	chans := []Channel{
		{Name: "shop", Locations: []string{"main"}},
		{Name: "bay", Locations: []string{"main"}, Allocation: Allocation{Buffer: 2}},
		{Name: "amz", Locations: []string{"main"}, Allocation: Allocation{Percent: &half}},
	}
	for i := range chans {
		chans[i].Outbox = outbox.New(rdb, prefix, chans[i].Name)
		chans[i].Wake = func() {}
	}
	return New(rdb, l, chans).WithCatalog(cat), cat, l
}

// TestFanOutThroughTheCatalog: what each channel lists, per listing, when
// names change: the SKU under its own name unless that name is mapped to
// something else on the channel, every listing mapped to it (floor of
// ATS / multiplier), and every kit containing it (the least of floor(
// component ATS on that channel / units per kit)), kits under their own
// name and their mapped listings.
func TestFanOutThroughTheCatalog(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p, _, _ := catalogPropagator(t, rdb, prefix)
	type listed = map[string]map[string]int64
	cases := []struct {
		name  string
		names []string
		want  listed
	}{
		// "A" is also a listing on bay (standing for B): B is listed
		// again too, as if bay had changed that listing.
		{"a component sold alone, in two kits, mapped", []string{"A"}, listed{
			"shop": {"A": 20, "6-PACK": 3, "K1": 7, "K2": 3, "B": 7},
			"bay":  {"A-ALIAS": 18, "K1": 5, "K2": 1, "B": 5, "A": 5},
			"amz":  {"A": 10, "K1": 3, "K1-L": 3, "K2": 1, "B": 3},
		}},
		{"a SKU behind another name on one channel", []string{"B"}, listed{
			"shop": {"B": 7, "K1": 7},
			"bay":  {"B": 5, "A": 5, "K1": 5},
			"amz":  {"B": 3, "K1": 3, "K1-L": 3},
		}},
		{"a kit itself (its definition changed)", []string{"K2"}, listed{
			"shop": {"K2": 3}, "bay": {"K2": 1}, "amz": {"K2": 1},
		}},
		{"a SKU the catalog does not know", []string{"C"}, listed{
			"shop": {"C": 3, "K2": 3}, "bay": {"C": 1, "K2": 1}, "amz": {"C": 1, "K2": 1},
		}},
		{"a name neither in the ledger nor the catalog", []string{"NOPE"}, listed{"shop": {}, "bay": {}, "amz": {}}},
		{"a mapped listing (its channel changed it): listed again from its SKU", []string{"6-PACK"}, listed{
			"shop": {"A": 20, "6-PACK": 3},
			"bay":  {"A-ALIAS": 18},
			"amz":  {"A": 10},
		}},
		{"a listing mapped to a kit", []string{"K1-L"}, listed{
			"shop": {"K1": 7}, "bay": {"K1": 5}, "amz": {"K1": 3, "K1-L": 3},
		}},
	}
	for _, c := range cases {
		got, err := p.Listed(context.Background(), c.names...)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
		// ListedOn is the same, one channel at a time.
		for ch, want := range c.want {
			one, err := p.ListedOn(context.Background(), ch, c.names...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(one, want) {
				t.Errorf("%s, ListedOn %s:\n got %v\nwant %v", c.name, ch, one, want)
			}
		}
	}
	if none, err := p.ListedOn(context.Background(), "nope", "A"); err != nil || len(none) != 0 {
		t.Errorf("ListedOn an unknown channel: %v, %v", none, err)
	}
}

// TestPropagateQueuesEveryListing: Propagate writes what Listed says into
// each channel's outbox, one item per listing, with the channel's own
// sale of a listing as its echo.
func TestPropagateQueuesEveryListing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p, _, _ := catalogPropagator(t, rdb, prefix)
	ctx := context.Background()
	if err := p.Propagate(ctx, []string{"A"}, time.Now(), Sold{"amz": {"K1-L": 1}}, catalog.Version{}); err != nil {
		t.Fatal(err)
	}
	ch, _ := p.Channel("amz")
	items, err := ch.Outbox.Due(ctx, 100, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, it := range items {
		got[it.SKU] = it.Quantity
	}
	if want := map[string]int64{"A": 10, "B": 3, "K1": 3, "K1-L": 3, "K2": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("amz outbox %v, want %v", got, want)
	}
}

// TestFanOutSkipsAKitWithoutADefinition: a crash between an import's
// reverse entries and its definitions leaves a component naming a kit the
// catalog does not define: nothing is listed for it.
func TestFanOutSkipsAKitWithoutADefinition(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p, _, _ := catalogPropagator(t, rdb, prefix)
	if err := rdb.HSet(context.Background(), prefix+"cat:{C}", "u\x1fGHOST", 1).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := p.Listed(context.Background(), "C")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"C": 3, "K2": 3}; !reflect.DeepEqual(got["shop"], want) {
		t.Fatalf("shop lists %v, want %v", got["shop"], want)
	}
}
