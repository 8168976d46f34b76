package ebay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/shelfsync/shelfsync/connectors"
)

const (
	inventoryItemsPath = "/sell/inventory/v1/inventory_item"
	// listPageSize is getInventoryItems' largest limit (default 25).
	listPageSize = 200
	// maxListPages bounds ListListings against a total that never ends.
	maxListPages = 10_000
)

// inventoryItemsPage is getInventoryItems' answer.
type inventoryItemsPage struct {
	Total          *int               `json:"total"`
	Size           int                `json:"size"`
	Next           string             `json:"next"`
	InventoryItems []apiInventoryItem `json:"inventoryItems"`
}

// ListListings implements connectors.ListingLister: getInventoryItems
// (GET /sell/inventory/v1/inventory_item?limit=200&offset=0, the Inventory
// API's paged list of every inventory item of the seller), then the page
// each answer's next names, until an answer has no next; each call through
// the channel's limiter. eBay's page describes offset as a page number
// while its next links count items: following next is right under either
// reading. A listing is an inventory item by SKU, its quantity the
// ship-to-location availability (what the pusher sets and ReadQuantities
// reads); total is the number of items.
func (c *Connector) ListListings(ctx context.Context, page func(connectors.ListingPage) error) error {
	q := url.Values{"limit": {strconv.Itoa(listPageSize)}, "offset": {"0"}}
	for n := 1; ; n++ {
		ip, err := c.inventoryItems(ctx, q)
		if err != nil {
			return err
		}
		p := connectors.ListingPage{Total: *ip.Total, Listings: make([]connectors.Listing, 0, len(ip.InventoryItems))}
		for _, it := range ip.InventoryItems {
			st := it.Availability.ShipToLocationAvailability
			l := connectors.Listing{ID: it.SKU, Quantity: st.Quantity, HasQuantity: st.Quantity >= 0}
			if c.perLocation && l.HasQuantity && badDistributions(st.AvailabilityDistributions) == "" {
				l.Levels = c.liveLocations(it.SKU, st.Quantity, st.AvailabilityDistributions)
			}
			p.Listings = append(p.Listings, l)
		}
		if err := page(p); err != nil {
			return err
		}
		if ip.Next == "" {
			return nil
		}
		if len(ip.InventoryItems) == 0 || n >= maxListPages {
			return fmt.Errorf("eBay GET %s: paging does not end after %d pages", inventoryItemsPath, n)
		}
		next, err := url.Parse(ip.Next)
		if err != nil || next.Query().Get("offset") == "" {
			return fmt.Errorf("eBay GET %s: unusable next %q", inventoryItemsPath, ip.Next)
		}
		q = url.Values{"limit": {next.Query().Get("limit")}, "offset": {next.Query().Get("offset")}}
	}
}

// inventoryItems makes one getInventoryItems call.
func (c *Connector) inventoryItems(ctx context.Context, q url.Values) (inventoryItemsPage, error) {
	var ip inventoryItemsPage
	resp, err := c.send(ctx, http.MethodGet, inventoryItemsPath, q, nil, false)
	if err != nil {
		return ip, fmt.Errorf("listing inventory items at offset %s: %w", q.Get("offset"), err)
	}
	if resp.status != http.StatusOK {
		return ip, newAPIError("GET "+inventoryItemsPath, resp)
	}
	return ip, parseInventoryItems(resp.body, &ip)
}

// parseInventoryItems decodes a getInventoryItems answer; total is
// required, and no quantity may be negative.
func parseInventoryItems(body []byte, ip *inventoryItemsPage) error {
	if err := json.Unmarshal(body, ip); err != nil {
		return fmt.Errorf("eBay GET %s: decoding the answer: %w", inventoryItemsPath, err)
	}
	if ip.Total == nil || *ip.Total < 0 {
		return fmt.Errorf("eBay GET %s: the answer has no usable total", inventoryItemsPath)
	}
	return nil
}
