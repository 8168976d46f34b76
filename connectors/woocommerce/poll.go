package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// pollStatuses are the passes of a poll. "any" leaves out trashed orders
// (WP_Query's "any" skips statuses excluded from search), and the REST
// API takes "any" alone (WC_REST_Orders_Controller::prepare_objects_query
// stops at it), so trashed orders are a pass of their own: the backstop
// of a missed order.deleted webhook.
var pollStatuses = []string{"any", "trash"}

// PollOrders implements connectors.OrderPoller with GET /orders
// (https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders):
// modified_after with dates_are_gmt=true (WooCommerce 5.8 and 5.4), in
// pages of Settings.PageSize (≤ 100) ordered by id, first every order
// but the trashed ones, then the trashed ones; one emit per page.
//
// modified_after is exclusive and date_modified_gmt has whole seconds, so
// the query asks for orders modified after since − 1 s, cut to the
// second: an order modified in since's own second is read.
//
// Pages are numbered (page=N), so an order leaving the result while the
// poll pages (moved to the trash) would shift the next one onto a page
// already read. Every answer's X-WP-Total is compared with the last one;
// when it fell, the page just read is read again (orders seen twice are
// harmless). Orders modified during the poll stay in the result (they
// still match modified_after) and new ones come last (ordered by id).
//
// Orders that name refunds get their refunds read (GET
// /orders/{id}/refunds), one call per such order. An order the ledger
// would refuse is skipped, logged and counted; a checkout draft is
// skipped and counted.
//
// through is the channel's "as of" time when every page was read: the
// connector's clock read before the first request, cut to whole seconds,
// never earlier than since. After an error it is since: pages come by id,
// not by modification time, so no later time is known to be complete.
func (c *Connector) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	asOf := c.deps.Now().UTC().Truncate(time.Second)
	if asOf.Before(since) {
		asOf = since
	}
	after := ""
	if !since.IsZero() {
		after = formatGMT(since.UTC().Truncate(time.Second).Add(-time.Second))
	}
	for _, status := range pollStatuses {
		if err := c.pollPass(ctx, status, after, emit); err != nil {
			return since, fmt.Errorf("polling orders since %s: %w", since.UTC().Format(time.RFC3339), err)
		}
	}
	return asOf, nil
}

// pollPass reads every page of one status pass.
func (c *Connector) pollPass(ctx context.Context, status, after string, emit func(context.Context, []connectors.Order) error) error {
	lastTotal := -1
	for page, reads := 1, 0; ; reads++ {
		if reads > 10000 {
			return errors.New("more than 10000 page reads in one pass: the store's order count keeps falling")
		}
		var orders []wcOrder
		h, err := c.call(ctx, "GET", "/orders", c.pollQuery(status, after, page), nil, &orders)
		if err != nil {
			return err
		}
		if t, ok := total(h); ok {
			back := c.pagesBack(lastTotal, t, page)
			lastTotal = t
			if back > 0 {
				page = max(page-back, 1)
				continue
			}
		}
		if err := c.emitPage(ctx, orders, emit); err != nil {
			return err
		}
		pages, ok := totalPages(h)
		switch {
		case len(orders) == 0:
			return nil
		case ok && page >= pages:
			return nil
		case !ok && len(orders) < c.pageSize:
			return nil
		}
		page++
	}
}

// pollQuery is one page of a pass: the status's orders by id, modified
// after after (GMT; "" for every order).
func (c *Connector) pollQuery(status, after string, page int) url.Values {
	q := url.Values{}
	q.Set("status", status)
	q.Set("per_page", strconv.Itoa(c.pageSize))
	q.Set("page", strconv.Itoa(page))
	q.Set("orderby", "id")
	q.Set("order", "asc")
	q.Set("dates_are_gmt", "true")
	if after != "" {
		q.Set("modified_after", after)
	}
	return q
}

// pagesBack is how many pages to step back when the result's total fell
// from lastTotal (-1: none seen yet) to t while reading page: orders left
// the result, so as many of the orders from here on moved onto the pages
// before. Read those again first. 0 when nothing moved.
func (c *Connector) pagesBack(lastTotal, t, page int) int {
	if lastTotal >= 0 && t < lastTotal && page > 1 {
		return (lastTotal - t + c.pageSize - 1) / c.pageSize
	}
	return 0
}

// emitPage maps a page's orders and hands them on in one batch; drafts
// and orders the ledger would refuse are skipped.
func (c *Connector) emitPage(ctx context.Context, orders []wcOrder, emit func(context.Context, []connectors.Order) error) error {
	batch := make([]connectors.Order, 0, len(orders))
	for i := range orders {
		o, err := c.complete(ctx, &orders[i], "poll")
		if errors.Is(err, errNotAnOrder) {
			continue
		}
		if reason := connectors.RefusalReason(err); reason != "" {
			// One impossible order must not stop every poll from here
			// on: skipped, counted, logged.
			c.metrics.refusedOrders.WithLabelValues("poll", reason).Inc()
			c.log.Warn().Err(err).Str("reason", reason).Msg("WooCommerce order skipped: the ledger would refuse it")
			continue
		}
		if err != nil {
			return err
		}
		batch = append(batch, *o)
	}
	if len(batch) > 0 {
		if err := emit(ctx, batch); err != nil {
			return fmt.Errorf("emit: %w", err)
		}
	}
	return nil
}

// FetchOrder implements connectors.OrderFetcher with GET /orders/{id}
// (#retrieve-an-order), and GET /orders/{id}/refunds when it names
// refunds. A trashed order reads with status trash (a cancellation). A
// permanently deleted order, or a checkout draft, is ErrNotFound.
func (c *Connector) FetchOrder(ctx context.Context, orderID string) (*connectors.Order, error) {
	id, err := strconv.ParseInt(orderID, 10, 64)
	if err != nil || id <= 0 {
		return nil, fmt.Errorf("fetching order %q: not a WooCommerce order id: %w", orderID, connectors.ErrNotFound)
	}
	var o wcOrder
	if _, err := c.call(ctx, "GET", "/orders/"+strconv.FormatInt(id, 10), nil, nil, &o); err != nil {
		return nil, fmt.Errorf("fetching order %d: %w", id, err)
	}
	out, err := c.complete(ctx, &o, "fetch")
	if errors.Is(err, errNotAnOrder) {
		return nil, fmt.Errorf("fetching order %d: %w: %w", id, err, connectors.ErrNotFound)
	}
	if reason := connectors.RefusalReason(err); reason != "" {
		// An error, not "not found": the fetch queue retries it and
		// dead-letters it in the end, where it can be seen.
		c.metrics.refusedOrders.WithLabelValues("fetch", reason).Inc()
		return nil, fmt.Errorf("fetching order %d: the ledger would refuse it: %w", id, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching order %d: %w", id, err)
	}
	return out, nil
}

// complete reads the refunds an order names and maps it; what the ledger
// would refuse (a date_modified_gmt more than MaxClockSkew ahead among it)
// is a *refusal, a draft errNotAnOrder.
func (c *Connector) complete(ctx context.Context, o *wcOrder, source string) (*connectors.Order, error) {
	var refunds []wcRefund
	if needsRefunds(o) {
		id, err := o.ID.id("order id")
		if err != nil {
			return nil, err
		}
		if refunds, err = c.refunds(ctx, id); err != nil {
			return nil, err
		}
	}
	res, err := c.mapping.canonical(o, refunds)
	if errors.Is(err, errNotAnOrder) {
		c.metrics.draftOrders.WithLabelValues(source).Inc()
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := connectors.CheckVersion("date_modified_gmt", res.order.UpdatedAt, c.deps.Now()); err != nil {
		return nil, fmt.Errorf("order %s: %w", res.order.OrderID, err)
	}
	if res.noSKULines > 0 {
		c.metrics.noSKULines.WithLabelValues(source).Add(float64(res.noSKULines))
	}
	if res.unknownStatus {
		c.metrics.unknownStatus.WithLabelValues(source).Inc()
	}
	return res.order, nil
}

// refunds reads every refund of an order (#list-all-refunds), page by page.
func (c *Connector) refunds(ctx context.Context, orderID int64) ([]wcRefund, error) {
	var all []wcRefund
	for page := 1; ; page++ {
		q := url.Values{}
		q.Set("per_page", strconv.Itoa(MaxPageSize))
		q.Set("page", strconv.Itoa(page))
		var rs []wcRefund
		h, err := c.call(ctx, "GET", "/orders/"+strconv.FormatInt(orderID, 10)+"/refunds", q, nil, &rs)
		if err != nil {
			return nil, fmt.Errorf("order %d: reading its refunds: %w", orderID, err)
		}
		all = append(all, rs...)
		pages, ok := totalPages(h)
		if len(rs) == 0 || (ok && page >= pages) || (!ok && len(rs) < MaxPageSize) || page >= 1000 {
			return all, nil
		}
	}
}
