package shopify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	// mappingTTL bounds how long a SKU ↔ inventory item mapping is trusted:
	// a merchant may delete a variant and reuse its SKU.
	mappingTTL = 24 * time.Hour
	// unknownTTL remembers a SKU Shopify does not know, so a push of an
	// unlisted SKU does not query every time, while a new listing shows
	// up soon.
	unknownTTL = 10 * time.Minute
	// skusPerQuery bounds the "sku:A OR sku:B …" search string.
	skusPerQuery = 50
)

func skuKey(sku string) string   { return "shopify:sku:" + sku }
func itemKey(item string) string { return "shopify:item:" + item }

// ResolveSKU maps a SKU to the channel's identifiers, cached: "inventory_item_id" is the
// inventory item's GID.
func (c *Connector) ResolveSKU(ctx context.Context, sku string) (map[string]string, error) {
	items, err := c.resolve(ctx, []string{sku})
	if err != nil {
		return nil, err
	}
	item, ok := items[sku]
	if !ok {
		return nil, fmt.Errorf("resolving SKU %q: %w", sku, connectors.ErrNotFound)
	}
	return map[string]string{"inventory_item_id": item}, nil
}

// resolve maps SKUs to inventory item GIDs, from the cache or by looking
// up variants in bulk; SKUs Shopify does not know are left out. Both
// directions are cached: the item → SKU side names the SKU of
// inventory_levels/update webhooks.
func (c *Connector) resolve(ctx context.Context, skus []string) (map[string]string, error) {
	out, missing := connectors.CachedSKUs(ctx, c.deps.Cache, skus, skuKey, c.log)
	for start := 0; start < len(missing); start += skusPerQuery {
		chunk := missing[start:min(start+skusPerQuery, len(missing))]
		found, err := c.lookupVariants(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, sku := range chunk {
			item, ok := found[sku]
			if !ok {
				c.cacheSet(ctx, skuKey(sku), "", unknownTTL)
				continue
			}
			out[sku] = item
			c.cacheSet(ctx, skuKey(sku), item, mappingTTL)
			c.cacheSet(ctx, itemKey(numericID(item)), sku, mappingTTL)
		}
	}
	return out, nil
}

func (c *Connector) cacheSet(ctx context.Context, key, value string, ttl time.Duration) {
	if err := c.deps.Cache.Set(ctx, key, value, ttl); err != nil {
		// Handled here: a lost cache entry costs one lookup later.
		c.log.Debug().Err(err).Str("key", key).Msg("caching a Shopify mapping failed")
	}
}

// lookupVariants searches variants by SKU. Shopify's search matches
// loosely, so only exact SKU matches count; if several variants share a
// SKU the first one is taken (and logged, since stock then goes to one).
func (c *Connector) lookupVariants(ctx context.Context, skus []string) (map[string]string, error) {
	want := make(map[string]bool, len(skus))
	terms := make([]string, 0, len(skus))
	for _, s := range skus {
		want[s] = true
		terms = append(terms, "sku:"+searchQuote(s))
	}
	query := strings.Join(terms, " OR ")
	found := map[string]string{}
	var after *string
	for {
		var data struct {
			ProductVariants struct {
				PageInfo gqlPageInfo `json:"pageInfo"`
				Nodes    []struct {
					SKU           *string `json:"sku"`
					InventoryItem *struct {
						ID string `json:"id"`
					} `json:"inventoryItem"`
				} `json:"nodes"`
			} `json:"productVariants"`
		}
		if err := c.graphql(ctx, opVariants, map[string]any{"query": query, "after": after}, &data); err != nil {
			return nil, fmt.Errorf("looking up %d SKUs: %w", len(skus), err)
		}
		for _, n := range data.ProductVariants.Nodes {
			sku := str(n.SKU)
			if !want[sku] || n.InventoryItem == nil || numericID(n.InventoryItem.ID) == "" {
				continue
			}
			if prev, dup := found[sku]; dup && prev != n.InventoryItem.ID {
				c.log.Warn().Str("sku", sku).Str("kept", prev).Str("ignored", n.InventoryItem.ID).Msg("several Shopify variants share a SKU")
				continue
			}
			found[sku] = n.InventoryItem.ID
		}
		pi := data.ProductVariants.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return found, nil
		}
		cursor := pi.EndCursor
		after = &cursor
	}
}

// searchQuote quotes a value for Shopify's search syntax.
func searchQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
