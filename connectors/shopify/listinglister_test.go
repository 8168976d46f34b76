package shopify

import (
	"context"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestListListingsSharedSKU: Shopify lets variants share a SKU; each is
// its own listing with its own inventory item's level (single mode) or
// levels (per_location), not the last one's.
func TestListListingsSharedSKU(t *testing.T) {
	for _, perLoc := range []bool{false, true} {
		t.Run(map[bool]string{false: "single", true: "per_location"}[perLoc], func(t *testing.T) {
			s := newFake(t, shopifytest.Options{Locations: []string{locPOS}})
			s.SetLevel("MUG", 3)
			s.AddSharedSKUVariant("MUG", 8)
			c := newTestConnector(t, s, func(ch *config.Channel) {
				if perLoc {
					ch.Locations, ch.StockMode = []string{"main", "pos"}, config.StockPerLocation
				}
			})
			var got []int64
			err := c.ListListings(context.Background(), func(p connectors.ListingPage) error {
				for _, l := range p.Listings {
					if l.ID != "MUG" || !l.HasQuantity {
						t.Errorf("listing %+v; want MUG with a quantity", l)
					}
					if perLoc && (len(l.Levels) != 1 || l.Levels[0].SKU != "MUG" || l.Levels[0].Location != "main" || l.Levels[0].Quantity != l.Quantity) {
						t.Errorf("listing %+v; want its one level, at main, under MUG", l)
					}
					got = append(got, l.Quantity)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != 3 || got[1] != 8 {
				t.Errorf("quantities = %v; want [3 8] (each variant its own level)", got)
			}
		})
	}
}
