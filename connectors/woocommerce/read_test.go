package woocommerce

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// TestReadQuantities: the listed quantity of each SKU the store manages
// stock for, read fresh; unknown and unmanaged SKUs are left out (the
// latter counted); a negative (backordered) quantity is read as it is.
func TestReadQuantities(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 60)
	if err := s.SetStock("P7", 12); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStock("V1", -2); err != nil {
		t.Fatal(err)
	}
	f := newTestConnector(t, s, nil)
	skus := []string{"P7", "V1", "NOPE", "UNMANAGED", "MUG-RED", "P7", ""}
	for i := 0; i < 60; i++ {
		skus = append(skus, fmt.Sprintf("P%d", i))
	}
	got, err := f.c.ReadQuantities(context.Background(), skus)
	if err != nil {
		t.Fatal(err)
	}
	byS := map[string]int64{}
	for _, q := range got {
		if _, dup := byS[q.SKU]; dup {
			t.Fatalf("%s read twice", q.SKU)
		}
		byS[q.SKU] = q.Quantity
	}
	if byS["P7"] != 12 || byS["V1"] != -2 || byS["P0"] != 1 {
		t.Fatalf("read %v", byS)
	}
	for _, sku := range []string{"NOPE", "UNMANAGED", "MUG-RED"} {
		if _, ok := byS[sku]; ok {
			t.Errorf("%s was read", sku)
		}
	}
	if len(got) != 61 {
		t.Errorf("%d quantities, want 61", len(got))
	}
	if n := f.counter(t, "shelfsync_woocommerce_unmanaged_stock_total", "source", "read"); n != 2 {
		t.Errorf("unmanaged counted %v", n)
	}
	// 61 distinct SKUs with no comma: 3 lookups of at most 25.
	if n := s.Calls()["GET /products"]; n != 3 {
		t.Errorf("%d lookups", n)
	}
	// What the read found is cached for pushes.
	before := s.Calls()["GET /products"]
	if _, err := f.c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "P7", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	if s.Calls()["GET /products"] != before {
		t.Error("the push looked up a SKU the read had just found")
	}
	empty, err := f.c.ReadQuantities(context.Background(), nil)
	if err != nil || !reflect.DeepEqual(empty, []connectors.LiveQuantity{}) {
		t.Fatalf("no SKUs: %v %v", empty, err)
	}
}
