package inventory

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// LowSKU is one SKU at or below its reorder point, with its days of cover.
//
// Units sold in a window are how much order lines lowered the SKU's
// available stock in it, from the journal's line entries: Σ(Δreserved −
// Δon_hand). A sale reserves (+q), shipping a reserved line moves on_hand
// and reserved alike (0), a line shipped at once takes on_hand (+q), a
// cancel releases (−q) and a restocked return puts back (−q); a negative
// sum counts as 0. Days of cover = available ÷ (units sold ÷ days in the
// window), 0 when none is available; none (null) when nothing sold.
// JournalShort says the SKU's journal (its newest Options.JournalMaxLen
// entries) does not reach back 28 days, so the 28-day figure is low.
type LowSKU struct {
	SKU          string   `json:"sku"`
	State        string   `json:"state"` // "low" or "out"
	Available    int64    `json:"available"`
	ReorderPoint int64    `json:"reorder_point"`
	ReorderQty   *int64   `json:"reorder_qty,omitempty"`
	Sold7        int64    `json:"sold_7d"`
	Sold28       int64    `json:"sold_28d"`
	Cover7       *float64 `json:"days_of_cover_7d"`
	Cover28      *float64 `json:"days_of_cover_28d"`
	JournalShort bool     `json:"journal_short,omitempty"`
}

// BelowReorder lists the SKUs at or below their effective reorder point
// (own or default: EffectiveReorder; by the state the scripts keep),
// sorted by SKU, with their current figures and
// days of cover from the last 7 and 28 days of sales in the journal.
func (l *Ledger) BelowReorder(ctx context.Context) ([]LowSKU, error) {
	var skus []string
	err := l.SignalStates(ctx, func(page map[string]string) error {
		for sku, st := range page {
			if st == "low" || st == "out" {
				skus = append(skus, sku)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(skus)
	defs, err := l.ReorderDefaults(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LowSKU, 0, len(skus))
	for _, sku := range skus {
		row, ok, err := l.lowSKU(ctx, sku, defs)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, row)
		}
	}
	return out, nil
}

func (l *Ledger) lowSKU(ctx context.Context, sku string, defs ReorderDefaults) (LowSKU, bool, error) {
	own, _, err := l.ReorderOf(ctx, sku)
	if err != nil {
		return LowSKU{}, false, err
	}
	st, err := l.Stock(ctx, sku)
	if err != nil {
		return LowSKU{}, false, err
	}
	set, ok := EffectiveReorder(own, st.LocationIDs(), defs.Defaults)
	if !ok {
		return LowSKU{}, false, nil
	}
	row := LowSKU{SKU: sku, State: set.State, ReorderPoint: set.Point, ReorderQty: set.Qty}
	for _, a := range st.Available() {
		row.Available += a
	}
	if row.Available > row.ReorderPoint { // moved since the state was read
		return LowSKU{}, false, nil
	}
	now := l.opts.Now()
	if row.Sold7, row.Sold28, row.JournalShort, err = l.sold(ctx, sku, now); err != nil {
		return LowSKU{}, false, err
	}
	row.Cover7, row.Cover28 = cover(row.Available, row.Sold7, 7), cover(row.Available, row.Sold28, 28)
	return row, true, nil
}

// sold sums what order lines took from available in the last 7 and 28
// days (see LowSKU), reading the journal newest first, a page at a time,
// until an entry is older than 28 days (entries carry the ledger's time).
func (l *Ledger) sold(ctx context.Context, sku string, now time.Time) (s7, s28 int64, short bool, err error) {
	from := now.Add(-28 * 24 * time.Hour)
	cut7 := now.Add(-7 * 24 * time.Hour)
	key, end, seen := l.keys(sku).journal, "+", int64(0)
	for {
		msgs, err := l.rdb.XRevRangeN(ctx, key, end, "-", 500).Result()
		if err != nil {
			return 0, 0, false, fmt.Errorf("reading journal of %s: %w", sku, err)
		}
		js, err := decodeJournal(sku, msgs, false)
		if err != nil {
			return 0, 0, false, err
		}
		for _, e := range js {
			if e.Time.Before(from) {
				return max(s7, 0), max(s28, 0), false, nil
			}
			if e.Op != OpLine {
				continue
			}
			d := (e.After.Reserved - e.Before.Reserved) - (e.After.OnHand - e.Before.OnHand)
			s28 += d
			if !e.Time.Before(cut7) {
				s7 += d
			}
		}
		seen += int64(len(msgs))
		if len(msgs) < 500 {
			// The whole journal is younger than 28 days; trimmed if it
			// is at its maximum length.
			return max(s7, 0), max(s28, 0), seen >= l.opts.JournalMaxLen, nil
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
}

func cover(avail, sold int64, days float64) *float64 {
	if sold <= 0 {
		return nil
	}
	if avail <= 0 {
		avail = 0
	}
	c := float64(avail) / (float64(sold) / days)
	return &c
}
