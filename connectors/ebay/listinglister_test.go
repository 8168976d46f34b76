package ebay

import "testing"

// FuzzParseInventoryItems: a getInventoryItems answer either parses with a
// usable total or is refused; it never panics.
func FuzzParseInventoryItems(f *testing.F) {
	for _, s := range []string{
		`{"total":2,"size":1,"limit":200,"next":"https://api.ebay.com/sell/inventory/v1/inventory_item?limit=200&offset=1","inventoryItems":[{"sku":"A","availability":{"shipToLocationAvailability":{"quantity":3}}}]}`,
		`{"total":0,"inventoryItems":[]}`,
		`{"inventoryItems":[]}`,
		`{"total":-1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ip inventoryItemsPage
		if err := parseInventoryItems(body, &ip); err == nil && (ip.Total == nil || *ip.Total < 0) {
			t.Fatalf("accepted an answer without a usable total: %s", body)
		}
	})
}

func TestParseInventoryItems(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"total":1,"inventoryItems":[{"sku":"A","availability":{"shipToLocationAvailability":{"quantity":3}}}]}`, true},
		{`{"inventoryItems":[]}`, false},
		{`{"total":-2}`, false},
		{`{"total":"x"}`, false},
	} {
		var ip inventoryItemsPage
		if err := parseInventoryItems([]byte(c.body), &ip); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.body, err, c.ok)
		}
	}
}
