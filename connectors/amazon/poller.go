package amazon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// ordersPageSize is getOrders' largest MaxResultsPerPage.
const ordersPageSize = 100

// orderSource is one version of the Orders API. The poller and FetchOrder
// see only this, so moving to v2026-01-01 (searchOrders, items inline) is a
// second implementation and a setting, not a rewrite.
type orderSource interface {
	// page returns the orders of one page updated in [since, before), items
	// included, and the token of the next page ("" after the last).
	page(ctx context.Context, since, before time.Time, token string) ([]connectors.Order, string, error)
	// fetch returns one order with its items; ErrNotFound (wrapped) if Amazon has none.
	fetch(ctx context.Context, orderID string) (*connectors.Order, error)
}

// PollOrders implements connectors.OrderPoller with getOrders by
// LastUpdatedAfter, NextToken paging and getOrderItems per order. Its upper
// bound, LastUpdatedBefore, is now less Amazon's 2-minute visibility
// delay; it is also the through it returns.
func (c *Connector) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	before := c.now().Add(-orderVisibilityDelay).UTC().Truncate(time.Second)
	since = since.UTC()
	if !since.Before(before) {
		return since, nil
	}
	token := ""
	for pageNo := 1; ; pageNo++ {
		orders, next, err := c.orders.page(ctx, since, before, token)
		if err != nil {
			return time.Time{}, fmt.Errorf("polling orders since %s, page %d: %w", since.Format(time.RFC3339), pageNo, err)
		}
		if len(orders) > 0 {
			if err := emit(ctx, orders); err != nil {
				return time.Time{}, fmt.Errorf("polling orders, page %d: emit: %w", pageNo, err)
			}
		}
		if next == "" {
			return before, nil
		}
		token = next
	}
}

// FetchOrder implements connectors.OrderFetcher: getOrder and getOrderItems.
func (c *Connector) FetchOrder(ctx context.Context, orderID string) (*connectors.Order, error) {
	o, err := c.orders.fetch(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", orderID, err)
	}
	return o, nil
}

// ordersV0 is the Orders API v0.
type ordersV0 struct{ c *Connector }

func (s *ordersV0) page(ctx context.Context, since, before time.Time, token string) ([]connectors.Order, string, error) {
	q := url.Values{"MarketplaceIds": {strings.Join(s.c.marketplace, ",")}}
	if token != "" {
		q.Set("NextToken", token)
	} else {
		q.Set("LastUpdatedAfter", since.Format(time.RFC3339))
		q.Set("LastUpdatedBefore", before.Format(time.RFC3339))
		q.Set("MaxResultsPerPage", strconv.Itoa(ordersPageSize))
		// FBA orders ship from Amazon's stock: they move none of ours.
		q.Set("FulfillmentChannels", "MFN")
	}
	var p ordersPage
	if _, err := s.c.call(ctx, opGetOrders, http.MethodGet, "/orders/v0/orders", q, nil, &p); err != nil {
		return nil, "", err
	}
	out := make([]connectors.Order, 0, len(p.Payload.Orders))
	for i := range p.Payload.Orders {
		o, err := s.withItems(ctx, &p.Payload.Orders[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, *o)
	}
	return out, p.Payload.NextToken, nil
}

func (s *ordersV0) fetch(ctx context.Context, orderID string) (*connectors.Order, error) {
	var r orderResponse
	if _, err := s.c.call(ctx, opGetOrder, http.MethodGet, "/orders/v0/orders/"+url.PathEscape(orderID), nil, nil, &r); err != nil {
		return nil, err
	}
	if r.Payload.AmazonOrderID == "" {
		return nil, fmt.Errorf("getOrder answered without an order: %w", connectors.ErrNotFound)
	}
	return s.withItems(ctx, &r.Payload)
}

// withItems reads every page of o's items and builds the canonical order.
func (s *ordersV0) withItems(ctx context.Context, o *orderV0) (*connectors.Order, error) {
	if o.isAmazonFulfilled() {
		return o.toOrder(s.c.name, nil)
	}
	var items []orderItemV0
	path := "/orders/v0/orders/" + url.PathEscape(o.AmazonOrderID) + "/orderItems"
	token := ""
	for {
		var q url.Values
		if token != "" {
			q = url.Values{"NextToken": {token}}
		}
		var p orderItemsPage
		if _, err := s.c.call(ctx, opGetOrderItems, http.MethodGet, path, q, nil, &p); err != nil {
			return nil, fmt.Errorf("items of order %s: %w", o.AmazonOrderID, err)
		}
		items = append(items, p.Payload.OrderItems...)
		if p.Payload.NextToken == "" {
			break
		}
		token = p.Payload.NextToken
	}
	return o.toOrder(s.c.name, items)
}
