package ebay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	inventoryItemPath = "/sell/inventory/v1/inventory_item"
	// inventoryPageSize is the items per getInventoryItems page.
	inventoryPageSize = 100
)

type apiInventoryItem struct {
	SKU          string `json:"sku"`
	Availability struct {
		ShipToLocationAvailability struct {
			Quantity int64 `json:"quantity"`
		} `json:"shipToLocationAvailability"`
	} `json:"availability"`
}

type inventoryPage struct {
	Total          int                `json:"total"`
	InventoryItems []apiInventoryItem `json:"inventoryItems"`
}

// ReadQuantities implements connectors.QuantityReader: each SKU's
// inventory item's ship-to-location quantity. A short list is read SKU by
// SKU (getInventoryItem); a longer one pages through every inventory item
// (getInventoryItems), which costs fewer calls once the list is longer
// than a few pages' worth of the merchant's catalogue would be.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	if len(skus) <= c.opts.SmallRead {
		return c.readEach(ctx, skus)
	}
	return c.readAll(ctx, skus)
}

func (c *Connector) readEach(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	out := make([]connectors.LiveQuantity, 0, len(skus))
	for _, sku := range skus {
		if sku == "" {
			continue
		}
		var it apiInventoryItem
		err := c.getJSON(ctx, inventoryItemPath+"/"+url.PathEscape(sku), nil, &it)
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.hasError(25710)) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the quantity of SKU %s: %w", sku, err)
		}
		out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: it.Availability.ShipToLocationAvailability.Quantity})
	}
	return out, nil
}

func (c *Connector) readAll(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	want := make(map[string]bool, len(skus))
	for _, s := range skus {
		want[s] = true
	}
	found := make(map[string]int64, len(skus))
	for offset := 0; ; {
		q := url.Values{"limit": {strconv.Itoa(inventoryPageSize)}, "offset": {strconv.Itoa(offset)}}
		var page inventoryPage
		if err := c.getJSON(ctx, inventoryItemPath, q, &page); err != nil {
			return nil, fmt.Errorf("reading inventory items (offset %d): %w", offset, err)
		}
		for _, it := range page.InventoryItems {
			if want[it.SKU] {
				found[it.SKU] = it.Availability.ShipToLocationAvailability.Quantity
			}
		}
		offset += len(page.InventoryItems)
		if len(page.InventoryItems) == 0 || offset >= page.Total || len(found) == len(want) {
			break
		}
	}
	out := make([]connectors.LiveQuantity, 0, len(found))
	for _, s := range skus {
		if q, ok := found[s]; ok {
			out = append(out, connectors.LiveQuantity{SKU: s, Quantity: q})
			delete(found, s) // a SKU listed twice is reported once
		}
	}
	return out, nil
}
