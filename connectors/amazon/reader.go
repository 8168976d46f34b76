package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/connectors"
)

// ReadQuantities implements connectors.QuantityReader: getListingsItem per
// SKU with includedData=fulfillmentAvailability, a few at a time under its
// limiter. SKUs Amazon does not know, and listings without a
// merchant-fulfilled (DEFAULT) quantity, are left out.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	got := make([]*connectors.LiveQuantity, len(skus))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.workers)
	for i, sku := range skus {
		g.Go(func() error {
			q, ok, err := c.readOne(gctx, sku)
			if err != nil {
				return err
			}
			if ok {
				got[i] = &connectors.LiveQuantity{SKU: sku, Quantity: q}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]connectors.LiveQuantity, 0, len(skus))
	for _, q := range got {
		if q != nil {
			out = append(out, *q)
		}
	}
	return out, nil
}

func (c *Connector) readOne(ctx context.Context, sku string) (int64, bool, error) {
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID) + "/" + url.PathEscape(sku)
	q := url.Values{"marketplaceIds": {strings.Join(c.marketplace, ",")}, "includedData": {"fulfillmentAvailability"}}
	var item listingsItem
	if _, err := c.call(ctx, opGetListingsItem, http.MethodGet, path, q, nil, &item); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("reading %s: %w", sku, err)
	}
	n, ok := item.merchantQuantity()
	return n, ok, nil
}
