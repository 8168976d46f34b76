package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	bulkPath = "/sell/inventory/v1/bulk_update_price_quantity"
	// maxBulkItems is the most SKUs one bulk_update_price_quantity takes.
	maxBulkItems = 25
	// errOfferUnavailable is eBay's "This Offer is not available".
	errOfferUnavailable = 25713
)

// bulkItem is one SKU of a bulk update.
type bulkItem struct {
	idx    int // in the caller's updates
	sku    string
	qty    int64
	offers []string
	// dists are the item's availabilityDistributions (per-location
	// channels, perloc.go); nil sends the ship-to quantity alone.
	dists []distribution
}

type bulkRequest struct {
	Requests []bulkRequestItem `json:"requests"`
}

type bulkRequestItem struct {
	SKU                        string          `json:"sku"`
	ShipToLocationAvailability shipToQuantity  `json:"shipToLocationAvailability"`
	Offers                     []offerQuantity `json:"offers,omitempty"`
}

type shipToQuantity struct {
	Quantity                  int64          `json:"quantity"`
	AvailabilityDistributions []distribution `json:"availabilityDistributions,omitempty"`
}

type offerQuantity struct {
	OfferID           string `json:"offerId"`
	AvailableQuantity int64  `json:"availableQuantity"`
}

// bulkResponse is bulk_update_price_quantity's answer: one entry per
// offer (or per SKU when no offer was named).
type bulkResponse struct {
	Responses []bulkEntry `json:"responses"`
	Errors    []ebayError `json:"errors"`
}

type bulkEntry struct {
	StatusCode int         `json:"statusCode"`
	SKU        string      `json:"sku"`
	OfferID    string      `json:"offerId"`
	Errors     []ebayError `json:"errors"`
	Warnings   []ebayError `json:"warnings"`
}

// prepareMany checks the budget and offers of updates[i] for each i in todo
// (concurrently: a cold offer cache costs one getOffers call per SKU, and a
// batch of them in sequence would hold the whole push for seconds) and
// gives the bulk items of those that go on, in index order, idx set to the
// index. results[i] gets the result of each that does not.
func (c *Connector) prepareMany(ctx context.Context, updates []connectors.QuantityUpdate, results []connectors.PushResult, todo []int) ([]bulkItem, error) {
	prepared := make([]*bulkItem, len(updates))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(lookupWorkers)
	for _, i := range todo {
		g.Go(func() error {
			it, err := c.prepare(gctx, updates[i], &results[i])
			prepared[i] = it
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("pushing quantities: %w", err)
	}
	var items []bulkItem
	for i, it := range prepared {
		if it != nil {
			it.idx = i
			items = append(items, *it)
		}
	}
	return items, nil
}

// PushQuantities implements connectors.QuantityPusher with
// bulk_update_price_quantity: each SKU's quantity goes on its inventory
// item's ship-to availability and on every one of its offers (eBay lists
// the smaller of the two). Offers are looked up once and cached. A SKU
// without offers is unknown_sku; one past its daily revision ceiling is
// retry ("revision budget") without a call. Each SKU's result is its own
// entries' worst: all 200 is accepted, a 429/5xx entry retry, another 4xx
// failed with eBay's message. An offer eBay no longer knows drops the
// SKU's cached offers and is retry, so the next push looks them up again.
func (c *Connector) PushQuantities(ctx context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	if c.perLocation {
		return c.pushLocations(ctx, updates)
	}
	results := make([]connectors.PushResult, len(updates))
	last := make(map[string]int, len(updates))
	for i, u := range updates {
		last[u.SKU] = i
	}
	var todo []int
	for i, u := range updates {
		if last[u.SKU] != i {
			continue // a later update of the same SKU in this batch wins
		}
		res := &results[i]
		res.SKU = u.SKU
		switch {
		case u.SKU == "":
			res.Status, res.Reason = connectors.PushFailed, "empty SKU"
			continue
		case u.Quantity < 0:
			res.Status, res.Reason = connectors.PushFailed, fmt.Sprintf("negative quantity %d", u.Quantity)
			continue
		}
		todo = append(todo, i)
	}
	items, err := c.prepareMany(ctx, updates, results, todo)
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(items); start += maxBulkItems {
		end := min(start+maxBulkItems, len(items))
		if err := c.bulkUpdate(ctx, items[start:end], results); err != nil {
			return nil, err
		}
	}
	for i, u := range updates {
		if j := last[u.SKU]; j != i {
			results[i] = results[j]
			results[i].Reason = "superseded by a later update of the SKU in the same batch; " + results[j].Reason
		}
	}
	return results, nil
}

// lookupWorkers is how many SKUs' offers are looked up at once.
const lookupWorkers = 8

// prepare checks one SKU's revision budget and finds its offers. It returns
// nil with res filled when the SKU is not pushed (budget spent, no offer);
// an error concerns the whole push.
func (c *Connector) prepare(ctx context.Context, u connectors.QuantityUpdate, res *connectors.PushResult) (*bulkItem, error) {
	used, err := c.budget.used(ctx, u.SKU)
	if err != nil {
		return nil, err
	}
	if used >= c.opts.RevisionCeiling {
		c.metrics.budgetRefusals.Inc()
		res.Status = connectors.PushRetry
		res.Reason = fmt.Sprintf("revision budget: %d revisions today, ceiling %d (eBay allows 250 a day)", used, c.opts.RevisionCeiling)
		return nil, nil
	}
	ref, err := c.offers(ctx, u.SKU)
	if errors.Is(err, connectors.ErrNotFound) {
		res.Status, res.Reason = connectors.PushUnknownSKU, "no fixed-price offer on "+c.marketplace
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &bulkItem{sku: u.SKU, qty: u.Quantity, offers: ref.OfferIDs}, nil
}

// bulkUpdate sends one call of at most 25 items and fills their results.
func (c *Connector) bulkUpdate(ctx context.Context, items []bulkItem, results []connectors.PushResult) error {
	req := bulkRequest{Requests: make([]bulkRequestItem, 0, len(items))}
	for _, it := range items {
		ri := bulkRequestItem{SKU: it.sku, ShipToLocationAvailability: shipToQuantity{Quantity: it.qty, AvailabilityDistributions: it.dists}}
		for _, id := range it.offers {
			ri.Offers = append(ri.Offers, offerQuantity{OfferID: id, AvailableQuantity: it.qty})
		}
		req.Requests = append(req.Requests, ri)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding the bulk update: %w", err)
	}
	resp, err := c.send(ctx, http.MethodPost, bulkPath, nil, body, false)
	if err != nil {
		return fmt.Errorf("pushing quantities: %w", err)
	}
	var br bulkResponse
	jerr := json.Unmarshal(resp.body, &br)
	switch {
	case (resp.status == http.StatusOK || resp.status == http.StatusMultiStatus || resp.status == http.StatusBadRequest) && jerr == nil && len(br.Responses) > 0:
		// Per-item results: read below.
	case resp.status == http.StatusBadRequest:
		// The request as a whole was refused: sending it again will not help.
		reason := "eBay refused the request: " + messages(br.Errors)
		for _, it := range items {
			results[it.idx] = connectors.PushResult{SKU: it.sku, Status: connectors.PushFailed, Reason: reason}
		}
		return nil
	case resp.status >= 200 && resp.status <= 299:
		return fmt.Errorf("pushing quantities: eBay answered %d without per-item results", resp.status)
	default:
		return fmt.Errorf("pushing quantities: %w", newAPIError("POST "+bulkPath, resp))
	}

	bySKU := make(map[string][]bulkEntry, len(items))
	for _, e := range br.Responses {
		bySKU[e.SKU] = append(bySKU[e.SKU], e)
	}
	for _, it := range items {
		res := c.itemResult(ctx, it, bySKU[it.sku])
		results[it.idx] = res
		if res.Status == connectors.PushAccepted {
			if err := c.budget.add(ctx, it.sku); err != nil {
				// The push went through; a missed count only loosens the guard.
				c.log.Warn().Err(err).Str("sku", it.sku).Msg("revision not counted")
			}
		}
	}
	return nil
}

// itemResult folds one SKU's entries into its result: the worst wins.
func (c *Connector) itemResult(ctx context.Context, it bulkItem, entries []bulkEntry) connectors.PushResult {
	res := connectors.PushResult{SKU: it.sku, Status: connectors.PushAccepted}
	if len(entries) == 0 {
		res.Status, res.Reason = connectors.PushRetry, "eBay gave no result for this SKU"
		return res
	}
	rank := map[connectors.PushStatus]int{connectors.PushAccepted: 0, connectors.PushRetry: 1, connectors.PushUnknownSKU: 2, connectors.PushFailed: 3}
	var reasons, warnings []ebayError
	staleOffer := false
	for _, e := range entries {
		st := connectors.PushAccepted
		switch {
		case e.StatusCode >= 200 && e.StatusCode <= 299:
			warnings = append(warnings, e.Warnings...)
		case hasErrorID(e.Errors, errOfferUnavailable) && e.OfferID != "":
			staleOffer, st = true, connectors.PushRetry
		case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
			st = connectors.PushRetry
		case e.StatusCode == http.StatusNotFound || hasErrorID(e.Errors, 25702, 25710):
			st = connectors.PushUnknownSKU
		default:
			st = connectors.PushFailed
		}
		if st != connectors.PushAccepted {
			reasons = append(reasons, e.Errors...)
			if len(e.Errors) == 0 {
				reasons = append(reasons, ebayError{Message: fmt.Sprintf("status %d", e.StatusCode)})
			}
		}
		if rank[st] > rank[res.Status] {
			res.Status = st
		}
	}
	if staleOffer {
		if err := c.forgetOffers(ctx, it.sku); err != nil {
			c.log.Warn().Err(err).Str("sku", it.sku).Msg("stale offers not dropped from the cache")
		}
	}
	if res.Status == connectors.PushAccepted {
		res.Reason = messages(warnings)
	} else {
		res.Reason = messages(reasons)
	}
	return res
}

func hasErrorID(errs []ebayError, ids ...int) bool {
	return (&APIError{Errors: errs}).hasError(ids...)
}
