package shopify

import (
	"context"
	"errors"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// opListVariants pages through every product variant (no search query):
// 100 a page keeps the requested cost near 4 points (2 + 100/50).
var opListVariants = operation{name: "ShelfsyncListVariants", query: `
query ShelfsyncListVariants($after: String) {
  productVariants(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku inventoryItem { id } }
  }
}`, background: true}

// maxListPages bounds ListListings against a cursor that never ends.
const maxListPages = 100_000

type variantsPage struct {
	ProductVariants struct {
		PageInfo struct {
			HasNextPage bool   `json:"hasNextPage"`
			EndCursor   string `json:"endCursor"`
		} `json:"pageInfo"`
		Nodes []struct {
			ID            string `json:"id"`
			SKU           string `json:"sku"`
			InventoryItem *struct {
				ID string `json:"id"`
			} `json:"inventoryItem"`
		} `json:"nodes"`
	} `json:"productVariants"`
}

// ListListings implements connectors.ListingLister: the GraphQL Admin
// API's productVariants connection, 100 variants a page by cursor
// (pageInfo.endCursor), then the page's inventory levels at the push
// location (as ReadQuantities reads them, readLevels); both under the
// cost-based throttle, as background work. A variant without a SKU is
// named by its variant GID; one not stocked at the location has no
// quantity. Shopify gives no total.
func (c *Connector) ListListings(ctx context.Context, page func(connectors.ListingPage) error) error {
	if c.pushLocation == "" {
		return errors.New("listing variants: no Shopify location configured for the channel")
	}
	after := ""
	for n := 1; ; n++ {
		vars := map[string]any{}
		if after != "" {
			vars["after"] = after
		}
		var data variantsPage
		if err := c.graphql(ctx, opListVariants, vars, &data); err != nil {
			return fmt.Errorf("listing variants (page %d): %w", n, err)
		}
		pv := data.ProductVariants
		items := make([]string, 0, len(pv.Nodes))
		for _, v := range pv.Nodes {
			if v.InventoryItem != nil {
				items = append(items, v.InventoryItem.ID)
			}
		}
		levels, err := c.readLevels(ctx, items, c.pushLocation)
		if err != nil {
			return fmt.Errorf("listing variants (page %d): %w", n, err)
		}
		p := connectors.ListingPage{Total: -1, Listings: make([]connectors.Listing, 0, len(pv.Nodes))}
		for _, v := range pv.Nodes {
			l := connectors.Listing{ID: v.SKU}
			if l.ID == "" {
				l.ID = v.ID
			}
			if v.InventoryItem != nil {
				l.Quantity, l.HasQuantity = levels[v.InventoryItem.ID]
			}
			p.Listings = append(p.Listings, l)
		}
		if err := page(p); err != nil {
			return err
		}
		if !pv.PageInfo.HasNextPage {
			return nil
		}
		if pv.PageInfo.EndCursor == "" || len(pv.Nodes) == 0 || n >= maxListPages {
			return fmt.Errorf("shopify %s: paging does not end (page %d)", opListVariants.name, n)
		}
		after = pv.PageInfo.EndCursor
	}
}
