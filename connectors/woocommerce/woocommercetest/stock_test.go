package woocommercetest

import (
	"fmt"
	"testing"
)

// TestStatusStockHooks walks orders through status changes and checks the
// stock after each, as core's wc_maybe_reduce_stock_levels (on processing,
// completed, on-hold) and wc_maybe_increase_stock_levels (on cancelled,
// pending) leave it: reduced once, restored once, only if reduced.
func TestStatusStockHooks(t *testing.T) {
	const start = 10
	type step struct {
		status string
		stock  int64 // the listing's stock after the change
		meta   int64 // the line's _reduced_stock after it
	}
	cases := []struct {
		name   string
		sell   bool   // placed by Sell (processing, stock taken); else AddOrder
		status string // AddOrder's status
		manage bool
		steps  []step
	}{
		{"sale then cancel restores", true, "", true, []step{{"cancelled", 10, 0}}},
		{"cancel twice restores once", true, "", true, []step{{"cancelled", 10, 0}, {"processing", 7, 3}, {"cancelled", 10, 0}, {"failed", 10, 0}, {"cancelled", 10, 0}}},
		{"processing to completed reduces no more", true, "", true, []step{{"completed", 7, 3}, {"on-hold", 7, 3}, {"processing", 7, 3}}},
		{"completed to cancelled restores", true, "", true, []step{{"completed", 7, 3}, {"cancelled", 10, 0}}},
		{"back to pending restores", true, "", true, []step{{"pending", 10, 0}, {"pending", 10, 0}}},
		{"pending order reduces when paid", false, "pending", true, []step{{"on-hold", 7, 3}, {"processing", 7, 3}, {"cancelled", 10, 0}}},
		{"pending cancelled never reduced", false, "pending", true, []step{{"cancelled", 10, 0}, {"failed", 10, 0}}},
		{"failed, refunded, trash touch nothing", true, "", true, []step{{"failed", 7, 3}, {"refunded", 7, 3}, {"trash", 7, 3}, {"checkout-draft", 7, 3}}},
		{"failed then cancelled restores", true, "", true, []step{{"failed", 7, 3}, {"cancelled", 10, 0}}},
		{"unmanaged stock untouched", false, "pending", false, []step{{"processing", 10, 0}, {"cancelled", 10, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			s.AddProduct(Product{SKU: "A", ManageStock: tc.manage, Stock: start})
			var id int64
			if tc.sell {
				var err error
				if id, err = s.Sell("A", 3); err != nil {
					t.Fatal(err)
				}
			} else {
				id = s.AddOrder(Order{Status: tc.status, Lines: []OrderLine{{SKU: "A", Quantity: 3}}})
			}
			for i, st := range tc.steps {
				if err := s.UpdateOrder(id, func(o *Order) { o.Status = st.status }); err != nil {
					t.Fatal(err)
				}
				got := stockOf(s, "A")
				o, _ := s.Order(id)
				if got != st.stock || o.Lines[0].ReducedStock != st.meta {
					t.Errorf("step %d (to %s): stock %d, _reduced_stock %d; want %d, %d", i, st.status, got, o.Lines[0].ReducedStock, st.stock, st.meta)
				}
			}
		})
	}
}

// stockOf is the listing's Stock field.
func stockOf(s *Server, sku string) int64 {
	p, ok := s.ProductBySKU(sku)
	if !ok {
		panic(fmt.Sprintf("no listing %s", sku))
	}
	return p.Stock
}

// TestCancelRestoresVariationParentStock: a variation selling from its
// parent's managed stock gets the parent's stock back on cancel.
func TestCancelRestoresVariationParentStock(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	parent := s.AddProduct(Product{SKU: "P", ManageStock: true, Stock: 5})
	if _, err := s.AddVariation(parent, Product{SKU: "V"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.Sell("V", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := stockOf(s, "P"); got != 3 {
		t.Fatalf("after sale: parent stock %d, want 3", got)
	}
	for range 2 {
		if err := s.UpdateOrder(id, func(o *Order) { o.Status = "cancelled" }); err != nil {
			t.Fatal(err)
		}
	}
	if got := stockOf(s, "P"); got != 5 {
		t.Fatalf("after cancel: parent stock %d, want 5", got)
	}
}
