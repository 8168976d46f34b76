package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/connectors"
)

// searchBatch is the most SKUs one searchListingsItems call asks for: the
// identifiers parameter takes at most 20 values, and pageSize (which
// defaults to 10) at most 20, so 20 listings fit on one page.
const searchBatch = 20

// ReadQuantities implements connectors.QuantityReader: searchListingsItems
// by SKU, 20 SKUs a call, with includedData=fulfillmentAvailability, a few
// calls at a time under the operation's limiter. What is read is what
// getListingsItem reads: the merchant-fulfilled (DEFAULT) quantity. SKUs
// Amazon does not know, and listings without a DEFAULT quantity, are left
// out; so are empty SKUs (no listing has one). A SKU with a comma can not
// go in the comma-separated identifiers (Amazon takes %2C for a
// separator too), so it is read alone with getListingsItem. A SKU asked
// twice is read, and returned, once; the result follows the order of skus.
func (c *Connector) ReadQuantities(ctx context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	order, batches, alone := planReads(skus)
	listed, err := c.readListed(ctx, len(order), batches, alone)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.LiveQuantity, 0, len(listed))
	for _, sku := range order {
		if q, ok := listed[sku]; ok {
			out = append(out, connectors.LiveQuantity{SKU: sku, Quantity: q})
		}
	}
	return out, nil
}

// planReads sorts the distinct non-empty SKUs (order, in the caller's
// order) into batches of up to searchBatch for searchListingsItems and
// the SKUs with a comma, which must be read alone.
func planReads(skus []string) (order []string, batches [][]string, alone []string) {
	var batch []string
	seen := make(map[string]bool, len(skus))
	for _, sku := range skus {
		if sku == "" || seen[sku] {
			continue
		}
		seen[sku] = true
		order = append(order, sku)
		if strings.Contains(sku, ",") {
			alone = append(alone, sku)
			continue
		}
		batch = append(batch, sku)
		if len(batch) == searchBatch {
			batches = append(batches, batch)
			batch = nil
		}
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	return order, batches, alone
}

// readListed reads the batches and the lone SKUs, c.workers calls at a
// time, and returns the DEFAULT quantity of every listed SKU (n is how
// many SKUs there are, to size the map).
func (c *Connector) readListed(ctx context.Context, n int, batches [][]string, alone []string) (map[string]int64, error) {
	var mu sync.Mutex
	listed := make(map[string]int64, n)
	found := func(sku string, q int64) {
		mu.Lock()
		defer mu.Unlock()
		listed[sku] = q
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.workers)
	for _, b := range batches {
		g.Go(func() error { return c.searchQuantities(gctx, b, found) })
	}
	for _, sku := range alone {
		g.Go(func() error {
			q, ok, err := c.readOne(gctx, sku)
			if err == nil && ok {
				found(sku, q)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return listed, nil
}

// searchQuantities reads the DEFAULT quantities of up to 20 SKUs, none with
// a comma, with searchListingsItems, following nextToken should Amazon
// page the answer, and calls found for each listed one. Listings Amazon
// answers for SKUs not asked are ignored.
func (c *Connector) searchQuantities(ctx context.Context, skus []string, found func(sku string, q int64)) error {
	want := make(map[string]bool, len(skus))
	ids := make([]string, len(skus))
	for i, sku := range skus {
		want[sku] = true
		ids[i] = queryEscape(sku)
	}
	// The query is built here rather than by url.Values, whose encoding
	// turns a space into "+": percent-encoding (%20) is what Amazon's URL
	// encoding guide asks for, and no decoder reads it as anything else.
	query := "marketplaceIds=" + queryEscape(strings.Join(c.marketplace, ",")) +
		"&identifiers=" + strings.Join(ids, ",") +
		"&identifiersType=SKU&includedData=fulfillmentAvailability" +
		"&pageSize=" + fmt.Sprint(searchBatch)
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID)
	token := ""
	for page := 1; ; page++ {
		q := query
		if token != "" {
			q += "&pageToken=" + queryEscape(token)
		}
		var raw json.RawMessage
		if _, err := c.call(ctx, opSearchListings, http.MethodGet, path+"?"+q, nil, nil, &raw); err != nil {
			return fmt.Errorf("reading %d SKUs from %s: %w", len(skus), skus[0], err)
		}
		res, err := decodeSearchResults(raw)
		if err != nil {
			return fmt.Errorf("amazon %s: %w", opSearchListings, err)
		}
		for i := range res.Items {
			it := &res.Items[i]
			if !want[it.SKU] {
				continue
			}
			if q, ok := it.merchantQuantity(); ok {
				found(it.SKU, q)
			}
		}
		if res.Pagination.NextToken == "" {
			return nil
		}
		// Each page holds at least one of at most 20 listings: more pages,
		// or an empty one that is not the last, would never end.
		if len(res.Items) == 0 || page >= len(skus) {
			return fmt.Errorf("amazon %s: %w: pagination does not end after %d pages", opSearchListings, errMalformedSearch, page)
		}
		token = res.Pagination.NextToken
	}
}

// readOne reads one SKU with getListingsItem: for SKUs searchListingsItems
// can not take.
func (c *Connector) readOne(ctx context.Context, sku string) (int64, bool, error) {
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID) + "/" + url.PathEscape(sku)
	q := url.Values{"marketplaceIds": {strings.Join(c.marketplace, ",")}, "includedData": {"fulfillmentAvailability"}}
	var item listingsItem
	if _, err := c.call(ctx, opGetListingsItem, http.MethodGet, path, q, nil, &item); err != nil {
		if errors.Is(err, connectors.ErrNotFound) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("reading %s: %w", sku, err)
	}
	n, ok := item.merchantQuantity()
	return n, ok, nil
}

// queryEscape escapes s for a query string, a space as %20.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// errMalformedSearch is a searchListingsItems answer that does not follow
// Amazon's model.
var errMalformedSearch = errors.New("malformed searchListingsItems answer")

// searchResults is searchListingsItems' answer (ItemSearchResults) with
// includedData=fulfillmentAvailability.
type searchResults struct {
	NumberOfResults *int           `json:"numberOfResults"`
	Items           []listingsItem `json:"items"`
	Pagination      struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
}

// decodeSearchResults parses a searchListingsItems answer. numberOfResults
// and items are required, and so is each item's sku; a negative quantity
// breaks the model's minimum of 0. Any of these fails the whole answer: a
// reconcile must not correct stock from a figure it misread.
func decodeSearchResults(data []byte) (*searchResults, error) {
	var r searchResults
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformedSearch, err)
	}
	if r.NumberOfResults == nil || r.Items == nil {
		return nil, fmt.Errorf("%w: numberOfResults and items are required", errMalformedSearch)
	}
	for i, it := range r.Items {
		if it.SKU == "" {
			return nil, fmt.Errorf("%w: item %d without sku", errMalformedSearch, i)
		}
		for _, fa := range it.FulfillmentAvailability {
			if fa.Quantity != nil && *fa.Quantity < 0 {
				return nil, fmt.Errorf("%w: %s: negative quantity %d", errMalformedSearch, it.SKU, *fa.Quantity)
			}
		}
	}
	return &r, nil
}
