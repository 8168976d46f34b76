package amazon

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// TestPollOrdersPaging: 250 orders over three getOrders pages, one order's
// five items over three getOrderItems pages; orders changed in the last two
// minutes, FBA orders and orders before since stay out.
func TestPollOrdersPaging(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.ItemsPageSize = 2 })
	c := newTestConnector(t, srv, clk, nil)
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
	if n := srv.Calls("getOrderItems"); n != 250+3 {
		t.Errorf("getOrderItems calls %d, want 253", n)
	}
	if n := srv.Calls("getOrders"); n != 3 {
		t.Errorf("getOrders calls %d, want 3", n)
	}
}

func pageSizes(pages [][]connectors.Order) []int {
	var n []int
	for _, p := range pages {
		n = append(n, len(p))
	}
	return n
}

func TestPollOrdersNothingToAsk(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	since := clk.Now().Add(-time.Minute)
	through, err := c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error {
		t.Fatal("emit called")
		return nil
	})
	if err != nil || !through.Equal(since) || srv.Calls("getOrders") != 0 {
		t.Fatalf("through %s err %v calls %d", through, err, srv.Calls("getOrders"))
	}
}

func TestPollOrdersEmitError(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.OrdersPageSize = 1 })
	c := newTestConnector(t, srv, clk, nil)
	for i := range 3 {
		srv.AddOrder(amazontest.Order{AmazonOrderID: fmt.Sprint(i), Status: "Shipped", LastUpdate: clk.Now().Add(-time.Hour), Items: []amazontest.Item{{OrderItemID: "a", SellerSKU: "S", Ordered: 1, Shipped: 1}}})
	}
	boom := errors.New("intake full")
	_, err := c.PollOrders(context.Background(), clk.Now().Add(-2*time.Hour), func(context.Context, []connectors.Order) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the emit error", err)
	}
	if srv.Calls("getOrders") != 1 {
		t.Errorf("asked for %d pages after emit failed, want 1", srv.Calls("getOrders"))
	}
}

func TestFetchOrder(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
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
	c := newTestConnector(t, srv, clk, nil, withLimits(1000, 100, true))
	srv.AddOrder(amazontest.Order{AmazonOrderID: "1", Status: "Shipped", LastUpdate: clk.Now(), Items: []amazontest.Item{{OrderItemID: "a", SellerSKU: "S", Ordered: 1, Shipped: 1}}})
	if _, err := c.FetchOrder(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	for op, want := range map[string]float64{opGetOrder: 250, opGetOrderItems: 2.5, opGetOrders: 1000} {
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
