package shopify

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// PollOrders implements connectors.OrderPoller with the orders query
// (updated_at:>=since, sorted by update time), one emit per page of
// c.pageSize orders. Shopify stops cursor pagination after 25,000
// objects: through then lets the next poll go on from there.
func (c *Connector) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	query := fmt.Sprintf("updated_at:>='%s'", since.UTC().Format(time.RFC3339))
	through := since
	var after *string
	for {
		var data struct {
			Orders struct {
				PageInfo gqlPageInfo `json:"pageInfo"`
				Nodes    []gqlOrder  `json:"nodes"`
			} `json:"orders"`
		}
		vars := map[string]any{"first": c.pageSize, "after": after, "query": query}
		if err := c.graphql(ctx, opOrders, vars, &data); err != nil {
			return through, fmt.Errorf("polling orders since %s: %w", since.UTC().Format(time.RFC3339), err)
		}
		page := make([]connectors.Order, 0, len(data.Orders.Nodes))
		for i := range data.Orders.Nodes {
			o, err := c.canonical(ctx, &data.Orders.Nodes[i], "poll")
			if err != nil {
				return through, fmt.Errorf("polling orders: %w", err)
			}
			if o.UpdatedAt.After(through) {
				through = o.UpdatedAt
			}
			page = append(page, *o)
		}
		if len(page) > 0 {
			if err := emit(ctx, page); err != nil {
				return through, fmt.Errorf("polling orders: emit: %w", err)
			}
		}
		if !data.Orders.PageInfo.HasNextPage || data.Orders.PageInfo.EndCursor == "" {
			return through, nil
		}
		cursor := data.Orders.PageInfo.EndCursor
		after = &cursor
	}
}

// FetchOrder implements connectors.OrderFetcher. orderID is the numeric
// id (or a GID).
func (c *Connector) FetchOrder(ctx context.Context, orderID string) (*connectors.Order, error) {
	id := numericID(orderID)
	if id == "" {
		return nil, fmt.Errorf("fetching order %q: not a Shopify order id: %w", orderID, connectors.ErrNotFound)
	}
	var data struct {
		Order *gqlOrder `json:"order"`
	}
	if err := c.graphql(ctx, opOrder, map[string]any{"id": gid("Order", id)}, &data); err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, err)
	}
	if data.Order == nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, connectors.ErrNotFound)
	}
	o, err := c.canonical(ctx, data.Order, "fetch")
	if err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, err)
	}
	return o, nil
}

// canonical completes an order's lines beyond the first page and maps it.
func (c *Connector) canonical(ctx context.Context, o *gqlOrder, source string) (*connectors.Order, error) {
	for pi := o.LineItems.PageInfo; pi.HasNextPage && pi.EndCursor != ""; {
		var data struct {
			Order *struct {
				LineItems gqlLineItems `json:"lineItems"`
			} `json:"order"`
		}
		if err := c.graphql(ctx, opOrderLines, map[string]any{"id": o.ID, "after": pi.EndCursor}, &data); err != nil {
			return nil, fmt.Errorf("order %s: more lines: %w", o.ID, err)
		}
		if data.Order == nil {
			return nil, fmt.Errorf("order %s: gone while reading its lines: %w", o.ID, connectors.ErrNotFound)
		}
		o.LineItems.Nodes = append(o.LineItems.Nodes, data.Order.LineItems.Nodes...)
		pi = data.Order.LineItems.PageInfo
	}
	src, err := o.source()
	if err != nil {
		return nil, err
	}
	out, err := src.toCanonical(c.deps.Channel.Name, c.locations)
	if err != nil {
		return nil, err
	}
	if n := noSKULines(out); n > 0 {
		c.metrics.noSKULines.WithLabelValues(source).Add(float64(n))
	}
	return out, nil
}
