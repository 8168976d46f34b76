package amazon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxSearchResults is how many results searchListingsItems pages
// through at most, whatever the page size.
const maxSearchResults = 1000

// maxListPages bounds ListListings against an answer whose nextToken never
// ends (20 listings a page: a million listings).
const maxListPages = 50_000

// ListListings implements connectors.ListingLister: searchListingsItems
// (Listings Items API 2021-08-01) without identifiers — every listing of
// the seller in the marketplace — 20 a page (pageSize's maximum), with
// includedData=fulfillmentAvailability, following pagination.nextToken,
// each call under the operation's limiter. A listing's quantity is its
// merchant-fulfilled (DEFAULT) one, as ReadQuantities reads; a listing
// without one (FBA only) has none. numberOfResults is the total. Amazon
// pages through at most 1,000 results: past that the pages read are
// delivered and the call ends with connectors.ErrListingsIncomplete.
func (c *Connector) ListListings(ctx context.Context, page func(connectors.ListingPage) error) error {
	path := "/listings/2021-08-01/items/" + url.PathEscape(c.sellerID)
	query := "marketplaceIds=" + queryEscape(strings.Join(c.marketplace, ",")) +
		"&includedData=fulfillmentAvailability&pageSize=" + fmt.Sprint(searchBatch)
	token, read, total := "", 0, -1
	for n := 1; ; n++ {
		q := query
		if token != "" {
			q += "&pageToken=" + queryEscape(token)
		}
		var raw json.RawMessage
		if _, err := c.call(ctx, opSearchListings, http.MethodGet, path+"?"+q, nil, nil, &raw); err != nil {
			return fmt.Errorf("listing the listings (page %d): %w", n, err)
		}
		res, err := decodeSearchResults(raw)
		if err != nil {
			return fmt.Errorf("amazon %s: %w", opSearchListings, err)
		}
		p := connectors.ListingPage{Total: -1, Listings: make([]connectors.Listing, 0, len(res.Items))}
		if res.NumberOfResults != nil {
			p.Total, total = *res.NumberOfResults, *res.NumberOfResults
		}
		read += len(res.Items)
		for i := range res.Items {
			it := &res.Items[i]
			q, ok := it.merchantQuantity()
			p.Listings = append(p.Listings, connectors.Listing{ID: it.SKU, Quantity: q, HasQuantity: ok})
		}
		if err := page(p); err != nil {
			return err
		}
		if res.Pagination.NextToken == "" {
			if read < total {
				return fmt.Errorf("amazon %s: %w: %d of %d listings read (searchListingsItems pages through at most %d results; the rest would need the merchant listings report, not read)", opSearchListings, connectors.ErrListingsIncomplete, read, total, maxSearchResults)
			}
			return nil
		}
		if len(res.Items) == 0 || n >= maxListPages {
			return fmt.Errorf("amazon %s: %w: pagination does not end after %d pages", opSearchListings, errMalformedSearch, n)
		}
		token = res.Pagination.NextToken
	}
}
