package shopify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func i64(n int64) *int64 { return &n }

// TestToCanonical covers the mapping rules documented on toCanonical.
func TestToCanonical(t *testing.T) {
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	success := func(line string, q int64) fulfillmentSource {
		return fulfillmentSource{Status: "success", Lines: []lineQty{{LineID: line, Quantity: q}}}
	}
	refund := func(line string, q int64, typ string) refundSource {
		return refundSource{ID: "r" + line + typ, OrderID: "1", Lines: []refundLineSource{{LineID: line, Quantity: q, RestockType: typ}}}
	}
	tests := []struct {
		name       string
		src        orderSource
		wantStatus connectors.OrderStatus
		want       connectors.Line
	}{
		{
			name:       "new paid order",
			src:        orderSource{FinancialStatus: "paid", HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2}}},
			wantStatus: connectors.StatusOpen,
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 2},
		},
		{
			name:       "payment pending holds stock as pending",
			src:        orderSource{FinancialStatus: "pending", HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2}}},
			wantStatus: connectors.StatusPending,
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 2},
		},
		{
			name: "partly shipped, an open fulfillment has not shipped",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3}},
				Fulfillments: []fulfillmentSource{success("10", 1), {Status: "open", Lines: []lineQty{{LineID: "10", Quantity: 2}}}}},
			wantStatus: connectors.StatusPartiallyShipped,
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 1},
		},
		{
			name:       "fully shipped",
			src:        orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3}}, Fulfillments: []fulfillmentSource{success("10", 3)}},
			wantStatus: connectors.StatusShipped,
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 3},
		},
		{
			name: "edit removed a unit (current_quantity): cancelled, quantity kept",
			src:  orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, CurrentQuantity: i64(2)}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 1}, wantStatus: connectors.StatusOpen,
		},
		{
			name: "cancel refund before shipping, without current_quantity",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3}},
				Refunds: []refundSource{refund("10", 1, "cancel")}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 1}, wantStatus: connectors.StatusOpen,
		},
		{
			name: "cancel refund before shipping, with current_quantity",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, CurrentQuantity: i64(2)}},
				Refunds: []refundSource{refund("10", 1, "cancel")}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 1}, wantStatus: connectors.StatusOpen,
		},
		{
			name: "shipped one, removed one, one open",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, CurrentQuantity: i64(2)}},
				Fulfillments: []fulfillmentSource{success("10", 1)}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 1, Cancelled: 1}, wantStatus: connectors.StatusPartiallyShipped,
		},
		{
			name: "every unit removed: nothing left to ship",
			src:  orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2, CurrentQuantity: i64(0)}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 2}, wantStatus: connectors.StatusShipped,
		},
		{
			name: "cancelled after an edit: the removed and the open units",
			src:  orderSource{Cancelled: true, HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, CurrentQuantity: i64(2)}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 3}, wantStatus: connectors.StatusCancelled,
		},
		{
			name: "returned and restocked after shipping",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2, CurrentQuantity: i64(1)}},
				Fulfillments: []fulfillmentSource{success("10", 2)}, Refunds: []refundSource{refund("10", 1, "return")}},
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2, Returned: 1, Restock: true},
			wantStatus: connectors.StatusShipped,
		},
		{
			name: "refunded without restock after shipping: written off",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2, CurrentQuantity: i64(1)}},
				Fulfillments: []fulfillmentSource{success("10", 2)}, Refunds: []refundSource{refund("10", 1, "no_restock")}},
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2, Returned: 1},
			wantStatus: connectors.StatusShipped,
		},
		{
			name: "no_restock refund before shipping leaves the order, nothing returned",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2}},
				Refunds: []refundSource{refund("10", 1, "no_restock")}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 1}, wantStatus: connectors.StatusOpen,
		},
		{
			name: "legacy restock flag on the refund",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 1}},
				Fulfillments: []fulfillmentSource{success("10", 1)},
				Refunds:      []refundSource{{ID: "r", Restock: true, Lines: []refundLineSource{{LineID: "10", Quantity: 1}}}}},
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 1, Shipped: 1, Returned: 1, Restock: true},
			wantStatus: connectors.StatusShipped,
		},
		{
			name: "cancelled after a partial shipment",
			src: orderSource{Cancelled: true, HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3}},
				Fulfillments: []fulfillmentSource{success("10", 1)}},
			want:       connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 1, Cancelled: 2},
			wantStatus: connectors.StatusCancelled,
		},
		{
			name: "fulfillment list absent: line status fulfilled",
			src:  orderSource{Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 2, FulfillmentStatus: "fulfilled"}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2}, wantStatus: connectors.StatusShipped,
		},
		{
			name: "fulfillment list absent: partial with fulfillable_quantity",
			src:  orderSource{Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, FulfillmentStatus: "partial", FulfillableQuantity: i64(1)}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 2}, wantStatus: connectors.StatusPartiallyShipped,
		},
		{
			name: "more fulfilled than ordered is capped",
			src:  orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 1}}, Fulfillments: []fulfillmentSource{success("10", 5)}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1, Shipped: 1}, wantStatus: connectors.StatusShipped,
		},
		{
			name: "custom item without SKU",
			src:  orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: " ", Quantity: 1}}},
			want: connectors.Line{LineID: "10", Quantity: 1, NoSKU: true}, wantStatus: connectors.StatusOpen,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.ID, tt.src.UpdatedAt, tt.src.LocationID = "1", at, "77"
			o, err := tt.src.toCanonical("shop", map[string]string{"77": "warehouse"})
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", o.Status, tt.wantStatus)
			}
			if o.Location != "warehouse" || o.Channel != "shop" || !o.UpdatedAt.Equal(at) {
				t.Errorf("order = %+v", o)
			}
			if len(o.Lines) != 1 || o.Lines[0] != tt.want {
				t.Errorf("lines = %+v, want %+v", o.Lines, tt.want)
			}
		})
	}
}

func TestNumericID(t *testing.T) {
	tests := map[string]string{
		"450789469":                     "450789469",
		"gid://shopify/Order/450789469": "450789469",
		"gid://shopify/InventoryLevel/1?inventory_item_id=2": "1",
		"":                     "",
		"abc":                  "",
		"http://x/1":           "",
		"gid://shopify/Order/": "",
		"-5":                   "",
	}
	for in, want := range tests {
		if got := numericID(in); got != want {
			t.Errorf("numericID(%q) = %q, want %q", in, got, want)
		}
	}
}

// furtherAlong says why next is not further along than prev, the rule
// the ledger applies to two states of one order with the same updated_at
// (Shopify's has whole seconds): on every line Quantity (ordered),
// Shipped, Cancelled and Returned are at least the recorded ones, and at
// least one of them is greater somewhere. "" if it is further along.
func furtherAlong(prev, next *connectors.Order) string {
	before := map[string]connectors.Line{}
	for _, l := range prev.Lines {
		before[l.LineID] = l
	}
	greater := false
	for _, n := range next.Lines {
		p, ok := before[n.LineID]
		if !ok {
			greater = true // a new line
			continue
		}
		pairs := []struct {
			field      string
			prev, next int64
		}{{"quantity", p.Quantity, n.Quantity}, {"shipped", p.Shipped, n.Shipped}, {"cancelled", p.Cancelled, n.Cancelled}, {"returned", p.Returned, n.Returned}}
		for _, f := range pairs {
			switch {
			case f.next < f.prev:
				return fmt.Sprintf("line %s: %s went back from %d to %d", n.LineID, f.field, f.prev, f.next)
			case f.next > f.prev:
				greater = true
			}
		}
	}
	if !greater {
		return "nothing went up: the state is taken for a duplicate"
	}
	return ""
}

// TestSameSecondStatesProgress: every change an order goes through
// within one second (a cancel, an edit removing units, a refund before
// shipping) maps to a state further along than the one before, so the
// ledger applies it at the same updated_at instead of dropping it as a
// duplicate (a unit would stay reserved forever). A removal is never a
// lower Quantity.
func TestSameSecondStatesProgress(t *testing.T) {
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	line := func(q int64, cur *int64) []lineSource {
		return []lineSource{{ID: "10", SKU: "A", Quantity: q, CurrentQuantity: cur}}
	}
	success := func(q int64) []fulfillmentSource {
		return []fulfillmentSource{{Status: "success", Lines: []lineQty{{LineID: "10", Quantity: q}}}}
	}
	refunds := func(typ string, qs ...int64) []refundSource {
		var out []refundSource
		for i, q := range qs {
			out = append(out, refundSource{ID: fmt.Sprint("r", i), OrderID: "1", Lines: []refundLineSource{{LineID: "10", Quantity: q, RestockType: typ}}})
		}
		return out
	}
	tests := []struct {
		name   string
		states []orderSource
		// final is the last state's line (Open() follows from it).
		final connectors.Line
	}{
		{
			name: "order, then its cancel",
			states: []orderSource{
				{Lines: line(3, i64(3))},
				{Cancelled: true, Lines: line(3, i64(3))},
			},
			final: connectors.Line{Quantity: 3, Cancelled: 3},
		},
		{
			name: "order, an edit 3 -> 2, then the cancel",
			states: []orderSource{
				{Lines: line(3, i64(3))},
				{Lines: line(3, i64(2))},
				{Cancelled: true, Lines: line(3, i64(2))},
			},
			final: connectors.Line{Quantity: 3, Cancelled: 3},
		},
		{
			name: "order, a cancel refund of one unit, then the cancel with the rest refunded (REST, no current_quantity)",
			states: []orderSource{
				{Lines: line(3, nil)},
				{Lines: line(3, nil), Refunds: refunds("cancel", 1)},
				{Cancelled: true, Lines: line(3, nil), Refunds: refunds("cancel", 1, 2)},
			},
			final: connectors.Line{Quantity: 3, Cancelled: 3},
		},
		{
			name: "order, a cancel refund, then the whole line removed (GraphQL currentQuantity)",
			states: []orderSource{
				{Lines: line(3, i64(3))},
				{Lines: line(3, i64(2)), Refunds: refunds("cancel", 1)},
				{Lines: line(3, i64(0)), Refunds: refunds("cancel", 1, 2)},
			},
			final: connectors.Line{Quantity: 3, Cancelled: 3},
		},
		{
			name: "one unit ships, one is removed, the order is cancelled",
			states: []orderSource{
				{Lines: line(3, i64(3))},
				{Lines: line(3, i64(3)), Fulfillments: success(1)},
				{Lines: line(3, i64(2)), Fulfillments: success(1)},
				{Cancelled: true, Lines: line(3, i64(2)), Fulfillments: success(1)},
			},
			final: connectors.Line{Quantity: 3, Shipped: 1, Cancelled: 2},
		},
		{
			name: "shipped, then one unit returned",
			states: []orderSource{
				{Lines: line(2, i64(2)), Fulfillments: success(2)},
				{Lines: line(2, i64(1)), Fulfillments: success(2), Refunds: refunds("return", 1)},
			},
			final: connectors.Line{Quantity: 2, Shipped: 2, Returned: 1, Restock: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev *connectors.Order
			for i, src := range tt.states {
				src.ID, src.UpdatedAt, src.HasFulfillments = "1", at, true // one second, one version
				o, err := src.toCanonical("shop", nil)
				if err != nil {
					t.Fatalf("state %d: %v", i, err)
				}
				if prev != nil {
					if why := furtherAlong(prev, o); why != "" {
						t.Errorf("state %d %+v after %+v: %s", i, o.Lines, prev.Lines, why)
					}
					if o.Lines[0].Quantity != prev.Lines[0].Quantity {
						t.Errorf("state %d: quantity %d, was %d: the ordered quantity never changes", i, o.Lines[0].Quantity, prev.Lines[0].Quantity)
					}
				}
				prev = o
			}
			got := prev.Lines[0]
			got.LineID, got.SKU = "", ""
			if got != tt.final {
				t.Errorf("last state's line = %+v, want %+v", got, tt.final)
			}
		})
	}
}

// TestSameSecondCancelThroughTheFake: the order and its cancel within one
// second, as the fake store serves them over GraphQL and as webhook
// bodies: the cancel is further along, not a lower quantity.
func TestSameSecondCancelThroughTheFake(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	o := shopifytest.Order{ID: 77, UpdatedAt: at, Lines: []shopifytest.OrderLine{{ID: 7, SKU: "A", Quantity: 3}}}
	steps := []func(o *shopifytest.Order){
		func(*shopifytest.Order) {},
		func(o *shopifytest.Order) { o.Lines[0].Removed = 1 },                                         // an edit: 3 -> 2
		func(o *shopifytest.Order) { o.CancelledAt, o.UpdatedAt = &at, at.Add(400*time.Millisecond) }, // the same second
	}
	var prevFetched, prevHook *connectors.Order
	for i, step := range steps {
		step(&o)
		s.AddOrder(o)
		fetched, err := c.FetchOrder(context.Background(), "77")
		if err != nil {
			t.Fatal(err)
		}
		body, err := s.WebhookBody(77)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.ParseWebhook(context.Background(), signed(t, s, "orders/updated", body, fmt.Sprint("e", i)))
		if err != nil {
			t.Fatal(err)
		}
		hook := ev[0].Order
		if !fetched.UpdatedAt.Equal(at) || !hook.UpdatedAt.Equal(at) {
			t.Fatalf("step %d: updated_at %v / %v, want %v (whole seconds)", i, fetched.UpdatedAt, hook.UpdatedAt, at)
		}
		if fetched.Lines[0] != hook.Lines[0] {
			t.Errorf("step %d: GraphQL line %+v, webhook line %+v", i, fetched.Lines[0], hook.Lines[0])
		}
		if prevFetched != nil {
			if why := furtherAlong(prevFetched, fetched); why != "" {
				t.Errorf("step %d (GraphQL): %s", i, why)
			}
			if why := furtherAlong(prevHook, hook); why != "" {
				t.Errorf("step %d (webhook): %s", i, why)
			}
		}
		prevFetched, prevHook = fetched, hook
	}
	if l := prevFetched.Lines[0]; l.Quantity != 3 || l.Cancelled != 3 || l.Open() != 0 || prevFetched.Status != connectors.StatusCancelled {
		t.Errorf("cancelled order = %s %+v", prevFetched.Status, l)
	}
}
