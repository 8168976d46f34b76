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

// The seller's inventory locations (getInventoryLocations), for
// connectors.LocationReader: the engine reads them once per reconcile of
// a per-location channel, so that a DISABLED location's distributions
// are reported and not zeroed (eBay refuses inventory changes at a
// disabled location), and a location_keys entry naming a key the seller
// does not have, or a disabled one, is reported before pushes fail on it.

const (
	locationsPath = "/sell/inventory/v1/location"
	// locationsPageSize is getInventoryLocations' default limit (100;
	// the page gives Min 1 and no maximum).
	locationsPageSize = 100
	// maxLocationPages bounds ReadLocations against a next that never ends.
	maxLocationPages = 1_000
)

// locationsPage is getInventoryLocations' answer (LocationResponse), the
// fields read.
type locationsPage struct {
	Total     *int          `json:"total"`
	Next      string        `json:"next"`
	Locations []apiLocation `json:"locations"`
}

// apiLocation is one InventoryLocationResponse, the fields read.
type apiLocation struct {
	MerchantLocationKey    string `json:"merchantLocationKey"`
	MerchantLocationStatus string `json:"merchantLocationStatus"`
}

// ReadLocations implements connectors.LocationReader: getInventoryLocations
// (GET /sell/inventory/v1/location?limit=100&offset=0), then the page each
// answer's next names until one has none, each call through the channel's
// limiter (eBay's method page once described offset as a page number,
// now as locations skipped: following next is right under either). Each
// location's merchantLocationStatus DISABLED is LocationDisabled, ENABLED
// (or a value StatusEnum does not list) LocationEnabled: only a location
// eBay says is disabled is spared. Every key of ebay.location_keys the
// seller does not have is a LocationMissing entry. A key listed twice
// (the seller added a location ahead of the offset between two pages) is
// one entry, with the later page's state; a next whose offset does not
// move on fails the read.
func (c *Connector) ReadLocations(ctx context.Context) ([]connectors.ChannelLocation, error) {
	q := url.Values{"limit": {strconv.Itoa(locationsPageSize)}, "offset": {"0"}}
	var out []connectors.ChannelLocation
	at := map[string]int{} // index in out by key
	for n := 1; ; n++ {
		resp, err := c.send(ctx, http.MethodGet, locationsPath, q, nil, false)
		if err != nil {
			return nil, fmt.Errorf("reading the inventory locations at offset %s: %w", q.Get("offset"), err)
		}
		if resp.status != http.StatusOK {
			return nil, newAPIError("GET "+locationsPath, resp)
		}
		var p locationsPage
		if err := parseLocations(resp.body, &p); err != nil {
			return nil, err
		}
		for _, l := range p.Locations {
			st := connectors.LocationEnabled
			if l.MerchantLocationStatus == "DISABLED" {
				st = connectors.LocationDisabled
			}
			loc := connectors.ChannelLocation{ID: l.MerchantLocationKey, Location: c.keyLocations[l.MerchantLocationKey], State: st}
			// Paging by offset while the seller adds a location ahead of
			// it lists the last of a page again on the next: once, with
			// the later answer's state.
			if i, ok := at[loc.ID]; ok {
				out[i] = loc
				continue
			}
			at[loc.ID] = len(out)
			out = append(out, loc)
		}
		if p.Next == "" {
			break
		}
		if len(p.Locations) == 0 || n >= maxLocationPages {
			return nil, fmt.Errorf("eBay GET %s: paging does not end after %d pages", locationsPath, n)
		}
		next, err := url.Parse(p.Next)
		if err != nil || next.Query().Get("offset") == "" {
			return nil, fmt.Errorf("eBay GET %s: unusable next %q", locationsPath, p.Next)
		}
		// A location listed again is taken (see above), so a next that
		// does not move on would only end at maxLocationPages.
		cur, _ := strconv.Atoi(q.Get("offset"))
		if off, err := strconv.Atoi(next.Query().Get("offset")); err != nil || off <= cur {
			return nil, fmt.Errorf("eBay GET %s: next %q does not move on from offset %d", locationsPath, p.Next, cur)
		}
		q = url.Values{"limit": {next.Query().Get("limit")}, "offset": {next.Query().Get("offset")}}
	}
	for _, loc := range c.deps.Channel.Locations {
		if k, ok := c.locationKeys[loc]; ok && !isListed(at, k) {
			out = append(out, connectors.ChannelLocation{ID: k, Location: loc, State: connectors.LocationMissing})
		}
	}
	return out, nil
}

func isListed(at map[string]int, key string) bool {
	_, ok := at[key]
	return ok
}

// parseLocations decodes a getInventoryLocations answer: total is
// required (eBay returns 0 when there are none) and every location needs
// its merchantLocationKey.
func parseLocations(body []byte, p *locationsPage) error {
	if err := json.Unmarshal(body, p); err != nil {
		return fmt.Errorf("eBay GET %s: decoding the answer: %w", locationsPath, err)
	}
	if p.Total == nil || *p.Total < 0 {
		return fmt.Errorf("eBay GET %s: the answer has no usable total", locationsPath)
	}
	for _, l := range p.Locations {
		if l.MerchantLocationKey == "" {
			return fmt.Errorf("eBay GET %s: a location without merchantLocationKey", locationsPath)
		}
	}
	return nil
}
