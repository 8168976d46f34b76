package woocommerce

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/shelfsync/shelfsync/connectors"
)

// ListListings implements connectors.ListingLister: GET /products
// (per_page 100, page 1, 2, … until X-WP-TotalPages; X-WP-Total is the
// total of products), and for each variable product GET
// /products/{id}/variations the same way, each call through the channel's
// limiter. A listing is a simple product or a variation by SKU (one
// without a SKU as "product N (no SKU)"); its quantity is stock_quantity
// when WooCommerce manages its stock, else it has none. A variable
// product itself is not a listing (its variations are).
func (c *Connector) ListListings(ctx context.Context, page func(connectors.ListingPage) error) error {
	return c.listPages(ctx, "/products", func(products []wcProduct, total int) error {
		p := connectors.ListingPage{Total: total}
		for i := range products {
			pr := &products[i]
			if pr.Type != "variable" {
				p.Listings = append(p.Listings, listingOf(pr))
				continue
			}
			id, err := pr.ID.id("product id")
			if err != nil {
				return err
			}
			err = c.listPages(ctx, "/products/"+strconv.FormatInt(id, 10)+"/variations", func(vs []wcProduct, _ int) error {
				for j := range vs {
					p.Listings = append(p.Listings, listingOf(&vs[j]))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return page(p)
	})
}

// maxListPages bounds a listing against a store whose pages never end
// (a million products).
const maxListPages = 10_000

// listPages reads every page of a collection, calling each with the page
// and the collection's X-WP-Total (-1 when missing).
func (c *Connector) listPages(ctx context.Context, path string, each func([]wcProduct, int) error) error {
	for n := 1; ; n++ {
		q := url.Values{"per_page": {strconv.Itoa(MaxPageSize)}, "page": {strconv.Itoa(n)}}
		var items []wcProduct
		h, err := c.call(ctx, "GET", path, q, nil, &items)
		if err != nil {
			return fmt.Errorf("listing %s (page %d): %w", path, n, err)
		}
		t, ok := total(h)
		if !ok {
			t = -1
		}
		if err := each(items, t); err != nil {
			return err
		}
		if pages, ok := totalPages(h); len(items) == 0 || (ok && n >= pages) || (!ok && len(items) < MaxPageSize) {
			return nil
		}
		if n >= maxListPages {
			return fmt.Errorf("listing %s: paging does not end after %d pages", path, n)
		}
	}
}

// listingOf is a product or variation as a listing.
func listingOf(p *wcProduct) connectors.Listing {
	var l connectors.Listing
	if p.SKU != nil && *p.SKU != "" {
		l.ID = *p.SKU
	} else {
		id, _ := p.ID.int64()
		l.ID = fmt.Sprintf("product %d (no SKU)", id)
	}
	if p.ManageStock == manageYes && p.StockQuantity.set {
		l.Quantity, l.HasQuantity = p.StockQuantity.v, true
	}
	return l
}
