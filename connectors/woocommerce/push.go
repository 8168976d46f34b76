package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxBatch is WooCommerce's default cap on one batch call: "By default
// it's limited to up to 100 objects to be created, updated or deleted"
// (#batch-update-products). Stores can lower or raise it with the
// woocommerce_rest_batch_items_limit filter; over it the call is answered
// 413 woocommerce_rest_request_entity_too_large.
const maxBatch = 100

// MaxBatch implements connectors.QuantityPusher: 100, what one batch call
// takes by default. The channel's batch_size (for a store whose limit is
// lower) is the pusher's to apply, not this; a call over the store's limit
// is answered 413 and PushQuantities halves its chunks (batchLimit).
func (c *Connector) MaxBatch() int { return maxBatch }

// pushEntry is one stock quantity to set.
type pushEntry struct {
	idx      int // into updates
	id       int64
	quantity int64
}

// PushQuantities implements connectors.QuantityPusher. SKUs resolve to
// products and variations (resolve); products are set with
// POST /products/batch and variations with
// POST /products/{parent}/variations/batch, each {"update": [{id,
// stock_quantity}]}, at most 100 (or the store's lower limit) a call.
// WooCommerce answers every item on its own: an item's error is that
// item's result, never the batch's. A SKU given twice takes its last
// update, and both get its result.
//
// WooCommerce ignores stock_quantity for a product that does not manage
// its stock (it stores no quantity and answers manage_stock false, or
// "parent" for a variation whose parent product holds the stock). Such an
// item is failed with a reason that says so, and counted in
// shelfsync_woocommerce_unmanaged_stock_total{source="push"}; the
// connector never turns manage_stock on itself.
//
// The set is absolute and WooCommerce has no compare-and-set: a sale the
// store makes between the engine's decision and this call is overwritten,
// and the engine corrects it when that order arrives.
func (c *Connector) PushQuantities(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	results := make([]connectors.PushResult, len(updates))
	skus := make([]string, 0, len(updates))
	for i, u := range updates {
		results[i].SKU = u.SKU
		skus = append(skus, u.SKU)
	}
	targets, err := c.resolve(ctx, skus)
	if err != nil {
		return nil, fmt.Errorf("pushing quantities: %w", err)
	}
	last := checkUpdates(updates, targets, results)
	if err := c.pushGroups(ctx, groupEntries(updates, targets, last), updates, results); err != nil {
		return nil, fmt.Errorf("pushing quantities: %w", err)
	}
	for i, u := range updates {
		if j, ok := last[u.SKU]; ok && j != i {
			results[i] = results[j]
		}
	}
	return results, nil
}

// checkUpdates fails the updates that can not be sent (no SKU, a quantity
// out of range, a SKU the store does not have) and returns, for each SKU
// to send, the index of its last update: a SKU given twice takes it.
func checkUpdates(updates []connectors.QuantityUpdate, targets map[string]listing, results []connectors.PushResult) map[string]int {
	last := map[string]int{}
	for i, u := range updates {
		switch {
		case u.SKU == "":
			results[i] = connectors.PushResult{Status: connectors.PushFailed, Reason: "empty SKU"}
		case u.Quantity < 0:
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: "negative quantity"}
		case u.Quantity > connectors.MaxQuantity:
			results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushFailed, Reason: fmt.Sprintf("quantity %d exceeds %d", u.Quantity, int64(connectors.MaxQuantity))}
		default:
			if _, ok := targets[u.SKU]; !ok {
				results[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushUnknownSKU, Reason: "no WooCommerce product or variation has this SKU"}
				continue
			}
			last[u.SKU] = i
		}
	}
	return last
}

// groupEntries groups the updates to send by the batch endpoint that
// takes them: parent 0 for products, the parent product's id for
// variations. Each group is in update order.
func groupEntries(updates []connectors.QuantityUpdate, targets map[string]listing, last map[string]int) map[int64][]pushEntry {
	groups := map[int64][]pushEntry{}
	for _, i := range last {
		t := targets[updates[i].SKU]
		groups[t.parent] = append(groups[t.parent], pushEntry{idx: i, id: t.id, quantity: updates[i].Quantity})
	}
	for _, es := range groups {
		slices.SortFunc(es, func(a, b pushEntry) int { return a.idx - b.idx })
	}
	return groups
}

// pushGroups sends each group, parents in order (products first), in
// chunks of the store's batch limit.
func (c *Connector) pushGroups(ctx context.Context, groups map[int64][]pushEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult) error {
	parents := make([]int64, 0, len(groups))
	for p := range groups {
		parents = append(parents, p)
	}
	slices.Sort(parents)
	for _, p := range parents {
		path := "/products/batch"
		if p > 0 {
			path = "/products/" + strconv.FormatInt(p, 10) + "/variations/batch"
		}
		es := groups[p]
		for len(es) > 0 {
			n := min(len(es), int(c.batchLimit.Load()))
			if err := c.pushChunk(ctx, path, es[:n], updates, results); err != nil {
				return err
			}
			es = es[n:]
		}
	}
	return nil
}

// pushChunk sends one batch call and fills its items' results. It returns
// an error only when the whole call failed in a way a later retry may
// mend (transport, authentication, 429 and 5xx after the client's
// retries, an unreadable answer).
func (c *Connector) pushChunk(ctx context.Context, path string, es []pushEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult) error {
	var ans wcBatch
	if _, err := c.call(ctx, "POST", path, nil, batchBody(es), &ans); err != nil {
		return c.chunkFailed(ctx, path, es, updates, results, err)
	}
	c.applyAnswers(ctx, &ans, es, updates, results)
	return nil
}

// batchItem is one item of a batch update: the stock quantity to set.
type batchItem struct {
	ID            int64 `json:"id"`
	StockQuantity int64 `json:"stock_quantity"`
}

// batchRequest is a batch call's body, {"update": [...]}.
type batchRequest struct {
	Update []batchItem `json:"update"`
}

// batchBody is the batch call that sets the entries' quantities.
func batchBody(es []pushEntry) batchRequest {
	body := batchRequest{Update: make([]batchItem, 0, len(es))}
	for _, e := range es {
		body.Update = append(body.Update, batchItem{ID: e.id, StockQuantity: e.quantity})
	}
	return body
}

// chunkFailed handles a batch call that failed as a whole: a 413 is sent
// again in halves, a gone parent or a refused input fills the items'
// results, anything else is returned for a later retry.
func (c *Connector) chunkFailed(ctx context.Context, path string, es []pushEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult, err error) error {
	switch status := statusOf(err); {
	case status == http.StatusRequestEntityTooLarge && len(es) > 1:
		return c.pushHalves(ctx, path, es, updates, results)
	case status == http.StatusNotFound && strings.Contains(path, "/variations/"):
		// The parent product is gone: every variation of it is unknown now.
		for _, e := range es {
			sku := updates[e.idx].SKU
			c.forget(ctx, sku)
			results[e.idx] = connectors.PushResult{SKU: sku, Status: connectors.PushUnknownSKU, Reason: err.Error()}
		}
		return nil
	case inputRefused(status):
		// WooCommerce refused the call's input as a whole: retrying it
		// unchanged will not help.
		for _, e := range es {
			results[e.idx] = connectors.PushResult{SKU: updates[e.idx].SKU, Status: connectors.PushFailed, Reason: err.Error()}
		}
		return nil
	default:
		return err
	}
}

// inputRefused says whether a 4xx answer refuses the request itself, not
// the credentials (401, 403) or the pace (408, 429) a retry may mend.
func inputRefused(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusUnauthorized && status != http.StatusForbidden &&
		status != http.StatusTooManyRequests && status != http.StatusRequestTimeout
}

// pushHalves sends a chunk the store refused as too large (413) in two
// halves. The store's batch limit is below this chunk: the halved limit
// is remembered for the next calls.
func (c *Connector) pushHalves(ctx context.Context, path string, es []pushEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult) error {
	half := len(es) / 2
	if int(c.batchLimit.Load()) > half {
		c.batchLimit.Store(int64(half))
		c.metrics.batchLimitSeen.Set(float64(half))
		c.log.Warn().Int("limit", half).Msg("WooCommerce refused a batch as too large (413): sending smaller batches")
	}
	if err := c.pushChunk(ctx, path, es[:half], updates, results); err != nil {
		return err
	}
	return c.pushChunk(ctx, path, es[half:], updates, results)
}

// applyAnswers fills each entry's result from the batch answer's item
// with its id; an entry the answer does not mention is retried.
func (c *Connector) applyAnswers(ctx context.Context, ans *wcBatch, es []pushEntry, updates []connectors.QuantityUpdate, results []connectors.PushResult) {
	answers := make(map[int64]*wcProduct, len(ans.Update))
	for i := range ans.Update {
		a := &ans.Update[i]
		if id, err := a.ID.id("id"); err == nil {
			answers[id] = a
		}
	}
	for _, e := range es {
		sku := updates[e.idx].SKU
		a, ok := answers[e.id]
		if !ok {
			results[e.idx] = connectors.PushResult{SKU: sku, Status: connectors.PushRetry, Reason: "WooCommerce's batch answer does not mention this item"}
			continue
		}
		results[e.idx] = c.itemResult(ctx, sku, e, a)
	}
}

// itemResult maps one item of a batch answer.
func (c *Connector) itemResult(ctx context.Context, sku string, e pushEntry, a *wcProduct) connectors.PushResult {
	r := connectors.PushResult{SKU: sku}
	if a.Error != nil {
		r.Reason = strings.TrimSpace(a.Error.Code + ": " + truncate(a.Error.Message, 300))
		switch st := a.Error.status(); {
		case strings.HasSuffix(a.Error.Code, "_invalid_id"):
			// The product or variation is gone (woocommerce_rest_product_invalid_id,
			// …_product_variation_invalid_id): look the SKU up again next time.
			c.forget(ctx, sku)
			r.Status = connectors.PushUnknownSKU
		case st >= 500 || st == http.StatusTooManyRequests || st == http.StatusConflict:
			r.Status = connectors.PushRetry
		default:
			r.Status = connectors.PushFailed
		}
		return r
	}
	switch a.ManageStock {
	case manageYes:
		r.Status = connectors.PushAccepted
		if a.StockQuantity.set && a.StockQuantity.v != e.quantity {
			// Set, then moved already (a sale in between): say what it holds.
			q := a.StockQuantity.v
			r.ChannelQuantity = &q
		}
	case manageParent:
		c.metrics.unmanaged.WithLabelValues("push").Inc()
		r.Status = connectors.PushFailed
		r.Reason = "WooCommerce ignored stock_quantity: this variation does not manage its own stock (manage_stock \"parent\": the parent product holds one stock for all its variations); turn on \"Manage stock?\" on the variation"
	default:
		c.metrics.unmanaged.WithLabelValues("push").Inc()
		r.Status = connectors.PushFailed
		r.Reason = "WooCommerce ignored stock_quantity: the product does not manage stock (manage_stock false); turn on \"Manage stock?\" (Inventory tab) for shelfsync to set its quantity"
	}
	return r
}
