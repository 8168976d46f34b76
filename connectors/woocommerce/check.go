package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/shelfsync/shelfsync/connectors"
)

var _ connectors.AccessChecker = (*Connector)(nil)

// Check implements connectors.AccessChecker: one product (GET
// /products?per_page=1), which proves the store answers at its API path
// and accepts the consumer key. It can not prove the key may write (only
// a write would): a read-only key passes here and fails the first push.
func (c *Connector) Check(ctx context.Context) error {
	if _, err := c.call(ctx, http.MethodGet, "/products", url.Values{"per_page": {"1"}}, nil, nil); err != nil {
		return fmt.Errorf("checking the REST API key: %w", err)
	}
	return nil
}
