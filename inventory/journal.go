package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Journal operations (JournalEntry.Op).
const (
	OpLine     = "line"      // an order line's state moved stock
	OpReceive  = "receive"   // Receive
	OpAdjust   = "adjust"    // Adjust
	OpCount    = "count"     // SetCount, physical figure
	OpCountNet = "count_net" // SetCount, figure net of reservations
	OpRestock  = "restock"   // Return, restocked
	OpWriteOff = "writeoff"  // Return, written off
)

// JournalEntry is one movement of a SKU's figures at one location.
type JournalEntry struct {
	ID       string // the stream entry id
	Time     time.Time
	Op       string
	Cause    string // reason, or "v=<version>" for lines and counts
	Ref      string // channel/order/line, or the operation key
	Location string
	Before   Level
	After    Level
}

// History returns the SKU's newest n journal entries, oldest first.
func (l *Ledger) History(ctx context.Context, sku string, n int64) ([]JournalEntry, error) {
	if n <= 0 {
		return nil, fmt.Errorf("history: %w: n must be positive", ErrInvalid)
	}
	msgs, err := l.rdb.XRevRangeN(ctx, l.keys(sku).journal, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading journal of %s: %w", sku, err)
	}
	return decodeJournal(sku, msgs, true)
}

func decodeJournal(sku string, msgs []redis.XMessage, reverse bool) ([]JournalEntry, error) {
	out := make([]JournalEntry, len(msgs))
	for i, m := range msgs {
		e, err := decodeJournalEntry(m.ID, m.Values)
		if err != nil {
			return nil, fmt.Errorf("journal of %s: %w", sku, err)
		}
		j := i
		if reverse {
			j = len(msgs) - 1 - i
		}
		out[j] = e
	}
	return out, nil
}

// decodeJournalEntry parses one stream entry written by the scripts.
func decodeJournalEntry(id string, v map[string]any) (JournalEntry, error) {
	str := func(k string) (string, bool) {
		s, ok := v[k].(string)
		return s, ok
	}
	e := JournalEntry{ID: id}
	var ok [4]bool
	e.Op, ok[0] = str("o")
	e.Cause, ok[1] = str("c")
	e.Ref, ok[2] = str("f")
	e.Location, ok[3] = str("l")
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] || e.Op == "" || e.Location == "" {
		return JournalEntry{}, fmt.Errorf("entry %s: missing fields", id)
	}
	var n [5]int64
	for i, k := range []string{"h0", "r0", "h1", "r1", "t"} {
		s, _ := str(k)
		x, err := parseStoredInt(s)
		if err != nil {
			return JournalEntry{}, fmt.Errorf("entry %s: field %s: %w", id, k, err)
		}
		n[i] = x
	}
	e.Before, e.After = level(n[0], n[1]), level(n[2], n[3])
	e.Time = time.UnixMilli(n[4]).UTC()
	return e, nil
}
