package amazon

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// TestPollOrdersPaging: 250 orders over three pages; orders changed in
// the last two minutes, FBA orders and orders before since stay out. With
// v0 that is three getOrders calls and one getOrderItems call per order
// (one order's five items over three pages); with v2026-01-01 three
// searchOrders calls and nothing else.
func TestPollOrdersPaging(t *testing.T) {
	for _, api := range ordersAPIs {
		t.Run(api, func(t *testing.T) { testPollOrdersPaging(t, api) })
	}
}

func testPollOrdersPaging(t *testing.T, api string) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.ItemsPageSize = 2 })
	c := newTestConnector(t, srv, clk, withOrdersAPI(api))
	now := clk.Now()
	since := now.Add(-2 * time.Hour)
	for i := range 250 {
		srv.AddOrder(amazontest.Order{
			AmazonOrderID: fmt.Sprintf("111-0000000-%07d", i),
			Status:        "Unshipped",
			LastUpdate:    since.Add(time.Duration(i) * time.Second),
			Items:         []amazontest.Item{{OrderItemID: fmt.Sprintf("item-%d", i), SellerSKU: "SKU-A", Ordered: 1}},
		})
	}
	big := amazontest.Order{AmazonOrderID: "111-0000000-9999999", Status: "Pending", LastUpdate: now.Add(-time.Hour)}
	for i := range 5 {
		big.Items = append(big.Items, amazontest.Item{OrderItemID: fmt.Sprintf("big-%d", i), SellerSKU: fmt.Sprintf("SKU-%d", i), Ordered: int64(i + 1)})
	}
	srv.AddOrder(big)
	srv.AddOrder(amazontest.Order{AmazonOrderID: "too-fresh", Status: "Unshipped", LastUpdate: now.Add(-time.Minute), Items: []amazontest.Item{{OrderItemID: "x", SellerSKU: "S", Ordered: 1}}})
	srv.AddOrder(amazontest.Order{AmazonOrderID: "too-old", Status: "Unshipped", LastUpdate: since.Add(-time.Second), Items: []amazontest.Item{{OrderItemID: "x", SellerSKU: "S", Ordered: 1}}})
	srv.AddOrder(amazontest.Order{AmazonOrderID: "fba", FulfillmentChannel: "AFN", Status: "Shipped", LastUpdate: now.Add(-time.Hour), Items: []amazontest.Item{{OrderItemID: "x", SellerSKU: "S", Ordered: 1, Shipped: 1}}})

	var pages [][]connectors.Order
	through, err := c.PollOrders(context.Background(), since, func(_ context.Context, orders []connectors.Order) error {
		pages = append(pages, orders)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-orderVisibilityDelay); !through.Equal(want) {
		t.Errorf("through %s, want %s", through, want)
	}
	if len(pages) != 3 || len(pages[0]) != 100 || len(pages[1]) != 100 || len(pages[2]) != 51 {
		t.Fatalf("pages of %d", pageSizes(pages))
	}
	seen := map[string]connectors.Order{}
	for _, p := range pages {
		for _, o := range p {
			if err := o.Validate(); err != nil {
				t.Errorf("order %s: %v", o.OrderID, err)
			}
			seen[o.OrderID] = o
		}
	}
	for _, id := range []string{"too-fresh", "too-old", "fba"} {
		if _, ok := seen[id]; ok {
			t.Errorf("order %s should not be polled", id)
		}
	}
	got := seen[big.AmazonOrderID]
	if got.Status != connectors.StatusPending || len(got.Lines) != 5 || got.Lines[4].SKU != "SKU-4" || got.Lines[4].Quantity != 5 {
		t.Errorf("big order: %+v", got)
	}
	want := map[string]int{"getOrders": 3, "getOrderItems": 250 + 3, "getOrder": 0, "searchOrders": 0, "getOrder_2026-01-01": 0}
	if api == OrdersV2026 {
		want = map[string]int{"getOrders": 0, "getOrderItems": 0, "getOrder": 0, "searchOrders": 3, "getOrder_2026-01-01": 0}
	}
	for op, n := range want {
		if got := srv.Calls(op); got != n {
			t.Errorf("%s calls %d, want %d", op, got, n)
		}
	}
}

func pageSizes(pages [][]connectors.Order) []int {
	var n []int
	for _, p := range pages {
		n = append(n, len(p))
	}
	return n
}

// TestPollOrdersWindow: PollOrders never returns a time before since, so
// the caller's cursor only moves forward: LastUpdatedBefore (now − 2m10s)
// after a complete poll; since itself when there is nothing to ask yet (no
// call made), when a call fails or when emit fails.
func TestPollOrdersWindow(t *testing.T) {
	for _, api := range ordersAPIs {
		t.Run(api, func(t *testing.T) {
			op := map[string]string{OrdersV0: "getOrders", OrdersV2026: "searchOrders"}[api]
			clk := newClock()
			srv := newFake(t, clk, nil)
			c := newTestConnector(t, srv, clk, func(ch *config.Channel) { settingsOf(ch).OrdersAPI = api; ch.MaxRetries = 0 })
			before := clk.Now().Add(-orderVisibilityDelay)
			srv.AddOrder(amazontest.Order{AmazonOrderID: "1", Status: "Unshipped", LastUpdate: before.Add(-time.Minute),
				Items: []amazontest.Item{{OrderItemID: "a", SellerSKU: "S", Ordered: 1}}})
			none := func(context.Context, []connectors.Order) error { return nil }
			for _, tc := range []struct {
				name     string
				since    time.Time
				emit     func(context.Context, []connectors.Order) error
				throttle bool
				want     time.Time
				err      bool
				calls    int
			}{
				{"nothing to ask: since is LastUpdatedBefore", before, none, false, before, false, 0},
				{"nothing to ask: since after it", before.Add(time.Minute), none, false, before.Add(time.Minute), false, 0},
				{"nothing to ask: since within its second", before.Add(400 * time.Millisecond), none, false, before.Add(400 * time.Millisecond), false, 0},
				{"a poll", before.Add(-time.Hour), none, false, before, false, 1},
				{"a poll from within a second", before.Add(-time.Hour + 300*time.Millisecond), none, false, before, false, 1},
				{"the call fails", before.Add(-time.Hour), none, true, before.Add(-time.Hour), true, 1},
				{"emit fails", before.Add(-time.Hour), func(context.Context, []connectors.Order) error { return errors.New("intake down") },
					false, before.Add(-time.Hour), true, 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					calls := srv.Calls(op)
					if tc.throttle {
						srv.Throttle(op, 1, "")
					}
					through, err := c.PollOrders(context.Background(), tc.since, tc.emit)
					if (err != nil) != tc.err || !through.Equal(tc.want) || through.Before(tc.since) {
						t.Fatalf("through %s, err %v; want %s, error %v", through, err, tc.want, tc.err)
					}
					if n := srv.Calls(op) - calls; n != tc.calls {
						t.Errorf("%d %s calls, want %d", n, op, tc.calls)
					}
				})
			}
		})
	}
}

func TestPollOrdersEmitError(t *testing.T) {
	for _, api := range ordersAPIs {
		t.Run(api, func(t *testing.T) {
			op := map[string]string{OrdersV0: "getOrders", OrdersV2026: "searchOrders"}[api]
			clk := newClock()
			srv := newFake(t, clk, func(o *amazontest.Options) { o.OrdersPageSize = 1 })
			c := newTestConnector(t, srv, clk, withOrdersAPI(api))
			for i := range 3 {
				srv.AddOrder(amazontest.Order{AmazonOrderID: fmt.Sprint(i), Status: "Shipped", LastUpdate: clk.Now().Add(-time.Hour), Items: []amazontest.Item{{OrderItemID: "a", SellerSKU: "S", Ordered: 1, Shipped: 1}}})
			}
			boom := errors.New("intake full")
			_, err := c.PollOrders(context.Background(), clk.Now().Add(-2*time.Hour), func(context.Context, []connectors.Order) error { return boom })
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want the emit error", err)
			}
			if srv.Calls(op) != 1 {
				t.Errorf("asked for %d pages after emit failed, want 1", srv.Calls(op))
			}
		})
	}
}

func TestFetchOrder(t *testing.T) {
	for _, api := range ordersAPIs {
		t.Run(api, func(t *testing.T) { testFetchOrder(t, api) })
	}
}

func testFetchOrder(t *testing.T, api string) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, withOrdersAPI(api))
	upd := clk.Now().Add(-time.Minute).Truncate(time.Second)
	srv.AddOrder(amazontest.Order{AmazonOrderID: "903-8868176-2219830", Status: "Canceled", LastUpdate: upd, Items: []amazontest.Item{
		{OrderItemID: "OIID34853450", SellerSKU: "SellerSKUID1", Ordered: 10, Shipped: 0},
		{OrderItemID: "OIID2", SellerSKU: "SellerSKUID2", Ordered: 3, Shipped: 1},
	}})
	o, err := c.FetchOrder(context.Background(), "903-8868176-2219830")
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.Line{
		{LineID: "OIID34853450", SKU: "SellerSKUID1", Quantity: 10, Cancelled: 10},
		{LineID: "OIID2", SKU: "SellerSKUID2", Quantity: 3, Shipped: 1, Cancelled: 2},
	}
	if o.Status != connectors.StatusCancelled || !o.UpdatedAt.Equal(upd) || fmt.Sprint(o.Lines) != fmt.Sprint(want) || o.Channel != "amazon-us" {
		t.Errorf("got %+v", o)
	}
	if _, err := c.FetchOrder(context.Background(), "000-0000000-0000000"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("unknown order: %v, want ErrNotFound", err)
	}
	// v2026-01-01 reads an order in one call; v0 needs its items too.
	calls := map[string]int{"getOrder": 2, "getOrderItems": 1}
	if api == OrdersV2026 {
		calls = map[string]int{"getOrder_2026-01-01": 2}
	}
	for op, n := range calls {
		if got := srv.Calls(op); got != n {
			t.Errorf("%s calls %d, want %d", op, got, n)
		}
	}
}

// TestRateLimitHeaderAdapts: the limiter of an operation takes the rate
// Amazon says it applied.
func TestRateLimitHeaderAdapts(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) {
		o.RateLimits = fastRates()
		o.RateLimits["getOrder"] = 250
		o.RateLimits["getOrderItems"] = 2.5
	})
	c := newTestConnector(t, srv, clk, withOrdersAPI(OrdersV0), withLimits(1000, 100, true))
	srv.AddOrder(amazontest.Order{AmazonOrderID: "1", Status: "Shipped", LastUpdate: clk.Now(), Items: []amazontest.Item{{OrderItemID: "a", SellerSKU: "S", Ordered: 1, Shipped: 1}}})
	if _, err := c.FetchOrder(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]float64{opGetOrder: pacedRate(250), opGetOrderItems: pacedRate(2.5), opGetOrders: pacedRate(1000)} {
		if got := float64(c.limits.get(op).Limit()); got != want {
			t.Errorf("%s limit %v, want %v", op, got, want)
		}
	}
}

func TestParseRateLimitHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.0167", 0.0167, true}, {" 5.0 ", 5, true}, {"", 0, false}, {"fast", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"NaN", 0, false},
	} {
		got, ok := parseRateLimitHeader(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
