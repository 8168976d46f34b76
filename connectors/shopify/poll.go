package shopify

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxPaginated is how many objects Shopify pages through with cursors
// before it stops (https://shopify.dev/docs/api/usage/limits,
// "Pagination limits": 25,000).
const maxPaginated = 25000

// PollOrders implements connectors.OrderPoller with the orders query
// (updated_at:>=since, sorted by update time), one emit per page of
// c.pageSize orders.
//
// through is the channel's own "as of" time when every page was read:
// the connector's clock read before the first page was asked for, cut to
// whole seconds (Shopify's updated_at has whole seconds), never earlier
// than since. Every change Shopify had made by then is in the pages, so
// a quiet channel's cursor moves with the clock instead of staying at
// since (and the caller's next window, from the cursor minus its
// overlap, does not grow on every poll); the overlap covers the clocks'
// skew and the search index's delay. When the next page would pass
// maxPaginated orders (Shopify pages no further), or on an error,
// through is the newest updated_at seen (since if none), so the next
// poll goes on from there.
func (c *Connector) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	asOf := c.deps.Now().UTC().Truncate(time.Second)
	if asOf.Before(since) {
		asOf = since
	}
	query := fmt.Sprintf("updated_at:>='%s'", since.UTC().Format(time.RFC3339))
	newest := since
	var after *string
	read := 0
	for {
		var data struct {
			Orders struct {
				PageInfo gqlPageInfo `json:"pageInfo"`
				Nodes    []gqlOrder  `json:"nodes"`
			} `json:"orders"`
		}
		vars := map[string]any{"first": c.pageSize, "after": after, "query": query}
		if err := c.orderQuery(ctx, opOrders, vars, &data); err != nil {
			return newest, fmt.Errorf("polling orders since %s: %w", since.UTC().Format(time.RFC3339), err)
		}
		page := make([]connectors.Order, 0, len(data.Orders.Nodes))
		for i := range data.Orders.Nodes {
			o, err := c.canonical(ctx, &data.Orders.Nodes[i], "poll")
			if reason := connectors.RefusalReason(err); reason != "" {
				// One impossible order must not stop every poll from
				// here on: it is skipped, counted and logged, and its
				// version never becomes the cursor.
				c.metrics.refusedOrders.WithLabelValues("poll", reason).Inc()
				c.log.Warn().Err(err).Str("order", data.Orders.Nodes[i].ID).Str("reason", reason).
					Msg("Shopify order skipped: the ledger would refuse it")
				continue
			}
			if err != nil {
				return newest, fmt.Errorf("polling orders: %w", err)
			}
			if o.UpdatedAt.After(newest) {
				newest = o.UpdatedAt
			}
			page = append(page, *o)
		}
		read += len(page)
		if len(page) > 0 {
			if err := emit(ctx, page); err != nil {
				return newest, fmt.Errorf("polling orders: emit: %w", err)
			}
		}
		if !data.Orders.PageInfo.HasNextPage || data.Orders.PageInfo.EndCursor == "" {
			return asOf, nil
		}
		if read+c.pageSize > c.maxPaginated {
			// Shopify pages no further: the next poll goes on from the
			// newest order read (pages come sorted by update time).
			c.log.Warn().Int("orders", read).Time("through", newest).Msg("poll stopped at Shopify's pagination limit")
			return newest, nil
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
	if err := c.orderQuery(ctx, opOrder, map[string]any{"id": gid("Order", id)}, &data); err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, err)
	}
	if data.Order == nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, connectors.ErrNotFound)
	}
	o, err := c.canonical(ctx, data.Order, "fetch")
	if reason := connectors.RefusalReason(err); reason != "" {
		// An error, not "not found": the fetch queue retries it and
		// dead-letters it in the end, where it can be seen.
		c.metrics.refusedOrders.WithLabelValues("fetch", reason).Inc()
		return nil, fmt.Errorf("fetching order %s: the ledger would refuse it: %w", id, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", id, err)
	}
	return o, nil
}

// canonical completes an order's lines beyond the first page and maps it;
// what the ledger would refuse (an updatedAt more than MaxClockSkew past
// the clock among it) is a *refusal.
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
	if err := connectors.CheckVersion("updatedAt", out.UpdatedAt, c.deps.Now()); err != nil {
		return nil, fmt.Errorf("order %s: %w", out.OrderID, err)
	}
	if n := noSKULines(out); n > 0 {
		c.metrics.noSKULines.WithLabelValues(source).Add(float64(n))
	}
	return out, nil
}
