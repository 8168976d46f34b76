package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/connectors"
)

// PushQuantities implements connectors.QuantityPusher. Fewer updates than
// the channel's feed_threshold go as one patchListingsItem each (results
// at once, 5 a second); more go as one JSON_LISTINGS_FEED (one call for up
// to 25,000, but minutes of processing and 5 feeds per 5 minutes).
func (c *Connector) PushQuantities(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	if len(updates) == 0 {
		return []connectors.PushResult{}, nil
	}
	if len(updates) > maxBatch {
		return nil, fmt.Errorf("amazon: %d updates exceed the batch of %d", len(updates), maxBatch)
	}
	var (
		res  []connectors.PushResult
		err  error
		path string
	)
	if len(updates) < c.threshold {
		path = "patch"
		res, err = c.patchAll(ctx, updates)
	} else {
		path = "feed"
		res, err = c.pushFeed(ctx, updates)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		c.metrics.pushed.WithLabelValues(path, string(r.Status)).Inc()
	}
	return res, nil
}

// PushChunks implements connectors.PushPacer: below the feed threshold a
// push is one patchListingsItem per SKU at the operation's pace, so the
// pusher sends it in chunks of what the limiter lets through at once (its
// burst, or a second's worth if that is more) and records each chunk as it
// returns; at the threshold and above it goes whole, as one feed.
func (c *Connector) PushChunks() (chunk, threshold int) {
	lim := c.limits.get(opPatchListingsItem)
	return max(lim.Burst(), int(float64(lim.Limit())), 1), c.threshold
}

// patchAll patches every SKU, a few at a time under patchListingsItem's
// limiter. The updates of one SKU go one after the other, in the batch's
// order, so the last accepted one is what the channel keeps: concurrent
// patches of the same SKU could land in either order.
func (c *Connector) patchAll(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	res := make([]connectors.PushResult, len(updates))
	var skus []string
	bySKU := map[string][]int{}
	for i, u := range updates {
		if _, ok := bySKU[u.SKU]; !ok {
			skus = append(skus, u.SKU)
		}
		bySKU[u.SKU] = append(bySKU[u.SKU], i)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.workers)
	for _, sku := range skus {
		g.Go(func() error {
			for _, i := range bySKU[sku] {
				r, err := c.patchOne(gctx, updates[i])
				if err != nil {
					return err
				}
				res[i] = r
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return res, nil
}

// patchOne sets one SKU's DEFAULT quantity. Only what concerns every item
// (transport, credentials, ctx) is an error; the rest is this item's result.
func (c *Connector) patchOne(ctx context.Context, u connectors.QuantityUpdate) (connectors.PushResult, error) {
	r := connectors.PushResult{SKU: u.SKU}
	if u.SKU == "" || u.Quantity < 0 {
		r.Status, r.Reason = connectors.PushFailed, "empty SKU or negative quantity"
		return r, nil
	}
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID) + "/" + url.PathEscape(u.SKU)
	q := url.Values{"marketplaceIds": {strings.Join(c.marketplace, ",")}, "issueLocale": {"en_US"}}
	var resp patchResponse
	_, err := c.call(ctx, opPatchListingsItem, http.MethodPatch, path, q, patchRequest{ProductType: c.productType, Patches: quantityPatch(u.Quantity)}, &resp)
	var ae *APIError
	switch {
	case err == nil:
	case errors.As(err, &ae):
		return itemFailure(u.SKU, ae)
	default:
		return r, fmt.Errorf("patching %s: %w", u.SKU, err)
	}
	switch resp.Status {
	case "ACCEPTED", "VALID":
		r.Status = connectors.PushAccepted
	case "INVALID":
		r.Status, r.Reason = connectors.PushFailed, issueReason(resp.Issues)
	default:
		r.Status, r.Reason = connectors.PushFailed, "unexpected status "+resp.Status
	}
	return r, nil
}

// itemFailure sorts a refused call into an item's result, or an error for
// what would refuse every item.
func itemFailure(sku string, ae *APIError) (connectors.PushResult, error) {
	r := connectors.PushResult{SKU: sku, Reason: ae.Code + " " + ae.Message}
	switch {
	case ae.Status == http.StatusNotFound:
		r.Status = connectors.PushUnknownSKU
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		return r, ae
	case ae.Status == http.StatusTooManyRequests || ae.Status >= 500:
		r.Status = connectors.PushRetry
	default:
		r.Status = connectors.PushFailed
	}
	return r, nil
}
