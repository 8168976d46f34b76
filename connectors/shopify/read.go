package shopify

import (
	"context"
	"errors"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// levelsPerQuery bounds the ids of one nodes() query (Shopify takes 250;
// fewer keep the requested cost low).
const levelsPerQuery = 100

// ReadQuantities implements connectors.QuantityReader: the "available"
// quantity of each SKU at the channel's push location. SKUs without a
// variant, or not stocked at that location, are left out.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	if c.pushLocation == "" {
		return nil, errors.New("reading quantities: no Shopify location configured for the channel")
	}
	items, err := c.resolve(ctx, skus)
	if err != nil {
		return nil, fmt.Errorf("reading quantities: %w", err)
	}
	ids := make([]string, 0, len(items))
	for _, sku := range skus {
		if it, ok := items[sku]; ok {
			ids = append(ids, it)
		}
	}
	if c.perLocation {
		return c.readAllLevels(ctx, skus, items)
	}
	levels, err := c.readLevels(ctx, ids, c.pushLocation)
	if err != nil {
		return nil, fmt.Errorf("reading quantities: %w", err)
	}
	out := make([]connectors.LiveQuantity, 0, len(levels))
	seen := map[string]bool{}
	for _, sku := range skus {
		q, ok := levels[items[sku]]
		if !ok || seen[sku] {
			continue
		}
		seen[sku] = true
		out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: q})
	}
	return out, nil
}

// readLevels returns the available quantity at location (a GID) of each
// inventory item (GIDs) that is stocked there.
func (c *Connector) readLevels(ctx context.Context, items []string, location string) (map[string]int64, error) {
	out := make(map[string]int64, len(items))
	for start := 0; start < len(items); start += levelsPerQuery {
		chunk := items[start:min(start+levelsPerQuery, len(items))]
		var data struct {
			Nodes []*struct {
				ID             string `json:"id"`
				InventoryLevel *struct {
					Quantities []struct {
						Name     string `json:"name"`
						Quantity int64  `json:"quantity"`
					} `json:"quantities"`
				} `json:"inventoryLevel"`
			} `json:"nodes"`
		}
		if err := c.graphql(ctx, opLevels, map[string]any{"ids": chunk, "location": location}, &data); err != nil {
			return nil, fmt.Errorf("reading %d inventory levels: %w", len(chunk), err)
		}
		for _, n := range data.Nodes {
			if n == nil || n.InventoryLevel == nil {
				continue
			}
			for _, q := range n.InventoryLevel.Quantities {
				if q.Name == "available" {
					out[n.ID] = q.Quantity
				}
			}
		}
	}
	return out, nil
}
