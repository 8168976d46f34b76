package ebay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	bulkGetPath = "/sell/inventory/v1/bulk_get_inventory_item"
	// maxBulkGet is the most SKUs one bulkGetInventoryItem call takes.
	maxBulkGet = 25
	// readWorkers is how many bulkGetInventoryItem calls run at once; the
	// channel's limiter paces every one of them (in the HTTP client).
	readWorkers = 4
	// maxSKULength is the longest SKU eBay stores: a longer one can not be
	// listed, so it is not asked about (eBay would refuse the request).
	maxSKULength = 50
	// errSKUNotFound and errEntityNotFound are eBay's "no such inventory
	// item" error ids.
	errSKUNotFound    = 25702
	errEntityNotFound = 25710
)

type bulkGetRequest struct {
	Requests []bulkGetSKU `json:"requests"`
}

type bulkGetSKU struct {
	SKU string `json:"sku"`
}

// bulkGetResponse is bulkGetInventoryItem's answer: one entry per SKU asked.
type bulkGetResponse struct {
	Responses []bulkGetEntry `json:"responses"`
	Errors    []ebayError    `json:"errors"`
}

type bulkGetEntry struct {
	StatusCode    int               `json:"statusCode"`
	SKU           string            `json:"sku"`
	InventoryItem *apiInventoryItem `json:"inventoryItem"`
	Errors        []ebayError       `json:"errors"`
}

type apiInventoryItem struct {
	SKU          string `json:"sku"`
	Availability struct {
		ShipToLocationAvailability struct {
			Quantity                  int64          `json:"quantity"`
			AvailabilityDistributions []distribution `json:"availabilityDistributions"`
		} `json:"shipToLocationAvailability"`
	} `json:"availability"`
}

// ReadQuantities implements connectors.QuantityReader: each SKU's
// inventory item's ship-to-location quantity (what the pusher sets), read
// with bulkGetInventoryItem, 25 SKUs a call, readWorkers calls at a time:
// ceil(n/25) calls for n distinct SKUs. A SKU listed twice is asked and
// reported once.
//
// Left out of the result, as the contract wants for SKUs the channel does
// not list: SKUs eBay answers 404 for (or 25702/25710), SKUs that can not
// be on eBay (empty, longer than 50 characters), and SKUs eBay refuses or
// answers for in a way that can not be trusted (another 4xx, a 200 without
// a usable item, conflicting entries, no entry at all): those are logged,
// once per call, and never reported with a guessed quantity. A SKU whose
// entry is a transient failure (429, 5xx) is asked again once; if it fails
// again the call fails, as any call that still fails after the HTTP
// client's retries does.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	ask, got, err := c.readItems(ctx, skus)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.LiveQuantity, 0, len(ask))
	for _, sku := range ask {
		q, ok := got.found[sku]
		switch {
		case !ok:
		case c.perLocation:
			out = append(out, c.liveLocations(sku, q, got.dists[sku])...)
		default:
			out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: q})
		}
	}
	return out, nil
}

// readItems reads the inventory items of skus (each distinct SKU that can
// be on eBay once, in ask), ceil(n/25) calls, readWorkers at a time; the
// outcome's found and dists hold what was read, and the SKUs skipped are
// logged once.
func (c *Connector) readItems(ctx context.Context, skus []string) (ask []string, got bulkGetOutcome, err error) {
	ask = make([]string, 0, len(skus))
	seen := make(map[string]bool, len(skus))
	for _, sku := range skus {
		if seen[sku] || sku == "" || utf8.RuneCountInString(sku) > maxSKULength {
			continue
		}
		seen[sku] = true
		ask = append(ask, sku)
	}
	got = bulkGetOutcome{found: map[string]int64{}, dists: map[string][]distribution{}}
	if len(ask) == 0 {
		return nil, got, nil
	}
	chunks := make([]bulkGetOutcome, (len(ask)+maxBulkGet-1)/maxBulkGet)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readWorkers)
	for i := range chunks {
		chunk := ask[i*maxBulkGet : min((i+1)*maxBulkGet, len(ask))]
		g.Go(func() error {
			out, err := c.readChunk(gctx, chunk)
			chunks[i] = out
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, got, fmt.Errorf("reading quantities: %w", err)
	}
	for _, ch := range chunks {
		got.merge(ch)
	}
	if len(got.skipped) > 0 {
		c.logSkipped(got.skipped)
	}
	return ask, got, nil
}

// merge adds o's SKUs to the outcome.
func (o *bulkGetOutcome) merge(from bulkGetOutcome) {
	for sku, q := range from.found {
		o.found[sku] = q
	}
	for sku, d := range from.dists {
		o.dists[sku] = d
	}
	o.unknown = append(o.unknown, from.unknown...)
	o.skipped = append(o.skipped, from.skipped...)
}

// readChunk reads at most maxBulkGet SKUs: one call, and one more for the
// SKUs whose entries were transient failures. Its result has the SKUs found
// and those skipped (unknown SKUs are simply not found).
func (c *Connector) readChunk(ctx context.Context, skus []string) (bulkGetOutcome, error) {
	total := bulkGetOutcome{found: make(map[string]int64, len(skus)), dists: map[string][]distribution{}}
	ask := skus
	for attempt := 0; ; attempt++ {
		o, err := c.bulkGet(ctx, ask)
		if err != nil {
			return total, err
		}
		total.merge(o)
		if len(o.retry) == 0 {
			return total, nil
		}
		if attempt == 1 {
			return total, fmt.Errorf("eBay failed to read SKU %s twice: %s", o.retry[0].sku, o.retry[0].reason)
		}
		ask = make([]string, 0, len(o.retry))
		for _, r := range o.retry {
			ask = append(ask, r.sku)
		}
	}
}

// bulkGet makes one bulkGetInventoryItem call.
func (c *Connector) bulkGet(ctx context.Context, skus []string) (bulkGetOutcome, error) {
	req := bulkGetRequest{Requests: make([]bulkGetSKU, len(skus))}
	for i, sku := range skus {
		req.Requests[i].SKU = sku
	}
	body, err := json.Marshal(req)
	if err != nil {
		return bulkGetOutcome{}, fmt.Errorf("encoding bulkGetInventoryItem: %w", err)
	}
	resp, err := c.send(ctx, http.MethodPost, bulkGetPath, nil, body, false)
	if err != nil {
		return bulkGetOutcome{}, err
	}
	return parseBulkGet(resp, skus, c.perLocation)
}

// bulkGetOutcome sorts the SKUs of one call: each asked SKU is in exactly
// one of found, unknown, retry and skipped.
type bulkGetOutcome struct {
	found map[string]int64 // the listed quantity, never negative
	// dists are the found SKUs' availabilityDistributions (per-location
	// channels), when eBay gave any.
	dists   map[string][]distribution
	unknown []string     // eBay has no inventory item for it
	retry   []skippedSKU // a transient failure of this SKU: ask again
	skipped []skippedSKU // refused or untrustworthy: left out
}

type skippedSKU struct {
	sku    string
	reason string
}

// parseBulkGet reads a bulkGetInventoryItem answer to a request for skus
// (distinct). eBay answers 200 when every entry is 200, 207 when some
// are, and 400 when none is; each of these with entries is read entry by
// entry. Anything else (401/403 after the token retry, 429/5xx after the
// HTTP client's retries, a 400 without entries, an undecodable answer) is
// an error for the whole call. Only a per-location channel (perLocation)
// checks the items' distributions: a single-figure channel reads and sets
// the ship-to quantity alone, and an odd distribution does not make that
// figure less trustworthy.
func parseBulkGet(resp *response, skus []string, perLocation bool) (bulkGetOutcome, error) {
	br, err := decodeBulkGet(resp)
	if err != nil {
		return bulkGetOutcome{}, err
	}
	bySKU := make(map[string][]bulkGetEntry, len(skus))
	for _, e := range br.Responses {
		bySKU[e.SKU] = append(bySKU[e.SKU], e)
	}
	o := bulkGetOutcome{found: make(map[string]int64, len(skus)), dists: map[string][]distribution{}}
	for _, sku := range skus {
		entries := bySKU[sku]
		if len(entries) == 0 {
			o.skipped = append(o.skipped, skippedSKU{sku, "eBay gave no entry for it"})
			continue
		}
		kind, q, reason := classifyEntries(entries, perLocation)
		o.add(sku, kind, q, reason)
		if kind == entryFound && perLocation {
			if d := entries[0].InventoryItem.Availability.ShipToLocationAvailability.AvailabilityDistributions; len(d) > 0 {
				o.dists[sku] = d
			}
		}
	}
	return o, nil
}

// decodeBulkGet decodes an answer that holds per-SKU entries (200, 207,
// or 400 with entries); any other answer is an error for the whole call.
func decodeBulkGet(resp *response) (bulkGetResponse, error) {
	var br bulkGetResponse
	jerr := json.Unmarshal(resp.body, &br)
	success := resp.status >= 200 && resp.status <= 299
	switch {
	case (resp.status == http.StatusOK || resp.status == http.StatusMultiStatus || resp.status == http.StatusBadRequest) &&
		jerr == nil && len(br.Responses) > 0:
		return br, nil
	case success && jerr != nil:
		return br, fmt.Errorf("eBay POST %s: decoding the answer: %w", bulkGetPath, jerr)
	case success:
		return br, fmt.Errorf("eBay POST %s answered %d without per-SKU entries", bulkGetPath, resp.status)
	default:
		return br, newAPIError("POST "+bulkGetPath, resp)
	}
}

// classifyEntries reads one SKU's entries (at least one): several that do
// not all say the same are not to be trusted, and the SKU is skipped.
// perLocation checks the distributions too.
func classifyEntries(entries []bulkGetEntry, perLocation bool) (kind entryKind, q int64, reason string) {
	kind, q, reason = classifyEntry(entries[0], perLocation)
	for _, e := range entries[1:] {
		k, q2, _ := classifyEntry(e, perLocation)
		if k != kind || q2 != q {
			return entrySkip, q, fmt.Sprintf("eBay gave %d conflicting entries for it", len(entries))
		}
	}
	return kind, q, reason
}

// add files sku in the outcome by what its entries said.
func (o *bulkGetOutcome) add(sku string, kind entryKind, q int64, reason string) {
	switch kind {
	case entryFound:
		o.found[sku] = q
	case entryUnknown:
		o.unknown = append(o.unknown, sku)
	case entryRetry:
		o.retry = append(o.retry, skippedSKU{sku, reason})
	default:
		o.skipped = append(o.skipped, skippedSKU{sku, reason})
	}
}

type entryKind int

const (
	entryFound entryKind = iota
	entryUnknown
	entryRetry
	entrySkip
)

// classifyEntry reads one SKU's entry; q is the quantity when found.
// Distributions that can not be trusted skip the SKU only when
// perLocation.
func classifyEntry(e bulkGetEntry, perLocation bool) (kind entryKind, q int64, reason string) {
	switch {
	case e.StatusCode == http.StatusOK:
		switch {
		case e.InventoryItem == nil:
			return entrySkip, 0, "status 200 without an inventory item"
		case e.InventoryItem.SKU != "" && e.InventoryItem.SKU != e.SKU:
			return entrySkip, 0, fmt.Sprintf("status 200 with the inventory item of SKU %q", e.InventoryItem.SKU)
		}
		st := e.InventoryItem.Availability.ShipToLocationAvailability
		if st.Quantity < 0 {
			return entrySkip, 0, fmt.Sprintf("negative quantity %d", st.Quantity)
		}
		if reason := badDistributions(st.AvailabilityDistributions); perLocation && reason != "" {
			return entrySkip, 0, reason
		}
		return entryFound, st.Quantity, ""
	case e.StatusCode == http.StatusNotFound || hasErrorID(e.Errors, errSKUNotFound, errEntityNotFound):
		return entryUnknown, 0, ""
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
		return entryRetry, 0, entryReason(e)
	default:
		return entrySkip, 0, entryReason(e)
	}
}

func entryReason(e bulkGetEntry) string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("status %d", e.StatusCode)
	}
	return fmt.Sprintf("status %d: %s", e.StatusCode, messages(e.Errors))
}

// logSkipped reports, once per ReadQuantities, the SKUs left out for a
// reason other than eBay not knowing them.
func (c *Connector) logSkipped(skipped []skippedSKU) {
	const show = 5
	parts := make([]string, 0, min(len(skipped), show))
	for _, s := range skipped[:min(len(skipped), show)] {
		parts = append(parts, s.sku+" ("+s.reason+")")
	}
	c.log.Warn().Int("skus", len(skipped)).Str("first", strings.Join(parts, "; ")).
		Msg("eBay inventory items not read; these SKUs are left out of this reconcile or push")
}
