package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// kitsListed: every channel lists each kit at want.
func (w *world) kitsListed(want map[string]int64) func() (bool, string) {
	return func() (bool, string) {
		for kit, q := range want {
			got := map[string]int64{"shop": w.shop.Level(kit)}
			got["bay"], _ = w.bay.Quantity(kit)
			got["amz"], _ = w.amz.Quantity(kit)
			for ch, n := range got {
				if n != q {
					return false, fmt.Sprintf("%s lists %s=%d, want %d", ch, kit, n, q)
				}
			}
		}
		return true, ""
	}
}

// mappedListed: Amazon lists PACK-6 at pack, eBay 110012345678 at k2.
func (w *world) mappedListed(pack, k2 int64) func() (bool, string) {
	return func() (bool, string) {
		p, _ := w.amz.Quantity("PACK-6")
		b, _ := w.bay.Quantity("110012345678")
		return p == pack && b == k2, fmt.Sprintf("amz PACK-6=%d (want %d), bay 110012345678=%d (want %d)", p, pack, b, k2)
	}
}

// TestKitSaleAgainstTheFakes: the real connectors against their fakes.
// K1 = 2 × SKU-000 + SKU-001 and K2 = SKU-000 + SKU-002 are listed on
// Shopify, eBay and Amazon; the catalog import alone lists them. A sale
// of 3 K1 on Shopify (its webhook delivered twice) lowers SKU-000 and
// SKU-001, K1, and K2 (which shares SKU-000) on every channel, and the
// mapped listings (on Amazon a 6-pack of SKU-001, on eBay K2 under an
// item id); the ledger's verify finds nothing.
func TestKitSaleAgainstTheFakes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3) // SKU-000..002, 20 units each
	ctx := context.Background()
	for _, kit := range []string{"K1", "K2"} {
		w.shop.SetLevel(kit, 0)
		w.bay.AddListing(kit, 0, 1)
		w.amz.SetListing(kit, 0)
	}
	w.amz.SetListing("PACK-6", 0)
	w.bay.AddListing("110012345678", 0, 1)
	plan := catalog.Plan{
		Kits: []catalog.Kit{
			{SKU: "K1", Components: []catalog.Component{{SKU: "SKU-000", Quantity: 2}, {SKU: "SKU-001", Quantity: 1}}},
			{SKU: "K2", Components: []catalog.Component{{SKU: "SKU-000", Quantity: 1}, {SKU: "SKU-002", Quantity: 1}}},
		},
		Mappings: []catalog.Mapping{
			{Channel: "amz", Listing: "PACK-6", SKU: "SKU-001", Multiplier: 6},  // a 6-pack of SKU-001
			{Channel: "bay", Listing: "110012345678", SKU: "K2", Multiplier: 1}, // K2 under an id of eBay's
		},
	}
	if probs, err := w.eng.Catalog().Check(ctx, plan, w.eng.Ledger(), w.eng.Channels()); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if _, err := w.eng.Catalog().Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the stock is listed everywhere", w.converged)
	w.eventually("the kits are listed everywhere", w.kitsListed(map[string]int64{"K1": 10, "K2": 20}))
	w.eventually("the mapped listings are listed", w.mappedListed(3, 20))

	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	sid := w.shop.AddOrder(shopifytest.Order{Name: "#2001", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 21, SKU: "K1", Quantity: 3}}})
	w.shop.Sell("K1", 3) // Shopify takes the sale off its own listing
	w.shopWebhook("orders/create", sid, "k1")
	w.shopWebhook("orders/create", sid, "k1") // duplicate delivery

	w.eventually("the components are reserved", func() (bool, string) {
		for sku, want := range map[string]int64{"SKU-000": 14, "SKU-001": 17, "SKU-002": 20} {
			st, err := w.eng.Ledger().Stock(ctx, sku)
			if err != nil {
				return false, err.Error()
			}
			if a := st.Locations["main"].Available; a != want {
				return false, fmt.Sprintf("%s available %d, want %d", sku, a, want)
			}
		}
		return true, ""
	})
	w.eventually("the components are listed everywhere", w.converged)
	w.eventually("both kits are lowered everywhere", w.kitsListed(map[string]int64{"K1": 7, "K2": 14}))
	w.eventually("the mapped listings follow", w.mappedListed(2, 14))
	if probs, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}
