package shopify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
)

var _ connectors.AccessChecker = (*Connector)(nil)

// Check implements connectors.AccessChecker: the levels query the
// reconcile sends, for no inventory item (nodes' ids is [ID!]!, a list
// that may be empty: shopify.dev/docs/api/admin-graphql/latest/queries/nodes),
// at the push location. It costs one point of the bucket, proves the
// access token is accepted (401/403 otherwise) and the API version is
// served, and reads nothing.
func (c *Connector) Check(ctx context.Context) error {
	var data struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	if err := c.graphql(ctx, opLevels, map[string]any{"ids": []string{}, "location": c.pushLocation}, &data); err != nil {
		return fmt.Errorf("checking the access token: %w", err)
	}
	return nil
}
