package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// Mismatch is a SKU a channel lists at another quantity than the ledger's ATS.
type Mismatch struct {
	Channel string `json:"channel"`
	SKU     string `json:"sku"`
	Listed  int64  `json:"listed"`
	Listing bool   `json:"listing_exists"`
	ATS     int64  `json:"ats"`
}

// Convergence is the result of comparing every fake's listings with the ledger.
type Convergence struct {
	SKUs     int        `json:"skus"`
	Matching int        `json:"matching"` // SKUs that match on every channel
	Sample   []Mismatch `json:"mismatches,omitempty"`
	Checks   int        `json:"checks"`
	// Listings are the catalogue's mapped listings and kits, one per
	// channel that sells it, each with what the fake lists and what the
	// engine's propagator says it should (CheckCatalog).
	Listings []ListingState `json:"catalog_listings,omitempty"`
}

// ListingState is one mapped listing or kit on one channel.
type ListingState struct {
	Channel string `json:"channel"`
	Listing string `json:"listing"`
	Listed  int64  `json:"listed"`
	Exists  bool   `json:"listing_exists"`
	Want    int64  `json:"propagator"`
}

// Matches says whether the channel lists what the propagator says.
func (l ListingState) Matches() bool { return l.Exists && l.Listed == l.Want }

// ListingsMatching counts the catalogue listings that match.
func (c Convergence) ListingsMatching() int {
	n := 0
	for _, l := range c.Listings {
		if l.Matches() {
			n++
		}
	}
	return n
}

// Converged is true when every SKU matches on every channel, and every
// mapped listing and kit too.
func (c Convergence) Converged() bool {
	return c.Matching == c.SKUs && c.ListingsMatching() == len(c.Listings)
}

const (
	checkChunk = 1000 // SKUs read from the ledger per call
	sampleMax  = 10
)

// Check compares, for every SKU of skus and every channel of cfg, the
// quantity the channel's fake lists with the ATS the channel's allocation
// gives from the ledger's stock now.
func Check(ctx context.Context, l *inventory.Ledger, cfg *config.Config, f *Fakes, skus []string) (Convergence, error) {
	c := Convergence{SKUs: len(skus), Checks: 1}
	for start := 0; start < len(skus); start += checkChunk {
		chunk := skus[start:min(start+checkChunk, len(skus))]
		stock, err := l.StockMany(ctx, chunk)
		if err != nil {
			return c, fmt.Errorf("reading the ledger: %w", err)
		}
		for _, sku := range chunk {
			avail := map[string]int64{}
			for loc, lv := range stock[sku].Locations {
				avail[loc] = lv.Available
			}
			ok := true
			for _, ch := range cfg.Channels {
				want := propagate.ATS(avail, ch.Locations, propagate.Allocation(ch.Allocation))
				listed, exists := f.Listed(ch.Name, sku)
				if exists && listed == want {
					continue
				}
				ok = false
				if len(c.Sample) < sampleMax {
					c.Sample = append(c.Sample, Mismatch{Channel: ch.Name, SKU: sku, Listed: listed, Listing: exists, ATS: want})
				}
			}
			if ok {
				c.Matching++
			}
		}
	}
	return c, nil
}

// CheckCatalog is Check with the catalogue's mapped listings and kits
// besides: on every channel, each of them must list what the engine's
// propagator says (once Seed applied the catalog; before, it checks the
// SKUs only).
func (c *Catalog) CheckCatalog(ctx context.Context, l *inventory.Ledger, cfg *config.Config, f *Fakes) (Convergence, error) {
	conv, err := Check(ctx, l, cfg, f, c.SKUs())
	if err != nil || c.lister == nil {
		return conv, err
	}
	var names []string
	for _, k := range c.Kits {
		names = append(names, k.SKU)
	}
	for _, m := range c.Mappings {
		names = append(names, m.SKU)
	}
	want, err := c.lister.Listed(ctx, names...)
	if err != nil {
		return conv, fmt.Errorf("computing what the catalogue's listings should list: %w", err)
	}
	for _, ch := range cfg.Channels {
		for _, listing := range c.Listings(ch.Name) {
			q, ok := want[ch.Name][listing]
			if !ok {
				return conv, fmt.Errorf("the propagator lists nothing for %s on %s", listing, ch.Name)
			}
			listed, exists := f.Listed(ch.Name, listing)
			conv.Listings = append(conv.Listings, ListingState{Channel: ch.Name, Listing: listing, Listed: listed, Exists: exists, Want: q})
		}
	}
	return conv, nil
}

// WaitConverged is the package's WaitConverged with the catalogue's
// mapped listings and kits checked too (CheckCatalog).
func (c *Catalog) WaitConverged(ctx context.Context, l *inventory.Ledger, cfg *config.Config, f *Fakes, bound time.Duration) (Convergence, error) {
	return waitConverged(ctx, bound, func() (Convergence, error) { return c.CheckCatalog(ctx, l, cfg, f) })
}

// WaitConverged checks until every SKU matches or bound has passed (or
// ctx ends), and returns the last check.
func WaitConverged(ctx context.Context, l *inventory.Ledger, cfg *config.Config, f *Fakes, skus []string, bound time.Duration) (Convergence, error) {
	return waitConverged(ctx, bound, func() (Convergence, error) { return Check(ctx, l, cfg, f, skus) })
}

// waitConverged runs check until it finds convergence, bound passes or ctx ends.
func waitConverged(ctx context.Context, bound time.Duration, check func() (Convergence, error)) (Convergence, error) {
	deadline := time.Now().Add(bound)
	checks := 0
	for {
		c, err := check()
		checks++
		c.Checks = checks
		if err != nil || c.Converged() || time.Now().After(deadline) {
			return c, err
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return c, ctx.Err()
		case <-t.C:
		}
	}
}
