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
}

// Converged is true when every SKU matches on every channel.
func (c Convergence) Converged() bool { return c.Matching == c.SKUs }

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

// WaitConverged checks until every SKU matches or bound has passed (or
// ctx ends), and returns the last check.
func WaitConverged(ctx context.Context, l *inventory.Ledger, cfg *config.Config, f *Fakes, skus []string, bound time.Duration) (Convergence, error) {
	deadline := time.Now().Add(bound)
	checks := 0
	for {
		c, err := Check(ctx, l, cfg, f, skus)
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
