package ebay

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// TestReadLocations: every inventory location of the seller, over pages
// (next followed), with its state and the shelfsync location mapped to
// it; a mapped key the seller does not have is missing; every call takes
// one token of the channel's limiter.
func TestReadLocations(t *testing.T) {
	e := perLocEnv(t) // main → WH-MAIN, pos → STORE-1; OLD-WH unmapped
	e.fake.DisableLocation("OLD-WH")
	for i := range 230 { // three pages of 100
		e.fake.AddLocation(fmt.Sprintf("X-%03d", i))
	}
	deps := e.deps
	lim := rate.NewLimiter(rate.Every(time.Hour), 10)
	deps.Limiter = lim
	deps.HTTP = connectors.NewHTTPClient(connectors.HTTPOptions{Channel: deps.Channel.Name, Timeout: 5 * time.Second, Limiter: lim})
	deps.Registerer = nil
	c, err := NewWithOptions(deps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.ReadLocations(ctx); err != nil { // and the token
		t.Fatal(err)
	}
	before := lim.TokensAt(time.Now())
	calls := e.fake.Calls("get_inventory_locations")
	got, err := c.ReadLocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("get_inventory_locations") - calls; n != 3 {
		t.Errorf("%d calls; want 3 (233 locations, 100 a page)", n)
	}
	if spent := before - lim.TokensAt(time.Now()); spent < 2.9 || spent > 3.1 {
		t.Errorf("%.2f limiter tokens taken; want 3 (one a call)", spent)
	}
	if len(got) != 233 {
		t.Fatalf("%d locations; want 233", len(got))
	}
	byID := map[string]connectors.ChannelLocation{}
	for _, l := range got {
		byID[l.ID] = l
	}
	for _, w := range []connectors.ChannelLocation{
		{ID: "WH-MAIN", Location: "main", State: connectors.LocationEnabled},
		{ID: "STORE-1", Location: "pos", State: connectors.LocationEnabled},
		{ID: "OLD-WH", State: connectors.LocationDisabled},
		{ID: "X-229", State: connectors.LocationEnabled},
	} {
		if byID[w.ID] != w {
			t.Errorf("%s: %+v; want %+v", w.ID, byID[w.ID], w)
		}
	}
}

// TestReadLocationsMappedProblems: a key of ebay.location_keys the seller
// has disabled is read disabled, one the seller does not have at all is
// missing, both under their shelfsync location.
func TestReadLocationsMappedProblems(t *testing.T) {
	e := newEnv(t, envConfig{channel: func(ch *config.Channel) {
		ch.Locations = []string{"main", "pos"}
		ch.StockMode = config.StockPerLocation
		settingsOf(ch).LocationKeys = map[string]string{"main": "WH-MAIN", "pos": "GONE"}
	}})
	e.fake.AddLocation("WH-MAIN")
	e.fake.DisableLocation("WH-MAIN")
	got, err := e.conn.ReadLocations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.ChannelLocation{
		{ID: "WH-MAIN", Location: "main", State: connectors.LocationDisabled},
		{ID: "GONE", Location: "pos", State: connectors.LocationMissing},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%+v; want %+v", got, want)
	}
}

// FuzzParseLocations: a getInventoryLocations answer parses with a usable
// total and a key for every location, or is refused; never a panic.
func FuzzParseLocations(f *testing.F) {
	for _, s := range []string{
		`{"href":"https://api.ebay.com/sell/inventory/v1/location?limit=100&offset=0","limit":100,"offset":0,"total":2,"locations":[{"merchantLocationKey":"WH-1","merchantLocationStatus":"ENABLED"},{"merchantLocationKey":"S-2","merchantLocationStatus":"DISABLED"}]}`,
		`{"total":0,"locations":[]}`,
		`{"locations":[{"merchantLocationKey":"A"}]}`,
		`{"total":1,"locations":[{"merchantLocationStatus":"ENABLED"}]}`,
		`{"total":-1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p locationsPage
		if err := parseLocations(body, &p); err != nil {
			return
		}
		if p.Total == nil || *p.Total < 0 {
			t.Fatalf("accepted an answer without a usable total: %s", body)
		}
		for _, l := range p.Locations {
			if l.MerchantLocationKey == "" {
				t.Fatalf("accepted a location without a key: %s", body)
			}
		}
	})
}

func TestParseLocations(t *testing.T) {
	for _, c := range []struct {
		body, err string
	}{
		{`{"total":1,"locations":[{"merchantLocationKey":"A","merchantLocationStatus":"ENABLED"}]}`, ""},
		{`{"total":0}`, ""},
		{`{"locations":[]}`, "no usable total"},
		{`{"total":-2,"locations":[]}`, "no usable total"},
		{`{"total":1,"locations":[{"merchantLocationStatus":"ENABLED"}]}`, "without merchantLocationKey"},
		{`{"total":1,"locations":{}}`, "decoding"},
		{`not json`, "decoding"},
	} {
		var p locationsPage
		err := parseLocations([]byte(c.body), &p)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v; want %q", c.body, err, c.err)
		}
	}
}
