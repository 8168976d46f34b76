package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// skuRange is n SKUs named prefix0000...
func skuRange(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func live(pairs ...any) []connectors.LiveQuantity {
	out := []connectors.LiveQuantity{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, connectors.LiveQuantity{SKU: pairs[i].(string), Quantity: int64(pairs[i+1].(int))})
	}
	return out
}

// liveAll is every SKU of skus at quantity q.
func liveAll(skus []string, q int) []connectors.LiveQuantity {
	out := []connectors.LiveQuantity{}
	for _, s := range skus {
		out = append(out, connectors.LiveQuantity{SKU: s, Quantity: int64(q)})
	}
	return out
}

// TestReadQuantitiesSearch: SKUs are read 20 a call with
// searchListingsItems; unknown ones are left out; a SKU with a comma is
// read alone with getListingsItem; the calls are counted on the fake.
func TestReadQuantitiesSearch(t *testing.T) {
	many := skuRange("M", 45)
	twenty := skuRange("T", 20)
	odd := []string{"X Y&Z/1+2%3", "ü-ß?#=", "  padded  "}
	for _, tc := range []struct {
		name     string
		listed   map[string]int64
		listAll  []string // listed at quantity 1
		read     []string
		want     []connectors.LiveQuantity
		searches int
		gets     int
	}{
		{name: "known", listed: map[string]int64{"A": 3, "B": 0}, read: []string{"A", "B"},
			want: live("A", 3, "B", 0), searches: 1},
		{name: "unknown", listed: map[string]int64{"A": 3}, read: []string{"NOPE", "GONE"},
			want: live(), searches: 1},
		{name: "mixed, in the order asked", listed: map[string]int64{"A": 3, "B": 0}, read: []string{"B", "NOPE", "A"},
			want: live("B", 0, "A", 3), searches: 1},
		{name: "20 SKUs are one call, one page", listAll: twenty, read: twenty,
			want: liveAll(twenty, 1), searches: 1},
		{name: "21 SKUs are two calls", listAll: twenty, read: append(append([]string{}, twenty...), "NOPE"),
			want: liveAll(twenty, 1), searches: 2},
		{name: "45 SKUs are three calls", listAll: many[:41], read: many,
			want: liveAll(many[:41], 1), searches: 3},
		{name: "duplicates and empty SKUs", listed: map[string]int64{"A": 3, "B": 1}, read: []string{"A", "", "A", "B", ""},
			want: live("A", 3, "B", 1), searches: 1},
		{name: "SKUs that need encoding", listAll: odd, read: odd,
			want: liveAll(odd, 1), searches: 1},
		{name: "a comma SKU is read alone", listed: map[string]int64{"A": 3, "RED,M": 4}, read: []string{"RED,M", "A"},
			want: live("RED,M", 4, "A", 3), searches: 1, gets: 1},
		{name: "unknown comma SKU", listed: map[string]int64{"A": 3}, read: []string{"NO,PE", "A"},
			want: live("A", 3), searches: 1, gets: 1},
		{name: "only comma SKUs", listed: map[string]int64{"A,1": 1, "A,2": 2}, read: []string{"A,1", "A,2", ","},
			want: live("A,1", 1, "A,2", 2), gets: 3},
		{name: "nothing to read", read: nil, want: live()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			for sku, q := range tc.listed {
				srv.SetListing(sku, q)
			}
			for _, sku := range tc.listAll {
				srv.SetListing(sku, 1)
			}
			c := newTestConnector(t, srv, clk, nil)
			got, err := c.ReadQuantities(context.Background(), tc.read)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				got = []connectors.LiveQuantity{}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			if n := srv.Calls("searchListingsItems"); n != tc.searches {
				t.Errorf("%d searchListingsItems calls, want %d", n, tc.searches)
			}
			if n := srv.Calls("getListingsItem"); n != tc.gets {
				t.Errorf("%d getListingsItem calls, want %d", n, tc.gets)
			}
		})
	}
}

// TestReadQuantitiesMerchantOnly: only the DEFAULT channel's quantity is
// read; a listing without one is left out, as getListingsItem's reader did.
func TestReadQuantitiesMerchantOnly(t *testing.T) {
	api := func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, `{"numberOfResults":4,"items":[
			{"sku":"MFN","fulfillmentAvailability":[{"fulfillmentChannelCode":"AMAZON_NA"},{"fulfillmentChannelCode":"DEFAULT","quantity":6}]},
			{"sku":"FBA","fulfillmentAvailability":[{"fulfillmentChannelCode":"AMAZON_NA","quantity":9}]},
			{"sku":"NOQTY","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT"}]},
			{"sku":"NOTASKED","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":1}]}]}`)
	}
	c, _ := connectorOnAPI(t, api)
	got, err := c.ReadQuantities(context.Background(), []string{"FBA", "MFN", "NOQTY", "BARE"})
	if err != nil {
		t.Fatal(err)
	}
	if want := live("MFN", 6); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestReadQuantitiesIgnoresUnasked: a listing Amazon answers for a SKU
// the call did not ask for is not taken, even when another call asked for
// it: only the answer to its own search counts.
func TestReadQuantitiesIgnoresUnasked(t *testing.T) {
	api := func(w http.ResponseWriter, r *http.Request) {
		q := 99
		if strings.Contains(","+r.URL.Query().Get("identifiers")+",", ",A,") {
			q = 1
		}
		writeTestJSON(w, fmt.Sprintf(`{"numberOfResults":1,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":%d}]}]}`, q))
	}
	c, _ := connectorOnAPI(t, api)
	c.workers = 1 // the batches in order: the unasked answer comes last
	got, err := c.ReadQuantities(context.Background(), append([]string{"A"}, skuRange("U", 20)...))
	if err != nil {
		t.Fatal(err)
	}
	if want := live("A", 1); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestReadQuantitiesPaging: should Amazon page a search below pageSize,
// nextToken is followed to the end.
func TestReadQuantitiesPaging(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.SearchPageSize = 7 })
	skus := skuRange("P", 20)
	for _, s := range skus {
		srv.SetListing(s, 2)
	}
	c := newTestConnector(t, srv, clk, nil)
	got, err := c.ReadQuantities(context.Background(), skus)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(liveAll(skus, 2)) {
		t.Errorf("got %v", got)
	}
	if n := srv.Calls("searchListingsItems"); n != 3 {
		t.Errorf("%d calls, want 3 pages of 7, 7 and 6", n)
	}
}

// TestSearchRequest: the request Amazon sees: its parameters, the SKUs
// percent-encoded (a space as %20, never +) and comma-separated.
func TestSearchRequest(t *testing.T) {
	var got []string
	api := func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		writeTestJSON(w, `{"numberOfResults":0,"items":[]}`)
	}
	c, _ := connectorOnAPI(t, api)
	if _, err := c.ReadQuantities(context.Background(), []string{"A B", "C/D+E", "F&G=H"}); err != nil {
		t.Fatal(err)
	}
	want := "/listings/2021-08-01/items/" + amazontest.DefaultSellerID + "?marketplaceIds=" + amazontest.DefaultMarketplace +
		"&identifiers=A%20B,C%2FD%2BE,F%26G%3DH&identifiersType=SKU&includedData=fulfillmentAvailability&pageSize=20"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("requests %q\nwant      %q", got, want)
	}
}

// TestReadQuantitiesThrottled: 429 answers are retried by the framework's
// client; the read then succeeds.
func TestReadQuantitiesThrottled(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	srv.SetListing("A", 7)
	srv.SetListing("A,B", 8)
	c := newTestConnector(t, srv, clk, nil)
	srv.Throttle("searchListingsItems", 2, "")
	srv.Throttle("getListingsItem", 1, "")
	got, err := c.ReadQuantities(context.Background(), []string{"A", "A,B"})
	if err != nil {
		t.Fatal(err)
	}
	if want := live("A", 7, "A,B", 8); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s, g := srv.Calls("searchListingsItems"), srv.Calls("getListingsItem"); s != 3 || g != 2 {
		t.Errorf("%d searches and %d gets, want 3 and 2 (the throttled ones retried)", s, g)
	}
}

// TestReadQuantitiesAdaptsRate: the search limiter follows Amazon's
// x-amzn-RateLimit-Limit.
func TestReadQuantitiesAdaptsRate(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.RateLimits["searchListingsItems"] = 42 })
	srv.SetListing("A", 1)
	c := newTestConnector(t, srv, clk, nil, withLimits(1000, 100, true))
	if _, err := c.ReadQuantities(context.Background(), []string{"A"}); err != nil {
		t.Fatal(err)
	}
	if got := c.limits.get(opSearchListings).Limit(); got != rate.Limit(pacedRate(42)) {
		t.Fatalf("searchListingsItems limiter at %v/s, want 42 less the margin", got)
	}
	if got := publishedLimits[opSearchListings]; got != (opLimit{5, 5}) {
		t.Fatalf("published plan %+v, want 5/s burst 5", got)
	}
}

// TestReadQuantitiesErrors: a failed call fails the read, wrapped, with
// no partial result.
func TestReadQuantitiesErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*amazontest.Server)
		mutate func(*config.Channel)
		ctx    func() context.Context
		read   []string
		status int   // of the *APIError, when one
		is     error // errors.Is, when set
	}{
		{name: "throttled beyond the retries", read: []string{"A", "B"},
			setup:  func(s *amazontest.Server) { s.Throttle("searchListingsItems", 10, "") },
			mutate: func(ch *config.Channel) { ch.MaxRetries = 1 }, status: http.StatusTooManyRequests},
		{name: "another seller's listings", read: []string{"A"},
			mutate: func(ch *config.Channel) { settingsOf(ch).SellerID = "A3SOMEONEELSE" }, status: http.StatusForbidden},
		{name: "comma SKU read fails", read: []string{"A", "A,B"},
			setup:  func(s *amazontest.Server) { s.Throttle("getListingsItem", 10, "") },
			mutate: func(ch *config.Channel) { ch.MaxRetries = 1 }, status: http.StatusTooManyRequests},
		{name: "cancelled", read: []string{"A"}, is: context.Canceled,
			ctx: func() context.Context { ctx, cancel := context.WithCancel(context.Background()); cancel(); return ctx }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			srv.SetListing("A", 1)
			srv.SetListing("A,B", 1)
			if tc.setup != nil {
				tc.setup(srv)
			}
			c := newTestConnector(t, srv, clk, tc.mutate)
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			got, err := c.ReadQuantities(ctx, tc.read)
			if err == nil || got != nil {
				t.Fatalf("got %v, %v; want an error and nothing", got, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			var ae *APIError
			if tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status) {
				t.Errorf("error %v, want an APIError of HTTP %d", err, tc.status)
			}
		})
	}
}

// TestReadQuantitiesMalformed: an answer that does not follow Amazon's
// model fails the read instead of being read as "not listed".
func TestReadQuantitiesMalformed(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `<html>`},
		{"empty body", ``},
		{"no items", `{"numberOfResults":1}`},
		{"item without sku", `{"numberOfResults":1,"items":[{"fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":1}]}]}`},
		{"negative quantity", `{"numberOfResults":1,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":-1}]}]}`},
		{"quantity not a number", `{"numberOfResults":1,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":"1"}]}]}`},
		{"endless pages", `{"numberOfResults":1,"items":[],"pagination":{"nextToken":"again"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			c, _ := connectorOnAPI(t, func(w http.ResponseWriter, r *http.Request) {
				calls++
				writeTestJSON(w, tc.body)
			})
			got, err := c.ReadQuantities(context.Background(), []string{"A"})
			if err == nil || got != nil {
				t.Fatalf("got %v, %v; want an error", got, err)
			}
			if !strings.Contains(err.Error(), "searchListingsItems") {
				t.Errorf("error %q does not name the operation", err)
			}
			if calls > 1 {
				t.Errorf("%d calls for one batch", calls)
			}
		})
	}
}

// TestSearchListingsFixture reads Amazon's sandbox answer of a search by SKU.
func TestSearchListingsFixture(t *testing.T) {
	r, err := decodeSearchResults(readFixture(t, "searchListingsItems/response.sandbox_SKU.json"))
	if err != nil {
		t.Fatal(err)
	}
	if *r.NumberOfResults != 3 || len(r.Items) != 1 || r.Items[0].SKU != "GM-ZDPI-9B4E" || r.Pagination.NextToken == "" {
		t.Fatalf("got %d results, items %+v, next %q", *r.NumberOfResults, r.Items, r.Pagination.NextToken)
	}
	if q, ok := r.Items[0].merchantQuantity(); !ok || q != 100 {
		t.Fatalf("DEFAULT quantity %d %v, want 100", q, ok)
	}
}

// FuzzSearchResults: whatever Amazon answers, the parser either refuses
// it as malformed or yields listings with a SKU and quantities not below 0.
func FuzzSearchResults(f *testing.F) {
	f.Add(readFixture(f, "searchListingsItems/response.sandbox_SKU.json"))
	f.Add([]byte(`{"numberOfResults":0,"items":[]}`))
	f.Add([]byte(`{"numberOfResults":2,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":3}]},{"sku":"B"}],"pagination":{"nextToken":"t"}}`))
	f.Add([]byte(`{"numberOfResults":1,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":-3}]}]}`))
	f.Add([]byte(`{"numberOfResults":1,"items":[{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":1e99}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeSearchResults(data)
		if err != nil {
			if r != nil {
				t.Fatal("a result with an error")
			}
			if !errors.Is(err, errMalformedSearch) {
				t.Fatalf("error %v does not wrap errMalformedSearch", err)
			}
			return
		}
		if r.NumberOfResults == nil || r.Items == nil {
			t.Fatal("passed without numberOfResults or items")
		}
		for _, it := range r.Items {
			if it.SKU == "" {
				t.Fatal("item without sku passed")
			}
			if q, ok := it.merchantQuantity(); ok && q < 0 {
				t.Fatalf("%s: negative quantity %d passed", it.SKU, q)
			}
		}
	})
}

// TestReadQuantitiesCallsPer1000: a 1,000-SKU reconcile, read in the
// engine's chunks of 100, takes 50 searchListingsItems calls (it took
// 1,000 getListingsItem calls).
func TestReadQuantitiesCallsPer1000(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	skus := skuRange("R", 1000)
	for _, s := range skus {
		srv.SetListing(s, 5)
	}
	c := newTestConnector(t, srv, clk, nil)
	n := 0
	for start := 0; start < len(skus); start += 100 {
		got, err := c.ReadQuantities(context.Background(), skus[start:start+100])
		if err != nil {
			t.Fatal(err)
		}
		n += len(got)
	}
	s, g := srv.Calls("searchListingsItems"), srv.Calls("getListingsItem")
	t.Logf("1,000 SKUs: %d searchListingsItems + %d getListingsItem calls", s, g)
	if n != 1000 || s != 50 || g != 0 {
		t.Fatalf("read %d quantities in %d searches and %d gets; want 1000 in 50 and 0", n, s, g)
	}
}

// connectorOnAPI is a connector whose SP-API is handler (behind the fake's
// access-token check, so no request reaches it unsigned) and whose Login
// with Amazon is the fake's.
func connectorOnAPI(t *testing.T, handler http.HandlerFunc) (*Connector, *amazontest.Server) {
	t.Helper()
	clk := newClock()
	srv := newFake(t, clk, nil)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("x-amz-access-token"), "Atza|") {
			http.Error(w, `{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}`, http.StatusForbidden)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(api.Close)
	c := newTestConnector(t, srv, clk, func(ch *config.Channel) { ch.APIURL = api.URL })
	return c, srv
}

func writeTestJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(body))
}
