package woocommerce

import "github.com/shelfsync/shelfsync/connectors"

// checkSKU is connectors.CheckSKU for a line that has a SKU: WooCommerce
// sells lines without one ("" is such a line, moving no stock).
func checkSKU(v string) error {
	if v == "" {
		return nil
	}
	return connectors.CheckSKU(v)
}
