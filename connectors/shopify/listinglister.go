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
		Nodes []variantNode `json:"nodes"`
	} `json:"productVariants"`
}

type variantNode struct {
	ID            string `json:"id"`
	SKU           string `json:"sku"`
	InventoryItem *struct {
		ID string `json:"id"`
	} `json:"inventoryItem"`
}

// listingsPage is one page of variants as listings, with their levels:
// at the push location, or on a per-location channel at every location
// (readAllLevels: Levels, and Quantity their sum, what Shopify sells).
func (c *Connector) listingsPage(ctx context.Context, nodes []variantNode) (connectors.ListingPage, error) {
	p := connectors.ListingPage{Total: -1, Listings: make([]connectors.Listing, 0, len(nodes))}
	ids := make([]string, 0, len(nodes))
	itemOf := make(map[string]string, len(nodes)) // listing → inventory item
	for _, v := range nodes {
		l := connectors.Listing{ID: v.SKU}
		if l.ID == "" {
			l.ID = v.ID
		}
		if v.InventoryItem != nil {
			ids = append(ids, l.ID)
			itemOf[l.ID] = v.InventoryItem.ID
		}
		p.Listings = append(p.Listings, l)
	}
	if c.perLocation {
		levels, err := c.readAllLevels(ctx, ids, itemOf)
		if err != nil {
			return p, err
		}
		at := make(map[string]int, len(p.Listings))
		for i, l := range p.Listings {
			at[l.ID] = i
		}
		for _, lq := range levels {
			if i, ok := at[lq.SKU]; ok {
				l := &p.Listings[i]
				l.Levels = append(l.Levels, lq)
				l.Quantity += lq.Quantity
				l.HasQuantity = true
			}
		}
		return p, nil
	}
	items := make([]string, 0, len(ids))
	for _, id := range ids {
		items = append(items, itemOf[id])
	}
	levels, err := c.readLevels(ctx, items, c.pushLocation)
	if err != nil {
		return p, err
	}
	for i := range p.Listings {
		if it, ok := itemOf[p.Listings[i].ID]; ok {
			p.Listings[i].Quantity, p.Listings[i].HasQuantity = levels[it]
		}
	}
	return p, nil
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
		p, err := c.listingsPage(ctx, pv.Nodes)
		if err != nil {
			return fmt.Errorf("listing variants (page %d): %w", n, err)
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
