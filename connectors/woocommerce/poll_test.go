package woocommerce

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// clock is a settable clock shared by a fake and a connector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestPollOrdersWindow: only orders modified at or after since come back
// (the order of since's own second too), page by page, with the site's
// time zone kept out by dates_are_gmt; refunds are read; drafts are
// skipped; the cursor is the clock before the first page.
func TestPollOrdersWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)}
	// The site runs 3 hours ahead of GMT: a query in site time would widen
	// the window by 3 hours.
	s := newFake(t, woocommercetest.Options{Now: clk.now, SiteOffset: 3 * time.Hour})
	s.AddProduct(woocommercetest.Product{SKU: "A", ManageStock: true, Stock: 50})
	since := time.Date(2026, 4, 2, 8, 30, 0, 0, time.UTC)
	add := func(at time.Time, o woocommercetest.Order) int64 {
		clk.set(at)
		if len(o.Lines) == 0 {
			o.Lines = []woocommercetest.OrderLine{{SKU: "A", Quantity: 2}}
		}
		return s.AddOrder(o)
	}
	old := add(since.Add(-time.Hour), woocommercetest.Order{})
	onTheSecond := add(since.Add(500*time.Millisecond), woocommercetest.Order{})
	newer := []int64{
		add(since.Add(time.Minute), woocommercetest.Order{}),
		add(since.Add(2*time.Minute), woocommercetest.Order{Status: "completed"}),
		add(since.Add(3*time.Minute), woocommercetest.Order{Status: "pending"}),
	}
	refunded := add(since.Add(4*time.Minute), woocommercetest.Order{})
	clk.set(since.Add(5 * time.Minute))
	if _, err := s.Refund(refunded, true, map[int64]int64{mustLine(t, s, refunded): 1}); err != nil {
		t.Fatal(err)
	}
	draft := add(since.Add(6*time.Minute), woocommercetest.Order{Status: "checkout-draft"})
	trashed := add(since.Add(7*time.Minute), woocommercetest.Order{})
	clk.set(since.Add(8 * time.Minute))
	if err := s.Trash(trashed); err != nil {
		t.Fatal(err)
	}
	clk.set(since.Add(10*time.Minute + 700*time.Millisecond))

	f := newTestConnector(t, s, func(st *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now; st.PageSize = 2 })
	var got collect
	through, err := f.c.PollOrders(context.Background(), since, got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if want := since.Add(10 * time.Minute); !through.Equal(want) {
		t.Fatalf("through %s, want %s (the clock cut to the second)", through, want)
	}
	orders := got.orders()
	if _, ok := orders[idStr(old)]; ok {
		t.Error("an order older than since came back: the window is in site time, not GMT")
	}
	if _, ok := orders[idStr(draft)]; ok {
		t.Error("a checkout draft came back")
	}
	for _, id := range append([]int64{onTheSecond, refunded, trashed}, newer...) {
		if _, ok := orders[idStr(id)]; !ok {
			t.Errorf("order %d missing", id)
		}
	}
	if o := orders[idStr(refunded)]; o.Lines[0].Cancelled != 1 || o.Lines[0].Quantity != 2 {
		t.Errorf("refunded order %+v: its refund was not read", o)
	}
	if o := orders[idStr(trashed)]; o.Status != connectors.StatusCancelled || o.Lines[0].Cancelled != 2 {
		t.Errorf("trashed order %+v: the trash pass should read it as cancelled", o)
	}
	if o := orders[idStr(newer[1])]; o.Status != connectors.StatusShipped {
		t.Errorf("completed order %+v", o)
	}
	for _, p := range got.pages {
		if len(p) > 2 {
			t.Errorf("a page of %d orders, the page size is 2", len(p))
		}
	}
	if n := f.counter(t, "shelfsync_woocommerce_draft_orders_total", "source", "poll"); n != 1 {
		t.Errorf("drafts counted %v", n)
	}
	calls := s.Calls()
	if calls["GET /orders/{id}/refunds"] != 1 {
		t.Errorf("refund reads %d, want 1 (only the order that names refunds)", calls["GET /orders/{id}/refunds"])
	}
}

// TestPollOrdersAsOf: a quiet channel's cursor moves with the clock, never
// back before since.
func TestPollOrdersAsOf(t *testing.T) {
	clk := &clock{t: time.Date(2026, 4, 2, 8, 0, 0, 900_000_000, time.UTC)}
	s := newFake(t, woocommercetest.Options{Now: clk.now})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now })
	var got collect
	through, err := f.c.PollOrders(context.Background(), clk.now().Add(-time.Hour), got.emit)
	if err != nil || !through.Equal(time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)) || len(got.pages) != 0 {
		t.Fatalf("quiet poll: %s %v %d pages", through, err, len(got.pages))
	}
	future := clk.now().Add(time.Hour)
	through, err = f.c.PollOrders(context.Background(), future, got.emit)
	if err != nil || !through.Equal(future) {
		t.Fatalf("since ahead of the clock: %s %v", through, err)
	}
	// A first sync (zero since) asks for every order.
	s.AddOrder(woocommercetest.Order{Modified: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	if _, err := f.c.PollOrders(context.Background(), time.Time{}, got.emit); err != nil || len(got.orders()) != 1 {
		t.Fatalf("first sync: %v %d", err, len(got.orders()))
	}
}

// TestPollOrdersShift: an order trashed while the poll pages moves the
// next order onto a page already read; the fall of X-WP-Total makes the
// poll read that page again, so nothing is missed.
func TestPollOrdersShift(t *testing.T) {
	clk := &clock{t: time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)}
	s := newFake(t, woocommercetest.Options{Now: clk.now})
	var ids []int64
	for i := 0; i < 5; i++ {
		ids = append(ids, s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}}))
	}
	var once atomic.Bool
	s.OnListPage(func(route string, page int) {
		if route == "GET /orders" && page == 1 && once.CompareAndSwap(false, true) {
			// After page 1 (ids[0], ids[1]) was made: ids[0] leaves the
			// result, and ids[2] slides onto page 1.
			if err := s.Trash(ids[0]); err != nil {
				t.Error(err)
			}
		}
	})
	f := newTestConnector(t, s, func(st *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now; st.PageSize = 2 })
	var got collect
	if _, err := f.c.PollOrders(context.Background(), clk.now().Add(-time.Minute), got.emit); err != nil {
		t.Fatal(err)
	}
	orders := got.orders()
	for _, id := range ids {
		if _, ok := orders[idStr(id)]; !ok {
			t.Errorf("order %d missed", id)
		}
	}
	if o := orders[idStr(ids[0])]; o.Status != connectors.StatusCancelled {
		t.Errorf("the trashed order %+v", o)
	}
}

// TestPollOrdersErrors: a failed page ends the poll with since as the
// cursor; an order the ledger would refuse is skipped, counted and the
// rest handed on; an emit error ends the poll.
func TestPollOrdersErrors(t *testing.T) {
	clk := &clock{t: time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)}
	s := newFake(t, woocommercetest.Options{Now: clk.now})
	s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	bad := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A\x1f", Quantity: 1}}})
	s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "B", Quantity: 1}}})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now })
	since := clk.now().Add(-time.Minute)
	var got collect
	if _, err := f.c.PollOrders(context.Background(), since, got.emit); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.orders()[idStr(bad)]; ok || len(got.orders()) != 2 {
		t.Fatalf("orders %v", got.orders())
	}
	if n := f.counter(t, "shelfsync_woocommerce_refused_orders_total", "source", "poll", "reason", "identifier"); n != 1 {
		t.Fatalf("refused %v", n)
	}
	boom := errors.New("boom")
	through, err := f.c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { return boom })
	if !errors.Is(err, boom) || !through.Equal(since) {
		t.Fatalf("emit error: %s %v", through, err)
	}

	// A store that fails: the error, and since as the cursor.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	f2 := newTestConnector(t, s, func(st *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now; st.URL = down.URL })
	through, err = f2.c.PollOrders(context.Background(), since, got.emit)
	if err == nil || statusOf(err) != http.StatusBadGateway || !through.Equal(since) {
		t.Fatalf("store down: %s %v", through, err)
	}
}

// TestFetchOrder: one order by id, with its refunds; a trashed order is a
// cancellation; a deleted one, a draft or a bad id is ErrNotFound; an
// order the ledger would refuse is an error that is not ErrNotFound.
func TestFetchOrder(t *testing.T) {
	clk := &clock{t: time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)}
	s := newFake(t, woocommercetest.Options{Now: clk.now})
	s.AddProduct(woocommercetest.Product{SKU: "A", ManageStock: true, Stock: 9})
	completed := s.AddOrder(woocommercetest.Order{Status: "completed", Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 3}}})
	clk.set(clk.now().Add(time.Hour))
	if _, err := s.Refund(completed, true, map[int64]int64{mustLine(t, s, completed): 2}); err != nil {
		t.Fatal(err)
	}
	trashed := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	if err := s.Trash(trashed); err != nil {
		t.Fatal(err)
	}
	deleted := s.AddOrder(woocommercetest.Order{Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	s.DeleteOrder(deleted)
	draft := s.AddOrder(woocommercetest.Order{Status: "checkout-draft", Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	future := s.AddOrder(woocommercetest.Order{Modified: clk.now().Add(time.Hour), Lines: []woocommercetest.OrderLine{{SKU: "A", Quantity: 1}}})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = clk.now })
	ctx := context.Background()

	o, err := f.c.FetchOrder(ctx, idStr(completed))
	if err != nil {
		t.Fatal(err)
	}
	if l := o.Lines[0]; o.Status != connectors.StatusShipped || l.Shipped != 3 || l.Returned != 2 || !l.Restock {
		t.Fatalf("completed and refunded: %+v", o)
	}
	o, err = f.c.FetchOrder(ctx, idStr(trashed))
	if err != nil || o.Status != connectors.StatusCancelled || o.Lines[0].Cancelled != 1 {
		t.Fatalf("trashed: %+v %v", o, err)
	}
	for _, id := range []string{idStr(deleted), idStr(draft), "abc", "0", "-3", ""} {
		if _, err := f.c.FetchOrder(ctx, id); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("order %q: %v, want ErrNotFound", id, err)
		}
	}
	_, err = f.c.FetchOrder(ctx, idStr(future))
	if err == nil || errors.Is(err, connectors.ErrNotFound) || connectors.RefusalReason(err) != "version" {
		t.Fatalf("future version: %v", err)
	}
	if n := f.counter(t, "shelfsync_woocommerce_refused_orders_total", "source", "fetch", "reason", "version"); n != 1 {
		t.Fatalf("refused fetches %v", n)
	}
}

// TestAuthAndReady: a wrong key is a 401 the connector remembers for
// Ready, without I/O; an accepted call clears it.
func TestAuthAndReady(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(_ *Settings, c *Credentials, _ *connectors.Deps) {
		c.ConsumerSecret = secret("cs_wrong")
	})
	if err := f.c.Ready(); err != nil {
		t.Fatalf("ready before any call: %v", err)
	}
	_, err := f.c.FetchOrder(context.Background(), "1")
	if statusOf(err) != http.StatusUnauthorized || errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := f.c.Ready(); err == nil {
		t.Fatal("ready after a 401")
	}
	f.c.noteAuth(http.StatusOK)
	if err := f.c.Ready(); err != nil {
		t.Fatalf("ready after an accepted call: %v", err)
	}
}

// TestHostRateLimit: WooCommerce has no rate limit of its own, but a host
// may answer 429 with Retry-After; the framework's client waits and the
// call goes through.
func TestHostRateLimit(t *testing.T) {
	s := newFake(t, woocommercetest.Options{RateLimit: 2, Burst: 1})
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) {
		d.Channel.MaxRetries = 3
		d.HTTP = connectors.NewHTTPClient(connectors.HTTPOptions{Channel: "woo", Timeout: 5 * time.Second, MaxRetries: 3,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 2 * time.Second})
	})
	var got collect
	for i := 0; i < 3; i++ {
		if _, err := f.c.PollOrders(context.Background(), time.Now().Add(-time.Minute), got.emit); err != nil {
			t.Fatal(err)
		}
	}
}
