package ebay

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// perLocEnv is a per_location channel selling from main and pos, mapped
// to the eBay locations WH-MAIN and STORE-1; the seller also has OLD-WH,
// which no shelfsync location maps to.
func perLocEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, envConfig{channel: func(ch *config.Channel) {
		ch.Locations = []string{"main", "pos"}
		ch.StockMode = config.StockPerLocation
		settingsOf(ch).LocationKeys = map[string]string{"main": "WH-MAIN", "pos": "STORE-1"}
	}})
	for _, k := range []string{"WH-MAIN", "STORE-1", "OLD-WH"} {
		e.fake.AddLocation(k)
	}
	return e
}

func wantDists(t *testing.T, e *env, sku string, total int64, want map[string]int64) {
	t.Helper()
	if q, _ := e.fake.Quantity(sku); q != total {
		t.Errorf("%s ship-to quantity = %d; want %d", sku, q, total)
	}
	for _, k := range []string{"WH-MAIN", "STORE-1", "OLD-WH"} {
		q, ok := e.fake.DistributionAt(sku, k)
		if w, in := want[k]; ok != in || q != w {
			t.Errorf("%s at %s = %d (%v); want %d (%v)", sku, k, q, ok, w, in)
		}
	}
}

// TestPushPerLocation: each location's figure goes in its own
// distribution, the item's and every offer's quantity is the sum of the
// distributions, a push of one location keeps the others (read first,
// a level at an unmapped location included), and an update naming an
// unmapped location (ChannelLocation) sets that one.
func TestPushPerLocation(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	offers := e.fake.AddListing("A", 9, 2)
	e.fake.SetDistributions("A", map[string]int64{"OLD-WH": 4})

	res, err := e.conn.PushQuantities(ctx, []connectors.QuantityUpdate{
		{SKU: "A", Location: "main", Quantity: 5}, {SKU: "A", Location: "pos", Quantity: 1}, {SKU: "A", Location: "pos", Quantity: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.SKU != "A" || r.Status != connectors.PushAccepted {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	wantDists(t, e, "A", 11, map[string]int64{"OLD-WH": 4, "WH-MAIN": 5, "STORE-1": 2})
	for _, id := range offers {
		if q, _ := e.fake.OfferQuantity(id); q != 11 {
			t.Errorf("offer %s = %d; want 11", id, q)
		}
	}
	if n := e.fake.Calls("bulk_update_price_quantity"); n != 1 {
		t.Errorf("%d bulk updates; want 1 (one entry per SKU)", n)
	}
	if n := e.fake.Calls("bulk_get_inventory_item"); n != 1 {
		t.Errorf("%d bulk reads before the push; want 1", n)
	}
	if e.fake.Revisions("A") != 1 {
		t.Errorf("revisions = %d; want 1", e.fake.Revisions("A"))
	}

	if _, err := e.conn.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "A", Location: "pos", Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	wantDists(t, e, "A", 12, map[string]int64{"OLD-WH": 4, "WH-MAIN": 5, "STORE-1": 3})

	if _, err := e.conn.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "A", ChannelLocation: "OLD-WH", Quantity: 0}}); err != nil {
		t.Fatal(err)
	}
	wantDists(t, e, "A", 8, map[string]int64{"OLD-WH": 0, "WH-MAIN": 5, "STORE-1": 3})
}

// TestPushPerLocationRefusals: an update without a location, or naming
// one no key maps, fails without a call; a SKU without offers is
// unknown_sku; eBay refusing a location (disabled) fails that SKU only.
func TestPushPerLocationRefusals(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	e.fake.AddListing("OK", 1, 1)
	e.fake.AddListing("SHUT", 1, 1)
	e.fake.AddListing("NO-OFFER", 1, 0)
	e.fake.SetDistributions("SHUT", map[string]int64{"STORE-1": 1})
	e.fake.DisableLocation("STORE-1")
	updates := []connectors.QuantityUpdate{
		{SKU: "OK", Quantity: 1},
		{SKU: "OK", Location: "elsewhere", Quantity: 1},
		{SKU: "NO-OFFER", Location: "main", Quantity: 1},
		{SKU: "SHUT", Location: "pos", Quantity: 4},
		{SKU: "OK", Location: "main", Quantity: 6},
		{SKU: "OK", Location: "main", Quantity: -1},
	}
	want := []struct {
		st     connectors.PushStatus
		reason string
	}{
		{connectors.PushFailed, "names none"},
		{connectors.PushFailed, `location "elsewhere"`},
		{connectors.PushUnknownSKU, "no fixed-price offer"},
		{connectors.PushFailed, "STORE-1 is disabled"},
		{connectors.PushAccepted, ""},
		{connectors.PushFailed, "negative"},
	}
	res, err := e.conn.PushQuantities(ctx, updates)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if res[i].SKU != updates[i].SKU || res[i].Status != w.st || !strings.Contains(res[i].Reason, w.reason) {
			t.Errorf("result %d = %+v; want %s with %q", i, res[i], w.st, w.reason)
		}
	}
	wantDists(t, e, "OK", 6, map[string]int64{"WH-MAIN": 6})
	if q, _ := e.fake.DistributionAt("SHUT", "STORE-1"); q != 1 {
		t.Errorf("disabled location changed to %d", q)
	}
}

// TestReadPerLocation: a per-location read gives each mapped location's
// distribution (0 when there is none), every other distribution under
// its key, and a ship-to quantity beyond the distributions' sum under
// UndistributedKey; pushing that key's zero sets the sum.
func TestReadPerLocation(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	e.fake.AddListing("A", 9, 1)
	e.fake.SetDistributions("A", map[string]int64{"OLD-WH": 4, "WH-MAIN": 5})
	e.fake.AddListing("FRESH", 7, 1) // never distributed
	live, err := e.conn.ReadQuantities(ctx, []string{"A", "FRESH", "NOT-ON-EBAY"})
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.LiveQuantity{
		{SKU: "A", Quantity: 4, ChannelLocation: "OLD-WH"},
		{SKU: "A", Quantity: 5, Location: "main"},
		{SKU: "A", Quantity: 0, Location: "pos"},
		{SKU: "FRESH", Quantity: 0, Location: "main"},
		{SKU: "FRESH", Quantity: 0, Location: "pos"},
		{SKU: "FRESH", Quantity: 7, ChannelLocation: UndistributedKey},
	}
	if !reflect.DeepEqual(live, want) {
		t.Fatalf("ReadQuantities =\n%+v\nwant\n%+v", live, want)
	}
	if _, err := e.conn.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "FRESH", ChannelLocation: UndistributedKey, Quantity: 0}}); err != nil {
		t.Fatal(err)
	}
	if q, _ := e.fake.Quantity("FRESH"); q != 0 {
		t.Errorf("FRESH = %d after its undistributed part was zeroed; want 0", q)
	}
}

// TestLocationKeysValidation: a per_location channel needs a key per
// location, none shared; keys are 1 to 36 characters and not
// UndistributedKey; single mode needs none.
func TestLocationKeysValidation(t *testing.T) {
	base := func(mode string, keys map[string]string) *config.Channel {
		ch := &config.Channel{Name: "e", Kind: Kind, Locations: []string{"main", "pos"}, StockMode: mode,
			Credentials: config.Credentials{ClientID: config.NewSecret("i"), ClientSecret: config.NewSecret("s"), RefreshToken: config.NewSecret("r")},
			Webhook:     config.Webhook{Disabled: true}}
		s := defaultSettings()
		s.LocationKeys = keys
		ch.Settings = s
		return ch
	}
	tests := []struct {
		name string
		ch   *config.Channel
		want string
	}{
		{"single needs none", base(config.StockSingle, nil), ""},
		{"per location, all mapped", base(config.StockPerLocation, map[string]string{"main": "A", "pos": "B"}), ""},
		{"per location, one missing", base(config.StockPerLocation, map[string]string{"main": "A"}), `no eBay merchantLocationKey for location "pos"`},
		{"shared", base(config.StockPerLocation, map[string]string{"main": "A", "pos": "A"}), `same eBay location as "main"`},
		{"too long", base(config.StockSingle, map[string]string{"main": strings.Repeat("x", 37)}), "1 to 36 characters"},
		{"reserved", base(config.StockSingle, map[string]string{"main": UndistributedKey}), "no location holds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.ch.Settings.Validate(tc.ch)
			var got []string
			for _, p := range ps {
				got = append(got, p.Path+": "+p.Msg)
			}
			joined := strings.Join(got, "; ")
			if (tc.want == "") != (len(ps) == 0) || !strings.Contains(joined, tc.want) {
				t.Fatalf("Validate = %q; want %q", joined, tc.want)
			}
		})
	}
}

// TestReadOddDistributions: distributions that can not be trusted (here a
// negative one) leave the SKU out of a per-location read only; a
// single-figure channel reads the ship-to quantity, which it is all it
// sets, and ignores the distributions.
func TestReadOddDistributions(t *testing.T) {
	ctx := context.Background()
	single := newEnv(t, envConfig{})
	single.fake.AddListing("A", 9, 1)
	single.fake.SetDistributions("A", map[string]int64{"OLD-WH": -1})
	live, err := single.conn.ReadQuantities(ctx, []string{"A"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []connectors.LiveQuantity{{SKU: "A", Quantity: 9}}; !reflect.DeepEqual(live, want) {
		t.Errorf("single-figure ReadQuantities = %+v; want %+v", live, want)
	}

	per := perLocEnv(t)
	per.fake.AddListing("A", 9, 1)
	per.fake.SetDistributions("A", map[string]int64{"OLD-WH": -1})
	live, err = per.conn.ReadQuantities(ctx, []string{"A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Errorf("per-location ReadQuantities = %+v; want A left out", live)
	}
}

// TestPushPerLocationUnmappedRefused: eBay refusing a change at an
// unmapped key (OLD-WH, disabled: reconcile's zero_unmapped_locations
// zeroing) does not sink the updates of the SKU's mapped locations sent
// with it: the SKU is sent again without the unmapped change, and each
// update gets its own result.
func TestPushPerLocationUnmappedRefused(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	e.fake.AddListing("A", 9, 1)
	e.fake.SetDistributions("A", map[string]int64{"OLD-WH": 4, "WH-MAIN": 5})
	e.fake.AddListing("B", 2, 1)
	e.fake.SetDistributions("B", map[string]int64{"OLD-WH": 2})
	e.fake.DisableLocation("OLD-WH")
	updates := []connectors.QuantityUpdate{
		{SKU: "A", Location: "main", Quantity: 1},
		{SKU: "A", ChannelLocation: "OLD-WH", Quantity: 0},
		{SKU: "B", ChannelLocation: "OLD-WH", Quantity: 0}, // nothing mapped to keep: fails alone
	}
	res, err := e.conn.PushQuantities(ctx, updates)
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.PushStatus{connectors.PushAccepted, connectors.PushFailed, connectors.PushFailed}
	for i, w := range want {
		if res[i].SKU != updates[i].SKU || res[i].Status != w {
			t.Errorf("result %d = %+v; want %s", i, res[i], w)
		}
	}
	if !strings.Contains(res[1].Reason, "OLD-WH is disabled") {
		t.Errorf("refused zeroing's reason = %q; want eBay's", res[1].Reason)
	}
	wantDists(t, e, "A", 5, map[string]int64{"OLD-WH": 4, "WH-MAIN": 1})
	wantDists(t, e, "B", 2, map[string]int64{"OLD-WH": 2})
	if n := e.fake.Calls("bulk_update_price_quantity"); n != 2 {
		t.Errorf("%d bulk updates; want 2 (the push, then A without OLD-WH)", n)
	}
}

// TestPushPerLocationReadsEachChunkBeforeItsWrite: a push of more than
// 25 SKUs reads each chunk of 25 just before writing it, so a sale eBay
// takes off a distribution while an earlier chunk is written is not
// undone in a later one.
func TestPushPerLocationReadsEachChunkBeforeItsWrite(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	var updates []connectors.QuantityUpdate
	for i := range 30 {
		sku := fmt.Sprintf("S%02d", i)
		e.fake.AddListing(sku, 8, 1)
		e.fake.SetDistributions(sku, map[string]int64{"WH-MAIN": 5, "STORE-1": 3})
		updates = append(updates, connectors.QuantityUpdate{SKU: sku, Location: "main", Quantity: 4})
	}
	writes := 0
	e.fake.BeforeBulkUpdate(func() {
		if writes++; writes == 1 { // while the first chunk (S00-S24) is written
			e.fake.SellAt("S29", "STORE-1", 1)
		}
	})
	res, err := e.conn.PushQuantities(ctx, updates)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != connectors.PushAccepted {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	wantDists(t, e, "S00", 7, map[string]int64{"WH-MAIN": 4, "STORE-1": 3})
	wantDists(t, e, "S29", 6, map[string]int64{"WH-MAIN": 4, "STORE-1": 2})
	if r, w := e.fake.Calls("bulk_get_inventory_item"), e.fake.Calls("bulk_update_price_quantity"); r != 2 || w != 2 {
		t.Errorf("%d reads, %d writes; want 2 and 2 (one of each per chunk)", r, w)
	}
}

// TestPushPerLocationSaleInTheWindow shows the window that remains: a
// sale eBay takes off a distribution between the chunk's read and its
// write is undone at that key (the key goes back as read) when the push
// does not name it; the ship-to quantity, the sum, sells it again. eBay
// has no compare-and-set for the call (README, "Per-location stock").
func TestPushPerLocationSaleInTheWindow(t *testing.T) {
	e := perLocEnv(t)
	ctx := context.Background()
	e.fake.AddListing("A", 8, 1)
	e.fake.SetDistributions("A", map[string]int64{"WH-MAIN": 5, "STORE-1": 3})
	e.fake.BeforeBulkUpdate(func() { e.fake.SellAt("A", "STORE-1", 1) })
	if _, err := e.conn.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "A", Location: "main", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	wantDists(t, e, "A", 7, map[string]int64{"WH-MAIN": 4, "STORE-1": 3})
}
