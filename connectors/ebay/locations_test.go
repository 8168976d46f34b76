package ebay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
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

// TestReadLocationsChangingBetweenPages: the seller adds a location that
// sorts ahead of the read's offset, and disables another, between two
// pages: offset paging lists the last location of the first page again
// on the second. The read does not fail: each location once, with the
// later page's state.
func TestReadLocationsChangingBetweenPages(t *testing.T) {
	e := perLocEnv(t) // main → WH-MAIN, pos → STORE-1; OLD-WH unmapped
	for i := range 230 {
		e.fake.AddLocation(fmt.Sprintf("X-%03d", i))
	}
	// By key: OLD-WH, STORE-1, WH-MAIN, X-000...: the 100th is X-096.
	e.fake.BeforeLocationsPage(func(offset int) {
		if offset == 100 {
			e.fake.AddLocation("A-NEW")
			e.fake.DisableLocation("X-096")
		}
	})
	got, err := e.conn.ReadLocations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]connectors.ChannelLocation{}
	for _, l := range got {
		if _, dup := byID[l.ID]; dup {
			t.Errorf("%s listed twice", l.ID)
		}
		byID[l.ID] = l
	}
	if len(byID) != 233 {
		t.Errorf("%d locations; want the 233 there were (A-NEW came ahead of the offset)", len(byID))
	}
	if w := (connectors.ChannelLocation{ID: "X-096", State: connectors.LocationDisabled}); byID["X-096"] != w {
		t.Errorf("X-096: %+v; want %+v (the later page's)", byID["X-096"], w)
	}
	if w := (connectors.ChannelLocation{ID: "WH-MAIN", Location: "main", State: connectors.LocationEnabled}); byID["WH-MAIN"] != w {
		t.Errorf("WH-MAIN: %+v; want %+v", byID["WH-MAIN"], w)
	}
}

// TestReadLocationsNextThatDoesNotMoveOn: a next naming the offset just
// read (or an earlier one) fails the read at once instead of paging until
// maxLocationPages (a location listed again is no longer an error that
// would stop it).
func TestReadLocationsNextThatDoesNotMoveOn(t *testing.T) {
	var fake *ebaytest.Server
	var pages atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sell/inventory/v1/location" {
			u, _ := url.Parse(fake.URL())
			httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
			return
		}
		pages.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"total":2,"limit":1,"offset":1,"next":"%s/sell/inventory/v1/location?limit=1&offset=1","locations":[{"merchantLocationKey":"A","merchantLocationStatus":"ENABLED"}]}`, "http://"+r.Host)
	}))
	t.Cleanup(front.Close)
	e := newEnv(t, envConfig{channel: func(ch *config.Channel) { ch.APIURL = front.URL }})
	fake = e.fake
	_, err := e.conn.ReadLocations(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not move on") {
		t.Fatalf("read: %v; want the next that does not move on refused", err)
	}
	if n := pages.Load(); n != 2 {
		t.Errorf("%d pages read; want 2 (the first, then the one its next names)", n)
	}
}
