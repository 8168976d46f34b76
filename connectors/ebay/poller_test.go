package ebay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

func TestFilterEncoding(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600))
	q := url.Values{"filter": {modifiedSince(since)}}.Encode()
	// UTC, milliseconds, Z; brackets percent-encoded.
	if want := "filter=lastmodifieddate%3A%5B2025-12-31T23%3A00%3A00.000Z..%5D"; q != want {
		t.Fatalf("query = %s; want %s", q, want)
	}
}

func addOrders(f *ebaytest.Server, n int, modified time.Time) {
	for i := range n {
		f.AddOrder(ebaytest.Order{
			OrderID:          fmt.Sprintf("%02d-%05d-%05d", i%100, i, i),
			CreationDate:     modified.Add(-time.Duration(i) * time.Minute),
			LastModifiedDate: modified.Add(time.Duration(i) * time.Second),
			LineItems:        []ebaytest.LineItem{{LineItemID: fmt.Sprintf("L%d", i), SKU: "SKU-1", Quantity: 1}},
		})
	}
}

func TestPollOrdersPaging(t *testing.T) {
	tests := []struct {
		name      string
		orders    int
		wantPages int
	}{
		{name: "none", orders: 0, wantPages: 0},
		{name: "one page", orders: 7, wantPages: 1},
		{name: "exactly one full page", orders: 200, wantPages: 1},
		{name: "three pages", orders: 450, wantPages: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			modified := e.clock.Now().Add(-24 * time.Hour).Truncate(time.Millisecond)
			addOrders(e.fake, tc.orders, modified)
			// An order from before since stays out.
			e.fake.AddOrder(ebaytest.Order{OrderID: "99-old", LastModifiedDate: modified.Add(-time.Hour),
				LineItems: []ebaytest.LineItem{{LineItemID: "x", SKU: "S", Quantity: 1}}})
			seen := map[string]bool{}
			pages := 0
			through, err := e.conn.PollOrders(context.Background(), modified, func(_ context.Context, orders []connectors.Order) error {
				pages++
				for _, o := range orders {
					if seen[o.OrderID] {
						t.Errorf("order %s emitted twice", o.OrderID)
					}
					seen[o.OrderID] = true
					if err := o.Validate(); err != nil {
						t.Error(err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != tc.orders || pages != tc.wantPages || seen["99-old"] {
				t.Fatalf("emitted %d orders in %d pages (old one: %v); want %d in %d", len(seen), pages, seen["99-old"], tc.orders, tc.wantPages)
			}
			// through is the time of the first request, whatever was found.
			if want := e.clock.Now(); !through.Equal(want) {
				t.Fatalf("through = %s; want %s (the poll's as-of time)", through, want)
			}
			if calls := e.fake.Calls("get_orders"); calls != max(tc.wantPages, 1) {
				t.Fatalf("getOrders calls = %d; want %d", calls, max(tc.wantPages, 1))
			}
		})
	}
}

// TestPollOrdersClampsToNinetyDays: eBay refuses a filter older than 90
// days; the first sync (zero since) asks for what eBay can give.
func TestPollOrdersClampsToNinetyDays(t *testing.T) {
	e := newEnv(t, envConfig{})
	addOrders(e.fake, 3, e.clock.Now().Add(-30*24*time.Hour))
	n := 0
	through, err := e.conn.PollOrders(context.Background(), time.Time{}, func(_ context.Context, o []connectors.Order) error { n += len(o); return nil })
	if err != nil || n != 3 {
		t.Fatalf("PollOrders from zero = %d orders, %v; want 3", n, err)
	}
	if through.Before(e.clock.Now().Add(-31 * 24 * time.Hour)) {
		t.Fatalf("through = %s; want the newest order's time", through)
	}
}

func TestPollOrdersEmitError(t *testing.T) {
	e := newEnv(t, envConfig{})
	since := e.clock.Now().Add(-time.Hour)
	addOrders(e.fake, 250, since)
	stop := errors.New("intake full")
	pages := 0
	through, err := e.conn.PollOrders(context.Background(), since, func(context.Context, []connectors.Order) error { pages++; return stop })
	if !errors.Is(err, stop) || pages != 1 {
		t.Fatalf("PollOrders = %v after %d pages; want the emit error after 1", err, pages)
	}
	// On an error through stays what it was: nothing was taken in, so since.
	if want := since.UTC().Truncate(time.Millisecond); !through.Equal(want) {
		t.Fatalf("through after a failed emit = %s; want since %s", through, want)
	}
}

// TestPollOrdersWindowNeverMovesBack polls a channel the way the engine
// does (the cursor is the last through; the next since is the cursor less
// the overlap) and checks that the window never reaches further back than
// the one before, on a quiet channel whose clock stands still or moves,
// and that every change between two polls is read by the next one.
func TestPollOrdersWindowNeverMovesBack(t *testing.T) {
	const overlap = 5 * time.Minute
	tests := []struct {
		name    string
		step    time.Duration // the clock's advance between polls
		changes bool          // an order changes between polls
	}{
		{name: "quiet, clock standing still", step: 0},
		{name: "quiet, clock moving", step: 15 * time.Minute},
		{name: "an order changing between polls", step: 15 * time.Minute, changes: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			// An order changed long before the first poll's window.
			e.fake.AddOrder(ebaytest.Order{OrderID: "00-old", LastModifiedDate: e.clock.Now().Add(-3 * time.Hour),
				LineItems: []ebaytest.LineItem{{LineItemID: "x", SKU: "S", Quantity: 1}}})
			seen := map[string]int{}
			emit := func(_ context.Context, orders []connectors.Order) error {
				for _, o := range orders {
					seen[o.OrderID]++
				}
				return nil
			}
			since := e.clock.Now().Add(-time.Hour) // the first sync's look-back
			var cursor time.Time
			for poll := range 8 {
				if poll > 0 {
					next := cursor.Add(-overlap)
					if next.Before(since) {
						t.Fatalf("poll %d: window starts at %s, before the previous poll's %s", poll, next, since)
					}
					if reach := e.clock.Now().Sub(next); reach > overlap+tc.step {
						t.Fatalf("poll %d: window reaches back %s; want at most the overlap and one step (%s)", poll, reach, overlap+tc.step)
					}
					since = next
				}
				through, err := e.conn.PollOrders(context.Background(), since, emit)
				if err != nil {
					t.Fatalf("poll %d: %v", poll, err)
				}
				// eBay's filter has milliseconds: since is taken to them.
				if through.Before(since.Truncate(time.Millisecond)) || through.After(e.clock.Now()) {
					t.Fatalf("poll %d: through %s outside [since %s, now %s]", poll, through, since, e.clock.Now())
				}
				cursor = through
				if tc.changes {
					e.clock.Advance(time.Minute)
					e.fake.AddOrder(ebaytest.Order{OrderID: fmt.Sprintf("01-%05d-00000", poll),
						LineItems: []ebaytest.LineItem{{LineItemID: "L", SKU: "S", Quantity: 1}}})
					e.clock.Advance(tc.step - time.Minute)
				} else {
					e.clock.Advance(tc.step)
				}
			}
			if seen["00-old"] != 0 {
				t.Fatalf("an order changed before the first window was emitted %d times", seen["00-old"])
			}
			if tc.changes {
				// Every change but the last (made after the last poll) is
				// read once: by the next poll, and not again.
				for poll := range 7 {
					if id := fmt.Sprintf("01-%05d-00000", poll); seen[id] != 1 {
						t.Errorf("order %s emitted %d times; want once", id, seen[id])
					}
				}
			} else if len(seen) != 0 {
				t.Fatalf("a quiet channel emitted %v", seen)
			}
		})
	}
}

func TestPollOrdersThrottled(t *testing.T) {
	tests := []struct {
		name       string
		throttle   int
		retryAfter string
		wantErr    bool
		minElapsed time.Duration
	}{
		{name: "429 with Retry-After", throttle: 1, retryAfter: "1", minElapsed: time.Second},
		{name: "429 without Retry-After", throttle: 2},
		{name: "429 beyond the retries", throttle: 100, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			since := e.clock.Now().Add(-time.Hour)
			addOrders(e.fake, 3, since)
			e.fake.Throttle(tc.throttle, tc.retryAfter)
			start := time.Now()
			n := 0
			_, err := e.conn.PollOrders(context.Background(), since, func(_ context.Context, o []connectors.Order) error { n += len(o); return nil })
			elapsed := time.Since(start)
			if tc.wantErr {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 429 || !strings.Contains(err.Error(), "2001") {
					t.Fatalf("PollOrders = %v; want the 429 with eBay's error", err)
				}
				// One try and MaxRetries (3) retries.
				if calls := e.fake.Calls("get_orders"); calls != 4 {
					t.Fatalf("getOrders calls = %d; want 4", calls)
				}
				return
			}
			if err != nil || n != 3 {
				t.Fatalf("PollOrders = %d orders, %v; want 3", n, err)
			}
			if calls := e.fake.Calls("get_orders"); calls != tc.throttle+1 {
				t.Fatalf("getOrders calls = %d; want %d", calls, tc.throttle+1)
			}
			// A lower bound only: waiting at least Retry-After can not flake.
			if elapsed < tc.minElapsed {
				t.Fatalf("took %s; Retry-After asked for %s", elapsed, tc.minElapsed)
			}
		})
	}
}

func TestFetchOrder(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddOrder(ebaytest.Order{
		OrderID: "12-34567-89012", LegacyOrderID: "110-220", OrderFulfillmentStatus: "IN_PROGRESS",
		LineItems: []ebaytest.LineItem{
			{LineItemID: "1", SKU: "A", Quantity: 2, LineItemFulfillmentStatus: "FULFILLED"},
			{LineItemID: "2", SKU: "B", Quantity: 1, LineItemFulfillmentStatus: "IN_PROGRESS"},
			{LineItemID: "3", Quantity: 1},
		},
	})
	o, err := e.conn.FetchOrder(context.Background(), "12-34567-89012")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != connectors.StatusPartiallyShipped || o.Name != "110-220" || len(o.Lines) != 3 ||
		o.Lines[0].Shipped != 2 || o.Lines[1].Shipped != 0 || !o.Lines[2].NoSKU {
		t.Fatalf("order = %+v", o)
	}
	if got := counter(t, e.conn.metrics.noSKULines); got != 1 {
		t.Fatalf("no-SKU lines counted %v; want 1", got)
	}
	if _, err := e.conn.FetchOrder(context.Background(), "00-00000-00000"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("unknown order: %v; want ErrNotFound", err)
	}
}
