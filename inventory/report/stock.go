package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
)

// StockLedger is what the stock report reads of the ledger.
type StockLedger interface {
	Journals
	SKUs(ctx context.Context, fn func([]string) error) error
	StockMany(ctx context.Context, skus []string) (map[string]inventory.SKUStock, error)
	ReorderMany(ctx context.Context, skus []string) (map[string]inventory.ReorderSetting, error)
	ReorderDefaults(ctx context.Context) (inventory.ReorderDefaults, error)
}

// StockRow is one SKU at one location. ReorderPoint and ReorderQty are
// that location's effective settings: the SKU's own there, else the
// location's default reorder point, else the "*" default (nil: none; a
// SKU's signals compare its available summed over locations with the sum
// of the points; inventory.EffectiveReorder). ReorderDefault names the
// default a point comes from ("" for the SKU's own; JSON only). Sold7 and
// Sold28 are the units order lines took from available at this location
// in the last 7 and 28 days (as `stock low` counts them: Σ(Δreserved −
// Δon_hand) over the location's order line entries, at least 0); days of
// cover = available ÷ (sold ÷ days), 0 when none is available, nil when
// nothing sold. JournalShort: the SKU's journal does not reach back 28
// days, so the sold figures are low.
type StockRow struct {
	SKU            string   `json:"sku"`
	Location       string   `json:"location"`
	OnHand         int64    `json:"on_hand"`
	Reserved       int64    `json:"reserved"`
	Available      int64    `json:"available"`
	ReorderPoint   *int64   `json:"reorder_point"`
	ReorderQty     *int64   `json:"reorder_qty"`
	ReorderDefault string   `json:"reorder_default,omitempty"`
	Sold7          int64    `json:"sold_7d"`
	Sold28         int64    `json:"sold_28d"`
	Cover7         *float64 `json:"days_of_cover_7d"`
	Cover28        *float64 `json:"days_of_cover_28d"`
	JournalShort   bool     `json:"journal_short,omitempty"`
}

// soldAt is one SKU's units sold per location, 7 and 28 days.
type soldAt struct {
	s7, s28 map[string]int64
	short   bool
}

// StockReport lists every SKU at every location it has, sorted by SKU and
// location: one read of the last 28 days of the journals, then the figures
// and reorder settings 1,000 SKUs a round trip.
func StockReport(ctx context.Context, l StockLedger, now time.Time) ([]StockRow, error) {
	sold, err := soldByLocation(ctx, l, now)
	if err != nil {
		return nil, err
	}
	defs, err := l.ReorderDefaults(ctx)
	if err != nil {
		return nil, fmt.Errorf("stock report: %w", err)
	}
	var rows []StockRow
	err = l.SKUs(ctx, func(skus []string) error {
		st, err := l.StockMany(ctx, skus)
		if err != nil {
			return err
		}
		rp, err := l.ReorderMany(ctx, skus)
		if err != nil {
			return err
		}
		for _, sku := range skus {
			if s, ok := st[sku]; ok {
				eff, _ := inventory.EffectiveReorder(rp[sku], s.LocationIDs(), defs.Defaults)
				rows = appendStockRows(rows, s, eff, sold[sku])
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stock report: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].SKU != rows[j].SKU {
			return rows[i].SKU < rows[j].SKU
		}
		return rows[i].Location < rows[j].Location
	})
	return rows, nil
}

func soldByLocation(ctx context.Context, l Journals, now time.Time) (map[string]*soldAt, error) {
	cut7 := now.Add(-7 * 24 * time.Hour)
	out := map[string]*soldAt{}
	err := l.JournalsSince(ctx, now.Add(-28*24*time.Hour), func(sku string, es []inventory.JournalMovement, short bool) error {
		s := &soldAt{s7: map[string]int64{}, s28: map[string]int64{}, short: short}
		for _, e := range es {
			if e.Op != inventory.OpLine {
				continue
			}
			d := (e.After.Reserved - e.Before.Reserved) - (e.After.OnHand - e.Before.OnHand)
			s.s28[e.Location] += d
			if !e.Time.Before(cut7) {
				s.s7[e.Location] += d
			}
		}
		out[sku] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stock report: %w", err)
	}
	return out, nil
}

func appendStockRows(rows []StockRow, st inventory.SKUStock, rp inventory.ReorderSetting, sold *soldAt) []StockRow {
	points := map[string]inventory.Reorder{}
	for _, r := range rp.Locations {
		points[r.Location] = r
	}
	for loc, lv := range st.Locations {
		row := StockRow{SKU: st.SKU, Location: loc, OnHand: lv.OnHand, Reserved: lv.Reserved, Available: lv.Available}
		if r, ok := points[loc]; ok {
			p := r.Point
			row.ReorderPoint, row.ReorderQty, row.ReorderDefault = &p, r.Qty, r.Default
		}
		if sold != nil {
			row.Sold7, row.Sold28 = max(sold.s7[loc], 0), max(sold.s28[loc], 0)
			row.JournalShort = sold.short
		}
		row.Cover7, row.Cover28 = cover(row.Available, row.Sold7, 7), cover(row.Available, row.Sold28, 28)
		rows = append(rows, row)
	}
	return rows
}

// cover is days of cover: available ÷ (sold ÷ days); nil when nothing sold.
func cover(avail, sold int64, days float64) *float64 {
	if sold <= 0 {
		return nil
	}
	c := float64(max(avail, 0)) / (float64(sold) / days)
	return &c
}
