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
// (allLevelsOf). Each variant's levels are its own inventory item's,
// found by the variant's place in the page: variants may share a SKU.
func (c *Connector) listingsPage(ctx context.Context, nodes []variantNode) (connectors.ListingPage, error) {
	p := connectors.ListingPage{Total: -1, Listings: make([]connectors.Listing, 0, len(nodes))}
	itemAt := make([]string, 0, len(nodes)) // listing index → inventory item, "" for none
	items := make([]string, 0, len(nodes))
	for _, v := range nodes {
		l := connectors.Listing{ID: v.SKU}
		if l.ID == "" {
			l.ID = v.ID
		}
		it := ""
		if v.InventoryItem != nil && v.InventoryItem.ID != "" {
			it = v.InventoryItem.ID
			items = append(items, it)
		}
		itemAt = append(itemAt, it)
		p.Listings = append(p.Listings, l)
	}
	if c.perLocation {
		return p, c.allLevelsOf(ctx, p.Listings, itemAt, items)
	}
	levels, err := c.readLevels(ctx, items, c.pushLocation)
	if err != nil {
		return p, err
	}
	for i, it := range itemAt {
		if it != "" {
			p.Listings[i].Quantity, p.Listings[i].HasQuantity = levels[it]
		}
	}
	return p, nil
}

// allLevelsOf gives each listing its inventory item's (itemAt, by index)
// levels at every location (readAllLevels: Levels, and Quantity their
// sum, what Shopify sells). The levels are read by item, so that
// variants sharing a SKU each get their own.
func (c *Connector) allLevelsOf(ctx context.Context, listings []connectors.Listing, itemAt, items []string) error {
	self := make(map[string]string, len(items))
	for _, it := range items {
		self[it] = it
	}
	levels, err := c.readAllLevels(ctx, items, self)
	if err != nil {
		return err
	}
	at := make(map[string]int, len(items))
	for i, it := range itemAt {
		if it != "" {
			at[it] = i
		}
	}
	for _, lq := range levels {
		if i, ok := at[lq.SKU]; ok {
			l := &listings[i]
			lq.SKU = l.ID
			l.Levels = append(l.Levels, lq)
			l.Quantity += lq.Quantity
			l.HasQuantity = true
		}
	}
	return nil
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
