package woocommerce

import (
	"net/http"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/connectortest"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// TestContract runs the pusher and reader contract every connector keeps
// against a fresh fake store behind a connectortest.Proxy.
func TestContract(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) *connectortest.Channel {
		s := newFake(t, woocommercetest.Options{})
		proxy := connectortest.NewProxy(t, s.URL())
		f := newTestConnector(t, s, func(st *Settings, _ *Credentials, _ *connectors.Deps) { st.URL = proxy.URL })
		return &connectortest.Channel{
			Pusher: f.c,
			Reader: f.c,
			List: func(sku string, qty int64) {
				s.AddProduct(woocommercetest.Product{SKU: sku, ManageStock: true, Stock: qty})
			},
			Listed: s.Listed,
			Refuse: func(sku string) {
				s.FailItem(sku, "woocommerce_rest_invalid_stock", "Stock quantity is invalid.", http.StatusBadRequest)
			},
			Proxy: proxy,
		}
	})
}
