package ebay

import (
	"context"
	"fmt"
	"net/url"

	"github.com/shelfsync/shelfsync/connectors"
)

var _ connectors.AccessChecker = (*Connector)(nil)

// checkPath is getInventoryItems: one page of one inventory item (limit
// 1–200, developer.ebay.com/api-docs/sell/inventory/resources/inventory_item/methods/getInventoryItems).
const checkPath = "/sell/inventory/v1/inventory_item"

// Check implements connectors.AccessChecker: a user token from the
// refresh token (refused: the seller must consent again), then one page of
// one inventory item with it, the scope the pusher needs.
func (c *Connector) Check(ctx context.Context) error {
	var page struct {
		Total int `json:"total"`
	}
	if err := c.getJSON(ctx, checkPath, url.Values{"limit": {"1"}, "offset": {"0"}}, &page); err != nil {
		return fmt.Errorf("checking the keyset and refresh token: %w", err)
	}
	return nil
}
