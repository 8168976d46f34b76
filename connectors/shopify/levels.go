package shopify

import (
	"context"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// allLevelsPerQuery bounds the items of one ShelfsyncAllLevels query: each
// asks for up to 50 levels, so 15 items stay under the 1000-point single
// query limit.
const allLevelsPerQuery = 15

// readAllLevels is ReadQuantities on a per-location channel: every
// location's level of each SKU's item, one LiveQuantity per (SKU,
// location). A level at a location mapped from a shelfsync location
// names that location (Location); one at any other location names the
// Shopify location (ChannelLocation, its GID): Shopify sells the sum of
// them all, so reconcile reports, and may zero, what those hold.
func (c *Connector) readAllLevels(ctx context.Context, skus []string, items map[string]string) ([]connectors.LiveQuantity, error) {
	bySKU := map[string]string{}
	var ids []string
	for _, sku := range skus {
		if it, ok := items[sku]; ok && bySKU[it] == "" {
			bySKU[it] = sku
			ids = append(ids, it)
		}
	}
	var out []connectors.LiveQuantity
	for start := 0; start < len(ids); start += allLevelsPerQuery {
		chunk := ids[start:min(start+allLevelsPerQuery, len(ids))]
		var data struct {
			Nodes []*struct {
				ID              string `json:"id"`
				InventoryLevels *struct {
					Nodes []struct {
						Location *struct {
							ID string `json:"id"`
						} `json:"location"`
						Quantities []struct {
							Name     string `json:"name"`
							Quantity int64  `json:"quantity"`
						} `json:"quantities"`
					} `json:"nodes"`
				} `json:"inventoryLevels"`
			} `json:"nodes"`
		}
		if err := c.graphql(ctx, opAllLevels, map[string]any{"ids": chunk}, &data); err != nil {
			return nil, fmt.Errorf("reading quantities: %d items' levels: %w", len(chunk), err)
		}
		for _, n := range data.Nodes {
			if n == nil || n.InventoryLevels == nil {
				continue
			}
			for _, l := range n.InventoryLevels.Nodes {
				if l.Location == nil {
					continue
				}
				for _, q := range l.Quantities {
					if q.Name == "available" {
						out = append(out, c.liveAt(bySKU[n.ID], l.Location.ID, q.Quantity))
					}
				}
			}
		}
	}
	return out, nil
}

// liveAt is the level of sku at Shopify location loc (a GID).
func (c *Connector) liveAt(sku, loc string, q int64) connectors.LiveQuantity {
	lq := connectors.LiveQuantity{SKU: sku, Quantity: q}
	if l, ok := c.locations[numericID(loc)]; ok && c.locationGIDs[l] != "" && c.mapped(l) {
		lq.Location = l
	} else {
		lq.ChannelLocation = gid("Location", numericID(loc))
	}
	return lq
}

// mapped says shelfsync location l is one the channel sells from.
func (c *Connector) mapped(l string) bool {
	for _, x := range c.deps.Channel.Locations {
		if x == l {
			return true
		}
	}
	return false
}
