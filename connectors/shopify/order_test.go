package shopify

import (
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
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
			name: "edit removed a unit (current_quantity)",
			src:  orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3, CurrentQuantity: i64(2)}}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}, wantStatus: connectors.StatusOpen,
		},
		{
			name: "cancel refund before shipping, without current_quantity",
			src: orderSource{HasFulfillments: true, Lines: []lineSource{{ID: "10", SKU: "A", Quantity: 3}},
				Refunds: []refundSource{refund("10", 1, "cancel")}},
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}, wantStatus: connectors.StatusOpen,
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
			want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1}, wantStatus: connectors.StatusOpen,
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
