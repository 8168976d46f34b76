package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// ordersPageSize is the largest page of getOrders (MaxResultsPerPage) and
// of searchOrders (maxResultsPerPage): 1–100 in both models.
const ordersPageSize = 100

// orderSource is one version of the Orders API. The poller and FetchOrder
// see only this; amazon.orders_api picks one (v2026-01-01 by default).
type orderSource interface {
	// page returns the orders of one page updated in [since, before), items
	// included, and the token of the next page ("" after the last).
	page(ctx context.Context, since, before time.Time, token string) ([]connectors.Order, string, error)
	// fetch returns one order with its items; ErrNotFound (wrapped) if Amazon has none.
	fetch(ctx context.Context, orderID string) (*connectors.Order, error)
}

// newOrderSource is the source of amazon.orders_api (validated: v0 or
// v2026-01-01); shipTo: v2026-01-01 asks for the RECIPIENT dataset too.
func newOrderSource(c *Connector, api string, shipTo bool) orderSource {
	if api == OrdersV0 {
		return &ordersV0{c: c}
	}
	o := &ordersV2026{c: c}
	o.recipient = connectors.NewOptionalPart(shipTo, recipientRefused, o.droppedRecipient)
	return o
}

// PollOrders implements connectors.OrderPoller: orders updated from since
// up to LastUpdatedBefore, which is now less Amazon's two-minute
// visibility delay (searchOrders with items inline, or getOrders then
// getOrderItems per order, per amazon.orders_api). The time it returns
// never comes before since: on success it is LastUpdatedBefore, the
// moment Amazon's answer is complete up to; when that moment is not
// after since yet, nothing is asked and since comes back; on an error
// since comes back too (pages are not in update order, so no later time
// is safe). So a caller's cursor never moves back past its own since.
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
			return since, fmt.Errorf("polling orders since %s, page %d: %w", since.Format(time.RFC3339), pageNo, err)
		}
		if len(orders) > 0 {
			if err := emit(ctx, orders); err != nil {
				return since, fmt.Errorf("polling orders, page %d: emit: %w", pageNo, err)
			}
		}
		if next == "" {
			return before, nil
		}
		token = next
	}
}

// FetchOrder implements connectors.OrderFetcher: getOrder (v2026-01-01,
// items inline), or getOrder and getOrderItems (v0).
func (c *Connector) FetchOrder(ctx context.Context, orderID string) (*connectors.Order, error) {
	o, err := c.orders.fetch(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("fetching order %s: %w", orderID, err)
	}
	return o, nil
}

// ordersV0 is the Orders API v0 (models/orders-api-model/ordersV0.json):
// getOrders by LastUpdatedAfter/LastUpdatedBefore, MFN only, NextToken
// paging (the token alone), then getOrderItems per order.
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

// ordersV2026 is the Orders API v2026-01-01 (models/orders-api-model/
// orders_2026-01-01.json): searchOrders, whose orders carry their items,
// so a page is one call; getOrder, items always included. The FULFILLMENT
// dataset brings what moves stock: the order's fulfillmentStatus and
// fulfilledBy, and each item's quantityFulfilled.
type ordersV2026 struct {
	c *Connector
	// recipient: includedData is FULFILLMENT and RECIPIENT (the order's
	// destination, for routing), else FULFILLMENT only. It starts as
	// amazon.read_ship_to and is cleared for the process the first time
	// Amazon refuses RECIPIENT (the Direct-to-Consumer Delivery role is
	// "required to access shipping address information"), so an order
	// read never fails for its destination: the orders have none.
	recipient *connectors.OptionalPart
}

// includedData2026 is the dataset the connector needs; withRecipient adds
// the delivery address (recipient.deliveryAddress: its countryCode and
// stateOrRegion are not PII, "Access Orders PII").
const (
	includedData2026 = "FULFILLMENT"
	withRecipient    = ",RECIPIENT"
)

func (s *ordersV2026) page(ctx context.Context, since, before time.Time, token string) ([]connectors.Order, string, error) {
	// A paginationToken comes back with every other parameter unchanged
	// (maxResultsPerPage and includedData may change, and do not here).
	q := url.Values{
		"lastUpdatedAfter":  {since.Format(time.RFC3339)},
		"lastUpdatedBefore": {before.Format(time.RFC3339)},
		"marketplaceIds":    {strings.Join(s.c.marketplace, ",")},
		// FBA orders ship from Amazon's stock: they move none of ours.
		"fulfilledBy":       {"MERCHANT"},
		"maxResultsPerPage": {strconv.Itoa(ordersPageSize)},
	}
	if token != "" {
		q.Set("paginationToken", token)
	}
	var p searchOrdersPage
	if err := s.get(ctx, opSearchOrders, "/orders/2026-01-01/orders", q, &p); err != nil {
		return nil, "", err
	}
	out := make([]connectors.Order, 0, len(p.Orders))
	for i := range p.Orders {
		if p.Orders[i].isAmazonFulfilled() {
			continue // asked for MERCHANT only; never count on it
		}
		o, err := p.Orders[i].toOrder(s.c.name)
		if err != nil {
			return nil, "", fmt.Errorf("searchOrders response: %w", err)
		}
		out = append(out, *o)
	}
	return out, p.Pagination.NextToken, nil
}

func (s *ordersV2026) fetch(ctx context.Context, orderID string) (*connectors.Order, error) {
	var r getOrderResponse2026
	if err := s.get(ctx, opGetOrder2026, "/orders/2026-01-01/orders/"+url.PathEscape(orderID), url.Values{}, &r); err != nil {
		return nil, err
	}
	if r.Order == nil || r.Order.OrderID == "" {
		return nil, fmt.Errorf("getOrder answered without an order: %w", connectors.ErrNotFound)
	}
	o, err := r.Order.toOrder(s.c.name)
	if err != nil {
		return nil, fmt.Errorf("getOrder response: %w", err)
	}
	return o, nil
}

// get makes one searchOrders or getOrder call with the includedData the
// source asks for (s.recipient, a connectors.OptionalPart). If Amazon
// refuses a call that asks for RECIPIENT (see recipientRefused), the same
// call is made without it; if that one succeeds, RECIPIENT is not asked
// for again in this process. A refusal the second call shares (not the
// dataset's) drops nothing.
func (s *ordersV2026) get(ctx context.Context, op, path string, q url.Values, out any) error {
	return s.recipient.Read(func(with bool) error {
		q.Set("includedData", includedData2026)
		if with {
			q.Set("includedData", includedData2026+withRecipient)
		}
		_, err := s.c.call(ctx, op, http.MethodGet, path, q, nil, out)
		return err
	})
}

// recipientRefused is how Amazon may refuse the RECIPIENT dataset to an
// app without the Direct-to-Consumer Delivery role: a 400 or 403 whose
// code or message names the dataset, a role or access. The wording is not
// documented; for v0 an address call was answered 400 InvalidInput
// "Application do not have access to some or all requested resource"
// (jlevers/selling-partner-api#550), and SP-API's 403 reads "Access to
// requested resource is denied.".
func recipientRefused(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusForbidden) {
		return false
	}
	m := strings.ToLower(ae.Code + " " + ae.Message)
	for _, w := range []string{"recipient", "role", "access"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// droppedRecipient is s.recipient's hook: Amazon refused RECIPIENT once.
func (s *ordersV2026) droppedRecipient(err error) {
	s.c.metrics.shipToRefused.Inc()
	s.c.log.Warn().Err(err).Msg("amazon refused the RECIPIENT dataset (the Direct-to-Consumer Delivery role): orders are read without their destination until restart, so routing's region rule sees none; amazon.read_ship_to: false stops asking")
}
