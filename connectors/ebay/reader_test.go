package ebay

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

func TestReadQuantities(t *testing.T) {
	tests := []struct {
		name       string
		catalogue  int
		read       []string
		wantEach   int // getInventoryItem calls
		wantPages  int // getInventoryItems calls
		wantLength int
	}{
		{name: "short list, one by one", catalogue: 50, read: []string{"SKU-003", "SKU-404", "SKU-010"}, wantEach: 3, wantLength: 2},
		{name: "long list, paged", catalogue: 250, read: skuRange(200, 230, "SKU-999"), wantPages: 3, wantLength: 30},
		{name: "long list found early", catalogue: 250, read: skuRange(0, 25), wantPages: 1, wantLength: 25},
		{name: "empty", catalogue: 5, read: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			for i := range tc.catalogue {
				e.fake.AddListing(fmt.Sprintf("SKU-%03d", i), int64(i), 1)
			}
			got, err := e.conn.ReadQuantities(context.Background(), tc.read)
			if err != nil {
				t.Fatal(err)
			}
			var want []connectors.LiveQuantity
			for _, sku := range tc.read {
				var n int
				if _, err := fmt.Sscanf(sku, "SKU-%03d", &n); err == nil && n < tc.catalogue {
					want = append(want, connectors.LiveQuantity{SKU: sku, Quantity: int64(n)})
				}
			}
			if len(got) != tc.wantLength || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("ReadQuantities = %v; want %v", got, want)
			}
			if each, pages := e.fake.Calls("get_inventory_item"), e.fake.Calls("get_inventory_items"); each != tc.wantEach || pages != tc.wantPages {
				t.Fatalf("calls: %d by SKU, %d pages; want %d and %d", each, pages, tc.wantEach, tc.wantPages)
			}
		})
	}
}

func skuRange(from, to int, extra ...string) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("SKU-%03d", i))
	}
	return append(s, extra...)
}
