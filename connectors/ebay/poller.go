package ebay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	ordersPath = "/sell/fulfillment/v1/order"
	// ordersPageSize is getOrders' largest page.
	ordersPageSize = 200
	// filterTimeFormat is the form eBay's filter takes: UTC, milliseconds, Z.
	filterTimeFormat = "2006-01-02T15:04:05.000Z"
	// lookBack is how far back getOrders' filter may reach (90 days); a
	// minute is kept off so the request is not refused on a clock skew.
	lookBack = 90*24*time.Hour - time.Minute
)

// modifiedSince is the getOrders filter for orders modified at or after t.
// url.Values percent-encodes its brackets, as eBay requires.
func modifiedSince(t time.Time) string {
	return "lastmodifieddate:[" + t.UTC().Format(filterTimeFormat) + "..]"
}

// PollOrders implements connectors.OrderPoller with getOrders filtered by
// last modification date, paged by limit and offset until total is
// reached. since is clamped to the 90 days eBay can reach. eBay leaves
// out orders awaiting payment; they come through notifications and
// getOrder.
//
// through is the time the channel was read "as of": the connector's clock
// just before the first page was asked for (never earlier than since),
// returned once every page is read. A change eBay had recorded by then
// matched this walk's filter, whatever the orders' own dates, so the
// caller may store it as its cursor: a quiet channel's window (cursor
// minus the caller's overlap) then moves forward with the clock instead
// of reaching back by the overlap at every poll. The overlap still covers
// a skew between this clock and eBay's, and eBay's own indexing delay. On
// an error through is, as before, the newest lastModifiedDate emitted, or
// since (clamped) when none was.
func (c *Connector) PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Order) error) (time.Time, error) {
	if floor := c.deps.Now().Add(-lookBack); since.Before(floor) {
		since = floor
	}
	since = since.UTC().Truncate(time.Millisecond)
	through := since
	var asOf time.Time // set just before the first page's request
	for offset := 0; ; {
		q := url.Values{
			"filter": {modifiedSince(since)},
			"limit":  {strconv.Itoa(ordersPageSize)},
			"offset": {strconv.Itoa(offset)},
		}
		if asOf.IsZero() {
			asOf = c.deps.Now().UTC()
		}
		var page ordersPage
		if err := c.getJSON(ctx, ordersPath, q, &page); err != nil {
			return through, fmt.Errorf("polling orders modified since %s (offset %d): %w", since.Format(filterTimeFormat), offset, err)
		}
		orders := make([]connectors.Order, 0, len(page.Orders))
		for i := range page.Orders {
			o, err := c.order(&page.Orders[i])
			if reason := connectors.RefusalReason(err); reason != "" {
				// One impossible order must not stop every poll from
				// here on: it is skipped, counted and logged. (Its
				// version never becomes the cursor.)
				c.metrics.refusedOrders.WithLabelValues("poll", reason).Inc()
				c.log.Warn().Err(err).Str("order", page.Orders[i].OrderID).Str("reason", reason).
					Msg("eBay order skipped: the ledger would refuse it")
				continue
			}
			if err != nil {
				return through, fmt.Errorf("polling orders (offset %d): %w", offset, err)
			}
			c.countNoSKU(o)
			orders = append(orders, *o)
		}
		if len(orders) > 0 {
			if err := emit(ctx, orders); err != nil {
				return through, fmt.Errorf("polling orders: emit: %w", err)
			}
			for _, o := range orders {
				if o.UpdatedAt.After(through) {
					through = o.UpdatedAt
				}
			}
		}
		offset += len(page.Orders)
		// An empty page ends the walk even if total says more: eBay's
		// total can shrink while paging, and a loop must not spin.
		if len(page.Orders) == 0 || offset >= page.Total {
			if asOf.Before(since) {
				asOf = since
			}
			return asOf, nil
		}
	}
}

// FetchOrder implements connectors.OrderFetcher with getOrder.
func (c *Connector) FetchOrder(ctx context.Context, orderID string) (*connectors.Order, error) {
	if orderID == "" {
		return nil, errors.New("fetching an eBay order: empty order id")
	}
	var o apiOrder
	err := c.getJSON(ctx, ordersPath+"/"+url.PathEscape(orderID), nil, &o)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.hasError(32100)) {
		return nil, fmt.Errorf("eBay order %s: %w", orderID, connectors.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching eBay order %s: %w", orderID, err)
	}
	out, err := c.order(&o)
	if reason := connectors.RefusalReason(err); reason != "" {
		// An error, not "not found": the fetch queue retries it and
		// dead-letters it in the end, where it can be seen.
		c.metrics.refusedOrders.WithLabelValues("fetch", reason).Inc()
		return nil, fmt.Errorf("fetching eBay order %s: the ledger would refuse it: %w", orderID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("fetching eBay order %s: %w", orderID, err)
	}
	c.countNoSKU(out)
	return out, nil
}

// order maps an eBay order (toOrder) and refuses a version further than
// MaxClockSkew past the connector's clock.
func (c *Connector) order(o *apiOrder) (*connectors.Order, error) {
	out, err := toOrder(c.name, o)
	if err != nil {
		return nil, err
	}
	if err := connectors.CheckVersion("lastModifiedDate", out.UpdatedAt, c.deps.Now()); err != nil {
		return nil, fmt.Errorf("order %s: %w", out.OrderID, err)
	}
	return out, nil
}

func (c *Connector) countNoSKU(o *connectors.Order) {
	for _, l := range o.Lines {
		if l.NoSKU {
			c.metrics.noSKULines.Inc()
		}
	}
}
