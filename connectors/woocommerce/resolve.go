package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	// mappingTTL bounds how long a SKU → product mapping is trusted: a
	// merchant may delete a product and reuse its SKU.
	mappingTTL = 24 * time.Hour
	// unknownTTL remembers a SKU the store does not know, so a push of an
	// unlisted SKU does not query every time, while a new listing shows up
	// soon.
	unknownTTL = 10 * time.Minute
	// skusPerQuery bounds the comma-separated sku parameter of one lookup.
	skusPerQuery = 25
)

// listing is where a SKU lives in the store: a product, or a variation of
// parent. manage and stock are as the lookup read them (not cached).
type listing struct {
	id     int64
	parent int64 // > 0: a variation of this product
	manage wcManageStock
	stock  wcStock
}

func (l listing) encode() string {
	if l.parent > 0 {
		return "v:" + strconv.FormatInt(l.parent, 10) + ":" + strconv.FormatInt(l.id, 10)
	}
	return "p:" + strconv.FormatInt(l.id, 10)
}

func decodeListing(v string) (listing, bool) {
	parts := strings.Split(v, ":")
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		return n
	}
	switch {
	case len(parts) == 2 && parts[0] == "p" && num(parts[1]) > 0:
		return listing{id: num(parts[1])}, true
	case len(parts) == 3 && parts[0] == "v" && num(parts[1]) > 0 && num(parts[2]) > 0:
		return listing{parent: num(parts[1]), id: num(parts[2])}, true
	}
	return listing{}, false
}

func skuKey(sku string) string { return "woocommerce:sku:" + sku }

// ResolveSKU maps a SKU to the channel's identifiers, cached: "product_id" names the
// product (the parent, for a variation) and "variation_id" the variation.
func (c *Connector) ResolveSKU(ctx context.Context, sku string) (map[string]string, error) {
	found, err := c.resolve(ctx, []string{sku})
	if err != nil {
		return nil, err
	}
	l, ok := found[sku]
	if !ok {
		return nil, fmt.Errorf("resolving SKU %q: %w", sku, connectors.ErrNotFound)
	}
	if l.parent > 0 {
		return map[string]string{"product_id": strconv.FormatInt(l.parent, 10), "variation_id": strconv.FormatInt(l.id, 10)}, nil
	}
	return map[string]string{"product_id": strconv.FormatInt(l.id, 10)}, nil
}

// resolve maps SKUs to listings, from the cache or by looking them up;
// SKUs the store does not know are left out.
func (c *Connector) resolve(ctx context.Context, skus []string) (map[string]listing, error) {
	cached, missing := connectors.CachedSKUs(ctx, c.deps.Cache, skus, skuKey, c.log)
	out := make(map[string]listing, len(cached)+len(missing))
	for sku, v := range cached {
		if l, ok := decodeListing(v); ok {
			out[sku] = l
		} else {
			missing = append(missing, sku) // a value of an older shape: look it up again
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	found, err := c.lookup(ctx, missing)
	if err != nil {
		return nil, err
	}
	for sku, l := range found {
		out[sku] = l
	}
	return out, nil
}

// lookup asks the store for SKUs with GET /products?sku=A,B,…
// (#list-all-products: sku takes a comma-separated list; with sku,
// WC_REST_Products_Controller::prepare_objects_query widens the query to
// variations, so a variation comes back with type "variation" and its
// parent_id). Only exact matches count
// (the database compares without case). Every answer is cached, unknown
// SKUs too; several listings with one SKU: the first is taken and logged.
func (c *Connector) lookup(ctx context.Context, skus []string) (map[string]listing, error) {
	found := map[string]listing{}
	for _, chunk := range skuQueries(skus) {
		if err := c.lookupChunk(ctx, chunk, found); err != nil {
			return nil, err
		}
		c.cacheChunk(ctx, chunk, found)
	}
	return found, nil
}

// skuQueries groups SKUs into the sku= lists to ask for: up to
// skusPerQuery SKUs a query, a SKU with a comma alone.
func skuQueries(skus []string) [][]string {
	var plain, alone []string
	for _, s := range skus {
		if strings.Contains(s, ",") {
			// WooCommerce splits the parameter at commas; alone, the
			// whole string is tried as a SKU as well.
			alone = append(alone, s)
		} else {
			plain = append(plain, s)
		}
	}
	var queries [][]string
	for start := 0; start < len(plain); start += skusPerQuery {
		queries = append(queries, plain[start:min(start+skusPerQuery, len(plain))])
	}
	for _, s := range alone {
		queries = append(queries, []string{s})
	}
	return queries
}

// lookupChunk reads every page of one sku= query into found.
func (c *Connector) lookupChunk(ctx context.Context, chunk []string, found map[string]listing) error {
	want := make(map[string]bool, len(chunk))
	for _, s := range chunk {
		want[s] = true
	}
	for page := 1; ; page++ {
		q := url.Values{}
		q.Set("sku", strings.Join(chunk, ","))
		q.Set("per_page", strconv.Itoa(MaxPageSize))
		q.Set("page", strconv.Itoa(page))
		var products []wcProduct
		h, err := c.call(ctx, "GET", "/products", q, nil, &products)
		if err != nil {
			return fmt.Errorf("looking up %d SKUs: %w", len(chunk), err)
		}
		c.keepMatches(products, want, found)
		if lastPage(h, page, len(products)) {
			return nil
		}
	}
}

// lastPage says whether a listing page is the last to read: an empty
// page, the last X-WP-TotalPages names, a short page when the header is
// missing, or the 100th page (a bound against a store that never ends).
func lastPage(h http.Header, page, n int) bool {
	pages, ok := totalPages(h)
	return n == 0 || (ok && page >= pages) || (!ok && n < MaxPageSize) || page >= 100
}

// keepMatches records the products whose SKU is exactly one asked for;
// the first listing of a SKU wins, an unreadable one is logged and
// skipped.
func (c *Connector) keepMatches(products []wcProduct, want map[string]bool, found map[string]listing) {
	for i := range products {
		p := &products[i]
		if p.SKU == nil || !want[*p.SKU] {
			continue
		}
		l, err := p.listing()
		if err != nil {
			c.log.Warn().Err(err).Str("sku", *p.SKU).Msg("WooCommerce product unreadable")
			continue
		}
		if prev, dup := found[*p.SKU]; dup {
			if prev.id != l.id {
				c.log.Warn().Str("sku", *p.SKU).Int64("kept", prev.id).Int64("ignored", l.id).Msg("several WooCommerce listings share a SKU")
			}
			continue
		}
		found[*p.SKU] = l
	}
}

// cacheChunk caches every SKU of a query, the unknown ones too (for
// less long), so they are not asked for again on every push.
func (c *Connector) cacheChunk(ctx context.Context, chunk []string, found map[string]listing) {
	for _, s := range chunk {
		if l, ok := found[s]; ok {
			c.cacheSet(ctx, skuKey(s), l.encode(), mappingTTL)
		} else {
			c.cacheSet(ctx, skuKey(s), "", unknownTTL)
		}
	}
}

// listing reads where a product answer lives.
func (p *wcProduct) listing() (listing, error) {
	id, err := p.ID.id("product id")
	if err != nil {
		return listing{}, err
	}
	l := listing{id: id, manage: p.ManageStock, stock: p.StockQuantity}
	if p.Type == "variation" {
		parent, err := p.ParentID.id("variation parent_id")
		if err != nil {
			return listing{}, err
		}
		l.parent = parent
	}
	return l, nil
}

// forget marks a SKU's mapping stale (its product is gone), so the next
// push looks it up again instead of trusting it.
func (c *Connector) forget(ctx context.Context, sku string) {
	c.cacheSet(ctx, skuKey(sku), "stale", mappingTTL)
}

func (c *Connector) cacheSet(ctx context.Context, key, value string, ttl time.Duration) {
	if err := c.deps.Cache.Set(ctx, key, value, ttl); err != nil {
		// Handled here: a lost cache entry costs one lookup later.
		c.log.Debug().Err(err).Str("key", key).Msg("caching a WooCommerce mapping failed")
	}
}
