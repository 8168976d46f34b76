package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	offersPath = "/sell/inventory/v1/offer"
	// offerCacheTTL: offers change when the merchant lists or ends a
	// listing; a stale entry is also dropped as soon as eBay says an offer
	// is gone (see forgetOffers).
	offerCacheTTL = 24 * time.Hour
	// noOfferCacheTTL: a SKU without offers is asked about again soon, so
	// a new listing is picked up without a restart.
	noOfferCacheTTL = 15 * time.Minute
	// Keys returned by ResolveSKU.
	KeyOfferIDs   = "offer_ids"   // comma-separated
	KeyListingIDs = "listing_ids" // comma-separated, in offer order
)

// offerRef is what is cached per SKU.
type offerRef struct {
	OfferIDs   []string `json:"o"`
	ListingIDs []string `json:"l,omitempty"`
}

// ResolveSKU maps a SKU to the channel's identifiers, cached: the SKU's fixed-price
// offers on the channel's marketplace (getOffers), cached in the channel's
// Cache. ErrNotFound when the SKU has none: nothing is listed to update.
func (c *Connector) ResolveSKU(ctx context.Context, sku string) (map[string]string, error) {
	ref, err := c.offers(ctx, sku)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		KeyOfferIDs:   strings.Join(ref.OfferIDs, ","),
		KeyListingIDs: strings.Join(ref.ListingIDs, ","),
	}, nil
}

func offerKey(sku string) string { return "ebay:offers:" + sku }

// offers returns the SKU's offers from the cache or from eBay.
func (c *Connector) offers(ctx context.Context, sku string) (offerRef, error) {
	if sku == "" {
		return offerRef{}, fmt.Errorf("empty SKU: %w", connectors.ErrNotFound)
	}
	if c.deps.Cache != nil {
		v, ok, err := c.deps.Cache.Get(ctx, offerKey(sku))
		if err != nil {
			return offerRef{}, fmt.Errorf("reading the offer cache of SKU %s: %w", sku, err)
		}
		if ok && v != "" {
			var ref offerRef
			if json.Unmarshal([]byte(v), &ref) == nil {
				if len(ref.OfferIDs) == 0 {
					return offerRef{}, fmt.Errorf("eBay has no offer for SKU %s: %w", sku, connectors.ErrNotFound)
				}
				return ref, nil
			}
		}
	}
	ref, err := c.fetchOffers(ctx, sku)
	notFound := errors.Is(err, connectors.ErrNotFound)
	if err != nil && !notFound {
		return offerRef{}, err
	}
	if c.deps.Cache != nil {
		ttl := offerCacheTTL
		if notFound {
			ttl = noOfferCacheTTL
		}
		b, _ := json.Marshal(ref)
		if cerr := c.deps.Cache.Set(ctx, offerKey(sku), string(b), ttl); cerr != nil {
			return offerRef{}, fmt.Errorf("writing the offer cache of SKU %s: %w", sku, cerr)
		}
	}
	return ref, err
}

// forgetOffers drops a SKU's cached offers after eBay said one is gone.
// The Cache has no delete: an empty value that expires at once does it.
func (c *Connector) forgetOffers(ctx context.Context, sku string) error {
	if c.deps.Cache == nil {
		return nil
	}
	return c.deps.Cache.Set(ctx, offerKey(sku), "", time.Millisecond)
}

func (c *Connector) fetchOffers(ctx context.Context, sku string) (offerRef, error) {
	q := url.Values{"sku": {sku}, "marketplace_id": {c.marketplace}}
	var page struct {
		Offers []struct {
			OfferID       string `json:"offerId"`
			Format        string `json:"format"`
			MarketplaceID string `json:"marketplaceId"`
			Listing       struct {
				ListingID string `json:"listingId"`
			} `json:"listing"`
		} `json:"offers"`
	}
	err := c.getJSON(ctx, offersPath, q, &page)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.hasError(25702, 25710, 25713)) {
		return offerRef{}, fmt.Errorf("eBay has no offer for SKU %s: %w", sku, connectors.ErrNotFound)
	}
	if err != nil {
		return offerRef{}, fmt.Errorf("looking up the offers of SKU %s: %w", sku, err)
	}
	var ref offerRef
	for _, o := range page.Offers {
		// bulk_update_price_quantity updates fixed-price offers only.
		if o.OfferID == "" || (o.Format != "" && o.Format != "FIXED_PRICE") ||
			(o.MarketplaceID != "" && o.MarketplaceID != c.marketplace) {
			continue
		}
		ref.OfferIDs = append(ref.OfferIDs, o.OfferID)
		ref.ListingIDs = append(ref.ListingIDs, o.Listing.ListingID)
	}
	if len(ref.OfferIDs) == 0 {
		return offerRef{}, fmt.Errorf("eBay has no fixed-price offer for SKU %s on %s: %w", sku, c.marketplace, connectors.ErrNotFound)
	}
	return ref, nil
}
