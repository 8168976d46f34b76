package ebay

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// pollReturns runs PollReturns and collects what it emits, by return id.
func pollReturns(t *testing.T, e *env, since time.Time) (map[string]connectors.Return, int, time.Time) {
	t.Helper()
	got := map[string]connectors.Return{}
	pages := 0
	through, err := e.conn.PollReturns(context.Background(), since, func(_ context.Context, rs []connectors.Return) error {
		pages++
		for _, r := range rs {
			if _, dup := got[r.ReturnID]; dup {
				t.Errorf("return %s emitted twice in one poll", r.ReturnID)
			}
			got[r.ReturnID] = r
		}
		return nil
	})
	if err != nil {
		t.Fatalf("PollReturns: %v", err)
	}
	return got, pages, through
}

func TestPollReturnsMapping(t *testing.T) {
	created := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	line := func(id, sku string, qty int64, received bool, reason string) []connectors.ReturnLine {
		return []connectors.ReturnLine{{LineID: id, SKU: sku, Quantity: qty, Received: received, Reason: reason}}
	}
	tests := []struct {
		name   string
		ret    ebaytest.Return
		states [][2]string // state, status moves after AddReturn
		want   *connectors.Return
		skip   string
	}{
		{name: "requested, line by transaction id",
			ret:  ebaytest.Return{ItemID: "110001", TransactionID: "L1", Quantity: 2, Reason: "NO_LONGER_NEED_ITEM", State: "RETURN_REQUESTED", Status: "RETURN_REQUESTED"},
			want: &connectors.Return{Status: "return_requested", Lines: line("L1", "SKU-1", 2, false, "no_longer_need_item")}},
		{name: "line by the order's only line of the listing",
			ret:  ebaytest.Return{ItemID: "110002", TransactionID: "T-other", Quantity: 1, Reason: "DEFECTIVE_ITEM", State: "ITEM_SHIPPED", Status: "ITEM_SHIPPED"},
			want: &connectors.Return{Status: "item_shipped", Lines: line("L2", "SKU-2", 1, false, "defective_item")}},
		{name: "delivered back: received",
			ret:  ebaytest.Return{ItemID: "110001", TransactionID: "L1", Quantity: 1, Reason: "WRONG_SIZE", State: "ITEM_DELIVERED", Status: "ITEM_DELIVERED"},
			want: &connectors.Return{Status: "item_delivered", Lines: line("L1", "SKU-1", 1, true, "wrong_size")}},
		{name: "closed after delivery: received (state history)",
			ret:    ebaytest.Return{ItemID: "110001", TransactionID: "L1", Quantity: 1, Reason: "WRONG_SIZE", State: "ITEM_SHIPPED"},
			states: [][2]string{{"ITEM_DELIVERED", "ITEM_DELIVERED"}, {"CLOSED", "CLOSED"}},
			want:   &connectors.Return{Status: "closed", Lines: line("L1", "SKU-1", 1, true, "wrong_size")}},
		{name: "closed without the item back: not received",
			ret:    ebaytest.Return{ItemID: "110001", TransactionID: "L1", Quantity: 1, Reason: "ARRIVED_DAMAGED", State: "RETURN_REQUESTED"},
			states: [][2]string{{"CLOSED", "CLOSED"}},
			want:   &connectors.Return{Status: "closed", Lines: line("L1", "SKU-1", 1, false, "arrived_damaged")}},
		{name: "order eBay does not know", ret: ebaytest.Return{OrderID: "O-404", ItemID: "110001", TransactionID: "L1", Quantity: 1, State: "CLOSED"},
			skip: skipUnknownOrder},
		{name: "item not of the order", ret: ebaytest.Return{ItemID: "999", TransactionID: "T9", Quantity: 1, State: "CLOSED"},
			skip: skipUnknownLine},
		{name: "no quantity", ret: ebaytest.Return{ItemID: "110001", TransactionID: "L1", Quantity: 0, State: "CLOSED"},
			skip: skipInvalid},
		{name: "return id with a control character", ret: ebaytest.Return{ReturnID: "5\x1f1", ItemID: "110001", TransactionID: "L1", Quantity: 1},
			skip: skipInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			shipOrder(e.fake, "O-1")
			r := tc.ret
			if r.ReturnID == "" {
				r.ReturnID = "5000000001"
			}
			if r.OrderID == "" {
				r.OrderID = "O-1"
			}
			r.CreationDate = created
			e.clock.Advance(created.Add(24 * time.Hour).Sub(e.clock.Now()))
			e.fake.AddReturn(r)
			for _, s := range tc.states {
				e.fake.SetReturnState(r.ReturnID, s[0], s[1])
			}
			got, _, _ := pollReturns(t, e, created.Add(-time.Hour))
			skipped := counter(t, e.conn.metrics.skippedReturns.WithLabelValues(tc.skip))
			if tc.skip != "" {
				if len(got) != 0 || skipped != 1 {
					t.Fatalf("emitted %v, skipped %v; want it skipped as %s", got, skipped, tc.skip)
				}
				// Counted once per state: the next poll neither emits nor counts it.
				pollReturns(t, e, created.Add(-time.Hour))
				if again := counter(t, e.conn.metrics.skippedReturns.WithLabelValues(tc.skip)); again != 1 {
					t.Fatalf("skipped count after a second poll = %v; want 1", again)
				}
				return
			}
			want := *tc.want
			want.OrderID, want.ReturnID, want.CreatedAt = "O-1", r.ReturnID, created
			if g, ok := got[r.ReturnID]; !ok || !reflect.DeepEqual(g, want) {
				t.Fatalf("return = %+v; want %+v", g, want)
			}
		})
	}
}

// TestPollReturnsPagingAndRepeats: every return of the window is read
// page by page and emitted once; a second poll emits none; a return
// that changes is emitted again, alone.
func TestPollReturnsPagingAndRepeats(t *testing.T) {
	tests := []struct {
		name      string
		returns   int
		wantPages int
		searches  int
	}{
		{name: "none", returns: 0, wantPages: 0, searches: 1},
		{name: "one page", returns: 7, wantPages: 1, searches: 1},
		{name: "a full page", returns: 200, wantPages: 1, searches: 1},
		{name: "three pages", returns: 450, wantPages: 3, searches: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			shipOrder(e.fake, "O-1")
			base := e.clock.Now().Add(-10 * 24 * time.Hour)
			for i := range tc.returns {
				e.fake.AddReturn(ebaytest.Return{ReturnID: fmt.Sprintf("R%04d", i), OrderID: "O-1", ItemID: "110001", TransactionID: "L1",
					Quantity: 1, Reason: "OTHER", State: "RETURN_REQUESTED", CreationDate: base.Add(time.Duration(i) * time.Minute)})
			}
			since := e.clock.Now().Add(-time.Hour)
			got, pages, through := pollReturns(t, e, since)
			if len(got) != tc.returns || pages != tc.wantPages || e.fake.Calls("search_returns") != tc.searches {
				t.Fatalf("emitted %d in %d pages with %d searches; want %d in %d with %d", len(got), pages, e.fake.Calls("search_returns"), tc.returns, tc.wantPages, tc.searches)
			}
			if !through.Equal(e.clock.Now().UTC()) {
				t.Fatalf("through = %s; want the poll's time %s", through, e.clock.Now())
			}
			if orders := e.fake.Calls("get_order"); tc.returns > 0 && orders != 1 {
				t.Fatalf("getOrder calls = %d; want 1 (one order, fetched once a poll)", orders)
			}
			again, _, _ := pollReturns(t, e, through)
			if len(again) != 0 {
				t.Fatalf("second poll emitted %d returns; want none (nothing changed)", len(again))
			}
			if tc.returns == 0 {
				return
			}
			e.fake.SetReturnState("R0000", "ITEM_DELIVERED", "ITEM_DELIVERED")
			changed, _, _ := pollReturns(t, e, through)
			if r, ok := changed["R0000"]; len(changed) != 1 || !ok || !r.Lines[0].Received || r.Status != "item_delivered" {
				t.Fatalf("after a change emitted %+v; want R0000 alone, received", changed)
			}
		})
	}
}

// TestPollReturnsWindow: the search reaches back the look-back window
// (returns change after creation), or further when since does, never
// beyond eBay's 18 months.
func TestPollReturnsWindow(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		created time.Duration // before now
		since   time.Duration // before now
		found   bool
	}{
		{name: "created before since, within the window", created: 30 * day, since: time.Hour, found: true},
		{name: "created before the window", created: 100 * day, since: time.Hour, found: false},
		{name: "since older than the window", created: 100 * day, since: 120 * day, found: true},
		{name: "zero since: as far as eBay reaches", created: 500 * day, since: 0, found: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			shipOrder(e.fake, "O-1")
			now := e.clock.Now()
			e.fake.AddReturn(ebaytest.Return{ReturnID: "R1", OrderID: "O-1", ItemID: "110001", TransactionID: "L1", Quantity: 1,
				State: "CLOSED", CreationDate: now.Add(-tc.created)})
			since := time.Time{}
			if tc.since != 0 {
				since = now.Add(-tc.since)
			}
			got, _, _ := pollReturns(t, e, since)
			if _, ok := got["R1"]; ok != tc.found {
				t.Fatalf("found = %v; want %v", ok, tc.found)
			}
		})
	}
}

// TestPollReturnsEmitError: nothing is remembered, the cursor stays.
func TestPollReturnsEmitError(t *testing.T) {
	e := newEnv(t, envConfig{})
	shipOrder(e.fake, "O-1")
	e.fake.AddReturn(ebaytest.Return{ReturnID: "R1", OrderID: "O-1", ItemID: "110001", TransactionID: "L1", Quantity: 1, State: "CLOSED",
		CreationDate: e.clock.Now().Add(-time.Hour)})
	since := e.clock.Now().Add(-2 * time.Hour)
	stop := errors.New("intake full")
	through, err := e.conn.PollReturns(context.Background(), since, func(context.Context, []connectors.Return) error { return stop })
	if !errors.Is(err, stop) || !through.Equal(since) {
		t.Fatalf("PollReturns = %s, %v; want since and the emit error", through, err)
	}
	if got, _, _ := pollReturns(t, e, since); len(got) != 1 {
		t.Fatalf("after a failed emit the next poll emitted %d; want the return again", len(got))
	}
}

// TestPollReturnsThrottledAndRevoked: the search takes the token refresh
// and the HTTP client's retries like every call.
func TestPollReturnsThrottledAndRevoked(t *testing.T) {
	e := newEnv(t, envConfig{})
	shipOrder(e.fake, "O-1")
	e.fake.AddReturn(ebaytest.Return{ReturnID: "R1", OrderID: "O-1", ItemID: "110001", TransactionID: "L1", Quantity: 1, State: "CLOSED",
		CreationDate: e.clock.Now().Add(-time.Hour)})
	if err := e.conn.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.fake.RevokeTokens()
	e.fake.Throttle(1, "0")
	if got, _, _ := pollReturns(t, e, e.clock.Now().Add(-2*time.Hour)); len(got) != 1 {
		t.Fatalf("emitted %d; want 1", len(got))
	}
	if e.fake.Refreshes() != 2 {
		t.Fatalf("refreshes = %d; want 2 (the revoked token replaced)", e.fake.Refreshes())
	}
}
