package woocommerce

import (
	"context"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

// ReadQuantities implements connectors.QuantityReader: the stock_quantity
// of each SKU's product or variation, read fresh with the SKU lookup
// (GET /products?sku=…, 25 SKUs a call), which also refreshes the cached
// mappings. Left out: SKUs the store does not know, and listings whose
// stock WooCommerce does not manage (no quantity to compare; counted in
// shelfsync_woocommerce_unmanaged_stock_total{source="read"}). A negative
// quantity (an oversold product with backorders) is read as it is.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	var want []string
	seen := map[string]bool{}
	for _, s := range skus {
		if s != "" && !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	found, err := c.lookup(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("reading quantities: %w", err)
	}
	out := make([]connectors.LiveQuantity, 0, len(found))
	for _, sku := range want {
		l, ok := found[sku]
		if !ok {
			continue
		}
		if l.manage != manageYes || !l.stock.set {
			c.metrics.unmanaged.WithLabelValues("read").Inc()
			continue
		}
		if l.stock.v > connectors.MaxQuantity || l.stock.v < -connectors.MaxQuantity {
			c.log.Warn().Str("sku", sku).Int64("stock_quantity", l.stock.v).Msg("WooCommerce stock quantity out of range, left out")
			continue
		}
		out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: l.stock.v})
	}
	return out, nil
}
