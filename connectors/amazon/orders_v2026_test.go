package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// fixtureAPI answers the v2026-01-01 order calls with Amazon's published
// examples, in turn, and records the queries it was asked.
type fixtureAPI struct {
	t       *testing.T
	mu      sync.Mutex
	pages   []string // searchOrders answers, in order
	order   string   // getOrder answer
	status  int
	queries []url.Values
}

func (f *fixtureAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.Query())
	var name string
	switch {
	case r.URL.Path == "/orders/2026-01-01/orders" && len(f.pages) > 0:
		name, f.pages = f.pages[0], f.pages[1:]
	case strings.HasPrefix(r.URL.Path, "/orders/2026-01-01/orders/") && f.order != "":
		name = f.order
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RateLimit-Limit", "1000")
	w.WriteHeader(f.status)
	_, _ = w.Write(readFixture(f.t, name))
}

// fixtureConnector is a v2026-01-01 connector whose SP-API calls reach api
// (Login with Amazon is the fake's).
func fixtureConnector(t *testing.T, api *fixtureAPI) *Connector {
	t.Helper()
	clk := newClock()
	srv := newFake(t, clk, nil)
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	return newTestConnector(t, srv, clk, func(ch *config.Channel) {
		ch.APIURL = hs.URL
		ch.MaxRetries = 0
		settingsOf(ch).OrdersAPI = OrdersV2026
	})
}

// TestV2026FixturesThroughTheSource: every v2026-01-01 fixture parses
// through the source the poller and FetchOrder use: searchOrders pages
// (the example's nextToken leads to the next page, asked with the same
// parameters), Amazon-fulfilled orders left out, getOrder answers, and the
// sandbox's 400s as Amazon's own error.
func TestV2026FixturesThroughTheSource(t *testing.T) {
	line := func(id, sku string, q, shipped int64) connectors.Line {
		return connectors.Line{LineID: id, SKU: sku, Quantity: q, Shipped: shipped}
	}
	t.Run("searchOrders", func(t *testing.T) {
		for _, tc := range []struct {
			pages []string
			want  map[string][]connectors.Line
		}{
			{[]string{"searchOrders_v2026-01-01_response.example.json", "searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-23.json"},
				map[string][]connectors.Line{
					"123-4567890-1234567": {line("12345678901234", "ECHO-DOT-4-CHARCOAL", 2, 2), line("12345678901235", "FIRE-TV-4K-2021", 1, 1)},
					"202-7654321-1098765": {line("20276543210987", "ECHO-DOT-4-UK-CHARCOAL-SINGLE", 1, 1)},
				}},
			// The JP order is FBA: it moves none of the seller's stock.
			{[]string{"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-25.json", "searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-20.json"},
				map[string][]connectors.Line{"171-2345678-9012345": {line("17123456789012", "DELL-I15-BR-001", 1, 0)}}},
		} {
			t.Run(tc.pages[0], func(t *testing.T) {
				api := &fixtureAPI{t: t, pages: tc.pages, status: http.StatusOK}
				c := fixtureConnector(t, api)
				since := c.now().Add(-24 * time.Hour)
				got := map[string][]connectors.Line{}
				through, err := c.PollOrders(context.Background(), since, func(_ context.Context, page []connectors.Order) error {
					for _, o := range page {
						if err := o.Validate(); err != nil {
							t.Errorf("order %s: %v", o.OrderID, err)
						}
						got[o.OrderID] = o.Lines
					}
					return nil
				})
				if err != nil || !through.Equal(c.now().Add(-orderVisibilityDelay)) {
					t.Fatalf("through %s, %v", through, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v\nwant %+v", got, tc.want)
				}
				if len(api.queries) != 2 {
					t.Fatalf("%d calls, want 2", len(api.queries))
				}
				first, second := api.queries[0], api.queries[1]
				if tok := second.Get("paginationToken"); tok == "" || first.Has("paginationToken") {
					t.Errorf("paginationToken %q on the second call, %q on the first", tok, first.Get("paginationToken"))
				}
				second.Del("paginationToken")
				if first.Encode() != second.Encode() {
					t.Errorf("the next page was asked with other parameters:\n%s\n%s", first.Encode(), second.Encode())
				}
				for k, v := range map[string]string{"fulfilledBy": "MERCHANT", "includedData": "FULFILLMENT,RECIPIENT", "maxResultsPerPage": "100", "marketplaceIds": "ATVPDKIKX0DER"} {
					if first.Get(k) != v {
						t.Errorf("%s=%q, want %q", k, first.Get(k), v)
					}
				}
				if first.Has("createdAfter") || first.Get("lastUpdatedAfter") == "" || first.Get("lastUpdatedBefore") == "" {
					t.Errorf("window %s", first.Encode())
				}
			})
		}
	})
	t.Run("getOrder", func(t *testing.T) {
		for _, tc := range []struct {
			file   string
			id     string
			status connectors.OrderStatus
			name   string
			lines  []connectors.Line
			shipTo connectors.Address
		}{
			{"getOrder_v2026-01-01_response.example.json", "202-1234567-8901234", connectors.StatusShipped, "UK-MERCHANT-ORDER-2024-001",
				[]connectors.Line{line("20212345678901", "ECHO-DOT-4-UK-CHARCOAL-3PACK", 3, 3)}, connectors.Address{Country: "GB", Region: "ENGLAND"}},
			{"getOrder_v2026-01-01_response.sandbox_028-1234567-8901234.json", "028-1234567-8901234", connectors.StatusShipped, "TR-ORDER-2025-001",
				[]connectors.Line{line("02812345678901", "FIRE-HD10-TR-BLK", 2, 2)}, connectors.Address{Country: "TR", Region: "ISTANBUL"}},
			{"getOrder_v2026-01-01_response.sandbox_114-9876543-1234567.json", "114-9876543-1234567", connectors.StatusOpen, "",
				[]connectors.Line{line("11498765431234", "ECHO-POP-US-BLK", 1, 0)}, connectors.Address{Country: "US", Region: "WA"}},
			{"getOrder_v2026-01-01_response.sandbox_171-9876543-2109876.json", "171-9876543-2109876", connectors.StatusOpen, "BR-CONSUMER-ORDER-2024-003",
				[]connectors.Line{line("17198765432109", "ECHO-DOT-4-BR-PRETO", 1, 0)}, connectors.Address{Country: "BR", Region: "SP"}},
		} {
			t.Run(tc.file, func(t *testing.T) {
				api := &fixtureAPI{t: t, order: tc.file, status: http.StatusOK}
				c := fixtureConnector(t, api)
				o, err := c.FetchOrder(context.Background(), tc.id)
				if err != nil {
					t.Fatal(err)
				}
				if o.OrderID != tc.id || o.Status != tc.status || o.Name != tc.name || !reflect.DeepEqual(o.Lines, tc.lines) || o.Validate() != nil {
					t.Fatalf("got %+v", o)
				}
				if q := api.queries[0]; q.Get("includedData") != "FULFILLMENT,RECIPIENT" {
					t.Errorf("query %s", q.Encode())
				}
				if o.ShipTo == nil || *o.ShipTo != tc.shipTo {
					t.Errorf("ship to %+v, want %+v (recipient.deliveryAddress)", o.ShipTo, tc.shipTo)
				}
			})
		}
	})
	t.Run("400", func(t *testing.T) {
		api := &fixtureAPI{t: t, pages: []string{"searchOrders_v2026-01-01_response.sandbox_TEST_CASE_400.json"},
			order: "getOrder_v2026-01-01_response.sandbox_TEST_CASE_400.json", status: http.StatusBadRequest}
		c := fixtureConnector(t, api)
		since := c.now().Add(-time.Hour)
		through, err := c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { return nil })
		var ae *APIError
		if !errors.As(err, &ae) || ae.Op != opSearchOrders || ae.Code != "InvalidInput" || ae.Message != "Invalid Input" || !through.Equal(since) {
			t.Errorf("searchOrders: through %s, %v", through, err)
		}
		_, err = c.FetchOrder(context.Background(), "TEST_CASE_400")
		if !errors.As(err, &ae) || ae.Op != opGetOrder2026 || ae.Code != "InvalidInput" || errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("getOrder: %v", err)
		}
	})
}

// TestV2026NeedsTheFulfillmentDataset: an answer without the FULFILLMENT
// dataset (no status) fails loudly rather than passing an order whose
// lines would read as unshipped.
func TestV2026NeedsTheFulfillmentDataset(t *testing.T) {
	_, _, err := decodeSearchOrders("c", []byte(`{"orders":[{"orderId":"1","createdTime":"2026-01-01T00:00:00Z","lastUpdatedTime":"2026-01-01T00:00:00Z",
		"salesChannel":{"channelName":"AMAZON"},"orderItems":[{"orderItemId":"a","quantityOrdered":1,"product":{"sellerSku":"S"}}]}]}`))
	if err == nil || !strings.Contains(err.Error(), "fulfillmentStatus") {
		t.Fatalf("got %v, want an unknown fulfillmentStatus", err)
	}
}

// FuzzOrdersV2026 reads searchOrders pages and getOrder answers as the
// v2026-01-01 source does: whatever Amazon answers, an order handed on is
// valid.
func FuzzOrdersV2026(f *testing.F) {
	for _, name := range []string{
		"searchOrders_v2026-01-01_response.example.json",
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-20.json",
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-23.json",
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-25.json",
		"getOrder_v2026-01-01_response.example.json",
		"getOrder_v2026-01-01_response.sandbox_171-9876543-2109876.json",
	} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"order":{"orderId":"1","lastUpdatedTime":"2026-01-01T00:00:00Z","fulfillment":{"fulfillmentStatus":"CANCELLED"},
		"orderItems":[{"orderItemId":"a","quantityOrdered":-1,"product":{"sellerSku":""},"fulfillment":{"quantityFulfilled":7}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if orders, _, err := decodeSearchOrders("c", data); err == nil {
			for _, o := range orders {
				if err := o.Validate(); err != nil {
					t.Fatalf("invalid order passed: %v", err)
				}
			}
		}
		if o, err := decodeGetOrder2026("c", data); err == nil {
			if err := o.Validate(); err != nil {
				t.Fatalf("invalid order passed: %v", err)
			}
		}
	})
}

// TestV2026ShipTo: with amazon.read_ship_to (the default) polls and
// fetches ask for the RECIPIENT dataset and the order carries its
// destination (recipient.deliveryAddress countryCode, stateOrRegion);
// with read_ship_to false they ask for FULFILLMENT only and carry none.
func TestV2026ShipTo(t *testing.T) {
	for _, read := range []bool{true, false} {
		t.Run(fmt.Sprint("read_ship_to=", read), func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			c := newTestConnector(t, srv, clk, func(ch *config.Channel) {
				settingsOf(ch).OrdersAPI = OrdersV2026
				settingsOf(ch).ReadShipTo = &read
			})
			now := clk.Now()
			srv.AddOrder(amazontest.Order{AmazonOrderID: "111-0000000-0000001", Status: "Unshipped", LastUpdate: now.Add(-time.Hour),
				ShipTo: &amazontest.Address{City: "Sacramento", StateOrRegion: "ca", CountryCode: "US"},
				Items:  []amazontest.Item{{OrderItemID: "i1", SellerSKU: "S", Ordered: 1}}})
			var want *connectors.Address
			if read {
				want = &connectors.Address{Country: "US", Region: "CA"}
			}
			check := func(how string, o *connectors.Order) {
				if (want == nil) != (o.ShipTo == nil) || (want != nil && *want != *o.ShipTo) {
					t.Errorf("%s: ship to %+v, want %+v", how, o.ShipTo, want)
				}
			}
			o, err := c.FetchOrder(context.Background(), "111-0000000-0000001")
			if err != nil {
				t.Fatal(err)
			}
			check("fetched", o)
			n := 0
			if _, err := c.PollOrders(context.Background(), now.Add(-2*time.Hour), func(_ context.Context, page []connectors.Order) error {
				for i := range page {
					check("polled", &page[i])
					n++
				}
				return nil
			}); err != nil || n != 1 {
				t.Fatalf("poll: %d orders, %v", n, err)
			}
		})
	}
}

// TestV2026ShipToRefused: an app without the Direct-to-Consumer Delivery
// role, which Amazon requires "to access shipping address information",
// is refused a call with includedData=RECIPIENT (the fake answers 400 or
// 403 naming the dataset and role). Polls and fetches still read the
// orders, without their destination, whichever comes first; the dataset
// is dropped once for the process and counted once.
func TestV2026ShipToRefused(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden} {
		for _, pollFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d/poll_first=%v", status, pollFirst), func(t *testing.T) {
				clk := newClock()
				srv := newFake(t, clk, func(o *amazontest.Options) { o.RefuseRecipient = status })
				c := newTestConnector(t, srv, clk, withOrdersAPI(OrdersV2026)) // read_ship_to left at its default
				now := clk.Now()
				srv.AddOrder(amazontest.Order{AmazonOrderID: "111-0000000-0000001", Status: "Unshipped", LastUpdate: now.Add(-time.Hour),
					ShipTo: &amazontest.Address{City: "Sacramento", StateOrRegion: "CA", CountryCode: "US"},
					Items:  []amazontest.Item{{OrderItemID: "i1", SellerSKU: "S", Ordered: 1}}})
				fetch := func() {
					o, err := c.FetchOrder(context.Background(), "111-0000000-0000001")
					if err != nil || o.ShipTo != nil || len(o.Lines) != 1 {
						t.Fatalf("fetch: %+v, %v; want the order without a destination", o, err)
					}
				}
				poll := func() {
					var got []connectors.Order
					if _, err := c.PollOrders(context.Background(), now.Add(-2*time.Hour), func(_ context.Context, page []connectors.Order) error {
						got = append(got, page...)
						return nil
					}); err != nil || len(got) != 1 || got[0].ShipTo != nil {
						t.Fatalf("poll: %+v, %v; want the order without a destination", got, err)
					}
				}
				if pollFirst {
					poll()
					fetch()
				} else {
					fetch()
					poll()
				}
				if n := testutil.ToFloat64(c.metrics.shipToRefused); n != 1 {
					t.Errorf("shelfsync_amazon_ship_to_refused_total %v, want 1", n)
				}
			})
		}
	}
}

// TestV2026RefusalNotTheDatasetsDropsNothing: a 403 that the call
// without RECIPIENT gets as well (an app refused the Orders API itself)
// is returned as it is, and RECIPIENT is still asked for afterwards.
func TestV2026RefusalNotTheDatasetsDropsNothing(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	var mu sync.Mutex
	var included []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		included = append(included, r.URL.Query().Get("includedData"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]}`))
	}))
	t.Cleanup(hs.Close)
	c := newTestConnector(t, srv, clk, func(ch *config.Channel) {
		ch.APIURL = hs.URL
		ch.MaxRetries = 0
		settingsOf(ch).OrdersAPI = OrdersV2026
	})
	for range 2 {
		if _, err := c.FetchOrder(context.Background(), "111-0000000-0000001"); err == nil {
			t.Fatal("fetch succeeded against a 403")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(included); n < 2 || included[n-1] != "FULFILLMENT" || !slices.Contains(included[n/2:], "FULFILLMENT,RECIPIENT") {
		t.Errorf("includedData of the calls %q: want the second fetch to ask for RECIPIENT again", included)
	}
	if n := testutil.ToFloat64(c.metrics.shipToRefused); n != 0 {
		t.Errorf("shelfsync_amazon_ship_to_refused_total %v, want 0", n)
	}
}
