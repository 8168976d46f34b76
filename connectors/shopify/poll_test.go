package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func TestPollOrdersPages(t *testing.T) {
	s := newFake(t, shopifytest.Options{MaxPageSize: 2})
	c := newTestConnector(t, s, nil)
	base := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	clock := base.Add(time.Hour + 1500*time.Millisecond)
	c.deps.Now = func() time.Time { return clock }
	s.AddOrder(shopifytest.Order{ID: 1, UpdatedAt: base.Add(-time.Hour), Lines: []shopifytest.OrderLine{{SKU: "OLD", Quantity: 1}}})
	for i := int64(2); i <= 8; i++ {
		var lines []shopifytest.OrderLine
		for j := int64(0); j < i; j++ { // up to 8 lines: pages of 2 lines
			lines = append(lines, shopifytest.OrderLine{ID: i*100 + j, SKU: fmt.Sprintf("SKU-%d", j), Quantity: 1})
		}
		s.AddOrder(shopifytest.Order{ID: i, UpdatedAt: base.Add(time.Duration(i) * time.Minute), Lines: lines})
	}
	var pages [][]string
	through, err := c.PollOrders(context.Background(), base, func(_ context.Context, orders []connectors.Order) error {
		var ids []string
		for _, o := range orders {
			n := 0
			fmt.Sscan(o.OrderID, &n)
			if len(o.Lines) != n {
				t.Errorf("order %s has %d lines, want %d (nested line paging)", o.OrderID, len(o.Lines), n)
			}
			ids = append(ids, o.OrderID)
		}
		pages = append(pages, ids)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pages); got != "[[2 3] [4 5] [6 7] [8]]" {
		t.Errorf("pages = %s, want pages of 2 from order 2 (order 1 is older than since)", got)
	}
	if want := base.Add(time.Hour + time.Second); !through.Equal(want) {
		t.Errorf("through = %v, want %v: the clock before the first page, in whole seconds", through, want)
	}
	if n := s.Calls()["ShelfsyncOrderLines"]; n == 0 {
		t.Error("no nested line page was fetched")
	}
}

func TestPollOrdersEmptyAndEmitError(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	since := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	c.deps.Now = func() time.Time { return since.Add(10 * time.Minute) }
	through, err := c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error {
		t.Error("emit called without orders")
		return nil
	})
	if err != nil || !through.Equal(since.Add(10*time.Minute)) {
		t.Fatalf("PollOrders = %v, %v; want the clock and no error", through, err)
	}
	s.AddOrder(shopifytest.Order{UpdatedAt: since.Add(time.Minute), Lines: []shopifytest.OrderLine{{SKU: "A", Quantity: 1}}})
	boom := errors.New("intake down")
	_, err = c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("PollOrders error = %v, want the emit error wrapped", err)
	}
}

// TestPollOrdersThrough: through is the channel's "as of" time (the
// clock before the first request, whole seconds, never before since)
// when every page was read; the newest updated_at seen otherwise.
func TestPollOrdersThrough(t *testing.T) {
	since := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	boom := errors.New("intake down")
	tests := []struct {
		name       string
		sinceFrac  time.Duration // added to since
		clock      time.Time
		orders     []time.Duration // updated_at, after since
		maxOrders  int             // the pagination limit (0: Shopify's)
		emitErr    error
		want       time.Time
		wantErrors bool
	}{
		{name: "quiet channel: the clock, not since", clock: since.Add(10*time.Minute + 700*time.Millisecond), want: since.Add(10 * time.Minute)},
		{name: "orders older than the clock", clock: since.Add(time.Hour), orders: []time.Duration{time.Minute, 2 * time.Minute}, want: since.Add(time.Hour)},
		{name: "an order stamped after the clock reading (clock skew): the clock; the overlap reads it again",
			clock: since.Add(time.Minute), orders: []time.Duration{90 * time.Second}, want: since.Add(time.Minute)},
		{name: "clock behind since: since", clock: since.Add(-time.Hour), want: since},
		{name: "since with a fraction, clock in the same second: since", sinceFrac: 200 * time.Millisecond, clock: since.Add(900 * time.Millisecond), want: since.Add(200 * time.Millisecond)},
		{name: "emit fails: the newest seen", clock: since.Add(time.Hour), orders: []time.Duration{time.Minute, 2 * time.Minute}, emitErr: boom, want: since.Add(2 * time.Minute), wantErrors: true},
		{name: "pagination limit: the newest read", clock: since.Add(time.Hour), maxOrders: 5,
			orders: []time.Duration{1 * time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute, 7 * time.Minute},
			want:   since.Add(3 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t, shopifytest.Options{})
			c := newTestConnector(t, s, nil)
			c.deps.Now = func() time.Time { return tt.clock }
			if tt.maxOrders > 0 {
				c.maxPaginated = tt.maxOrders
			}
			for _, d := range tt.orders {
				s.AddOrder(shopifytest.Order{UpdatedAt: since.Add(d), Lines: []shopifytest.OrderLine{{SKU: "A", Quantity: 1}}})
			}
			through, err := c.PollOrders(context.Background(), since.Add(tt.sinceFrac), func(context.Context, []connectors.Order) error { return tt.emitErr })
			if (err != nil) != tt.wantErrors {
				t.Fatalf("PollOrders error = %v", err)
			}
			if !through.Equal(tt.want) {
				t.Errorf("through = %v, want %v", through, tt.want)
			}
		})
	}
}

// TestPollQuietChannelWindow: the engine stores through as its cursor and
// polls next from cursor - overlap. On a quiet channel the window must
// stay overlap + the poll interval, not grow by an interval every poll
// (through = since did that).
func TestPollQuietChannelWindow(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	const overlap, every = 2 * time.Minute, 10 * time.Minute
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	c.deps.Now = func() time.Time { return now }
	cursor := now.Add(-time.Hour) // the first sync's lookback
	for poll := 0; poll < 6; poll++ {
		since := cursor.Add(-overlap)
		through, err := c.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		cursor = through
		if poll > 0 {
			if window := now.Sub(since); window > overlap+every {
				t.Fatalf("poll %d asked from %v at %v: a window of %v, more than overlap + interval", poll, since, now, window)
			}
		}
		now = now.Add(every)
	}
}

func TestFetchOrder(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	cancelled := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	id := s.AddOrder(shopifytest.Order{Name: "#1001", CancelledAt: &cancelled, FinancialStatus: "VOIDED",
		Lines: []shopifytest.OrderLine{{ID: 5, SKU: "A", Quantity: 2}}})
	for _, ref := range []string{fmt.Sprint(id), fmt.Sprintf("gid://shopify/Order/%d", id)} {
		o, err := c.FetchOrder(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if o.OrderID != fmt.Sprint(id) || o.Status != connectors.StatusCancelled || o.Lines[0].Cancelled != 2 || o.Name != "#1001" {
			t.Errorf("FetchOrder(%s) = %+v", ref, o)
		}
	}
	for _, ref := range []string{"999999", "not-an-id"} {
		if _, err := c.FetchOrder(context.Background(), ref); !errors.Is(err, connectors.ErrNotFound) {
			t.Errorf("FetchOrder(%s) error = %v, want ErrNotFound", ref, err)
		}
	}
}

// TestOrderShipTo: an order read over GraphQL (fetch and poll) names its
// destination from shippingAddress (countryCodeV2, provinceCode), as a
// webhook's REST body does from shipping_address; none without one.
func TestOrderShipTo(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	ctx := context.Background()
	shipped := s.AddOrder(shopifytest.Order{Name: "#1", ShipTo: &shopifytest.Address{CountryCode: "ca", ProvinceCode: "qc"},
		Lines: []shopifytest.OrderLine{{ID: 1, SKU: "A", Quantity: 1}}})
	pickup := s.AddOrder(shopifytest.Order{Name: "#2", Lines: []shopifytest.OrderLine{{ID: 2, SKU: "A", Quantity: 1}}})
	want := map[string]*connectors.Address{fmt.Sprint(shipped): {Country: "CA", Region: "QC"}, fmt.Sprint(pickup): nil}
	check := func(how string, o *connectors.Order) {
		w := want[o.OrderID]
		if (w == nil) != (o.ShipTo == nil) || (w != nil && *w != *o.ShipTo) {
			t.Errorf("%s %s: ship to %+v, want %+v", how, o.OrderID, o.ShipTo, w)
		}
	}
	for id := range want {
		o, err := c.FetchOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check("fetched", o)
	}
	var polled int
	if _, err := c.PollOrders(ctx, time.Now().Add(-time.Hour), func(_ context.Context, os []connectors.Order) error {
		for i := range os {
			check("polled", &os[i])
			polled++
		}
		return nil
	}); err != nil || polled != 2 {
		t.Fatalf("poll: %d orders, %v", polled, err)
	}
	body, err := s.WebhookBody(shipped)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Normalize("shop", body)
	if err != nil || len(ev) != 1 {
		t.Fatalf("webhook body: %d events, %v", len(ev), err)
	}
	check("webhook", ev[0].Order)
}

func TestAccessTokenRefused(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	const wrong = "shpat_wrong_but_secret"
	c := newTestConnector(t, s, func(ch *config.Channel) { ch.Credentials.AccessToken = config.NewSecret(wrong) })
	_, err := c.FetchOrder(context.Background(), "1")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("FetchOrder with a wrong token = %v, want a 401 error", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), s.Options().AccessToken) {
		t.Errorf("error %q holds a token", err)
	}
}

// TestOrderShipToRefused: an order's shippingAddress is level 2
// protected customer data, which a public app not approved for it gets as
// "errors or redacted data". Polls and fetches still read the orders,
// whichever comes first: on an ACCESS_DENIED error on the field the read
// is made again without it (then never asked for again, counted once); a
// redacted (null) address is no destination, no error.
func TestOrderShipToRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		access  shopifytest.ShipToAccess
		refused float64 // shelfsync_shopify_ship_to_refused_total after
	}{{"denied", shopifytest.ShipToDenied, 1}, {"redacted", shopifytest.ShipToRedacted, 0}} {
		for _, pollFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/poll_first=%v", tc.name, pollFirst), func(t *testing.T) {
				s := newFake(t, shopifytest.Options{ShipTo: tc.access})
				c := newTestConnector(t, s, nil) // read_ship_to left at its default
				ctx := context.Background()
				id := s.AddOrder(shopifytest.Order{Name: "#1", ShipTo: &shopifytest.Address{CountryCode: "CA", ProvinceCode: "QC"},
					Lines: []shopifytest.OrderLine{{ID: 1, SKU: "A", Quantity: 1}}})
				fetch := func() {
					o, err := c.FetchOrder(ctx, fmt.Sprint(id))
					if err != nil || o.ShipTo != nil || len(o.Lines) != 1 {
						t.Fatalf("fetch: %+v, %v; want the order without a destination", o, err)
					}
				}
				poll := func() {
					var got []connectors.Order
					if _, err := c.PollOrders(ctx, time.Now().Add(-time.Hour), func(_ context.Context, os []connectors.Order) error {
						got = append(got, os...)
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
				if n := testutil.ToFloat64(c.metrics.shipToRefused); n != tc.refused {
					t.Errorf("shelfsync_shopify_ship_to_refused_total %v, want %v", n, tc.refused)
				}
			})
		}
	}
}

// TestOrderShipToOff: shopify.read_ship_to: false leaves the address out
// of the queries (the fake serves it only when asked).
func TestOrderShipToOff(t *testing.T) {
	s := newFake(t, shopifytest.Options{ShipTo: shopifytest.ShipToDenied})
	off := false
	c := newTestConnector(t, s, func(ch *config.Channel) { ch.Settings.(*Settings).ReadShipTo = &off })
	id := s.AddOrder(shopifytest.Order{Name: "#1", ShipTo: &shopifytest.Address{CountryCode: "CA", ProvinceCode: "QC"},
		Lines: []shopifytest.OrderLine{{ID: 1, SKU: "A", Quantity: 1}}})
	if o, err := c.FetchOrder(context.Background(), fmt.Sprint(id)); err != nil || o.ShipTo != nil {
		t.Fatalf("fetch: %+v, %v", o, err)
	}
	if got := s.Calls()["ShelfsyncOrder"]; got != 1 {
		t.Errorf("%d ShelfsyncOrder calls, want 1 (the address never asked for)", got)
	}
}
