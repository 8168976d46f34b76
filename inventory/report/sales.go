package report

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
)

// Journals is what the reports read of the ledger's journals.
type Journals interface {
	JournalsSince(ctx context.Context, from time.Time, fn func(sku string, entries []inventory.JournalMovement, short bool) error) error
}

// SalesRow is one group's figures over the window.
//
// Units are what order lines took: ordered units (a sale reserves them, or
// ships them at once). Cancelled units are those released by cancels (and
// by quantity edits down), returned units those put back on the shelf by a
// return (restocked; a return written off by a channel's order update moves
// no stock and is not in the journal, see the README). Net units = units −
// cancelled − returned. Orders count distinct orders (channel and order
// id) with units in the group; an order whose lines are of two SKUs counts
// once in each SKU's row and once in the total. Cancelled and returned
// orders count the orders with cancelled or returned units in the group.
type SalesRow struct {
	Key             string `json:"key"`
	Orders          int64  `json:"orders"`
	Units           int64  `json:"units"`
	CancelledOrders int64  `json:"cancelled_orders"`
	CancelledUnits  int64  `json:"cancelled_units"`
	ReturnedOrders  int64  `json:"returned_orders"`
	ReturnedUnits   int64  `json:"returned_units"`
	NetUnits        int64  `json:"net_units"`
}

// Sales is a sales report: rows per channel, SKU or day (UTC), and the
// total over them. Rows per SKU are sorted by net units, most first (the
// top movers); others by key. SKUs is how many SKUs moved in the window,
// Entries how many journal entries it read; ShortJournals counts the SKUs
// whose journal (ledger.journal_max_len entries) does not reach back to
// From, so their figures miss the start of the window.
type Sales struct {
	From          time.Time  `json:"from"`
	To            time.Time  `json:"to"`
	By            Grouping   `json:"by"`
	Rows          []SalesRow `json:"rows"`
	Total         SalesRow   `json:"total"`
	SKUs          int        `json:"skus"`
	Entries       int64      `json:"entries"`
	ShortJournals int        `json:"short_journals"`
}

// Movement is what one order line change did, taken apart from the
// journal's figures before and after it (Δon_hand, Δreserved): a line's
// contribution is reserved = ordered − shipped − cancelled and on_hand =
// restocked − shipped, so Δon_hand < 0 is a shipment, > 0 a restocked
// return, and what remains of Δreserved once the shipment is added back is
// ordered (> 0) or cancelled (< 0) units. A state that moves several
// figures at once splits the same way: shipping and restocking together,
// or ordering more and cancelling some in one update, show as their net.
type Movement struct {
	Ordered, Cancelled, Returned, Shipped int64
}

// LineMovement takes apart one order line entry's Δon_hand and Δreserved.
func LineMovement(dOnHand, dReserved int64) Movement {
	var m Movement
	if dOnHand < 0 {
		m.Shipped = -dOnHand
	} else {
		m.Returned = dOnHand
	}
	if x := dReserved + m.Shipped; x > 0 {
		m.Ordered = x
	} else {
		m.Cancelled = -x
	}
	return m
}

// writeOffQty reads the quantity of a written-off return from its journal
// cause, as Ledger.Return writes it: "<reason> (<n>)" or "return <n>".
var writeOffQty = regexp.MustCompile(`(?:\((\d+)\)|^return (\d+))$`)

// returnRef reads the channel and order of a return booked through
// Ledger.Return from its operation key, as the ingester writes it:
// "<channel>:<order>:<return>:<line>"; another key is ("-", key).
func returnRef(key string) (channel, order string) {
	parts := strings.Split(key, ":")
	if len(parts) < 4 || parts[0] == "" {
		return "-", key
	}
	return parts[0], strings.Join(parts[1:len(parts)-2], ":")
}

// SalesReport reads every journal entry since from (now: the end) and sums
// it by by.
func SalesReport(ctx context.Context, j Journals, from, now time.Time, by Grouping) (*Sales, error) {
	if _, err := ParseGrouping(string(by)); err != nil {
		return nil, err
	}
	a := newSalesAgg(by)
	err := j.JournalsSince(ctx, from, func(sku string, es []inventory.JournalMovement, short bool) error {
		a.sku(sku, es, short)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sales report: %w", err)
	}
	return a.result(from, now), nil
}

// salesAgg sums movements into rows. flags records, per row and order
// (row key, NUL, channel, 0x1f, order; the total's with an empty row key),
// which of ordered, cancelled and returned the order has had in that row,
// for the distinct counts; buf builds those keys without allocating for a
// lookup.
type salesAgg struct {
	by    Grouping
	rows  map[string]*SalesRow
	total SalesRow
	flags map[string]uint8
	days  map[int64]string // unix day -> its date, for ByDay
	buf   []byte
	out   Sales
}

func newSalesAgg(by Grouping) *salesAgg {
	return &salesAgg{by: by, rows: map[string]*SalesRow{}, flags: map[string]uint8{}, days: map[int64]string{}}
}

// event is one movement attributed to a channel and order.
type event struct {
	channel, order string
	at             time.Time
	m              Movement
}

// sku adds one SKU's entries. Two adjacent line entries of one line, one
// version and one time are one change that moved the line between
// locations (line.lua takes it from the old one, then puts it at the new
// one): they are added together first, so the move is no cancel and sale.
func (a *salesAgg) sku(sku string, es []inventory.JournalMovement, short bool) {
	a.out.SKUs++
	a.out.Entries += int64(len(es))
	if short {
		a.out.ShortJournals++
	}
	for i := 0; i < len(es); i++ {
		e := es[i]
		ev, ok := toEvent(e)
		if !ok {
			continue
		}
		if e.Op == inventory.OpLine {
			dh, dr := e.After.OnHand-e.Before.OnHand, e.After.Reserved-e.Before.Reserved
			for i+1 < len(es) && sameChange(e, es[i+1]) {
				i++
				dh += es[i].After.OnHand - es[i].Before.OnHand
				dr += es[i].After.Reserved - es[i].Before.Reserved
			}
			ev.m = LineMovement(dh, dr)
		}
		a.add(sku, ev)
	}
}

func sameChange(a, b inventory.JournalMovement) bool {
	return b.Op == inventory.OpLine && a.Channel == b.Channel && a.OrderID == b.OrderID && a.LineID == b.LineID &&
		a.Version == b.Version && a.Time.Equal(b.Time)
}

// toEvent attributes an entry: order lines by their ids, returns booked
// through Ledger.Return (restock, writeoff) by their key. Other entries
// (receipts, adjustments, counts) are no sales.
func toEvent(e inventory.JournalMovement) (event, bool) {
	switch e.Op {
	case inventory.OpLine:
		return event{channel: e.Channel, order: e.OrderID, at: e.Time}, true
	case inventory.OpRestock, inventory.OpWriteOff:
		ch, order := returnRef(e.Ref)
		q := e.After.OnHand - e.Before.OnHand
		if e.Op == inventory.OpWriteOff {
			q = 0
			if m := writeOffQty.FindStringSubmatch(e.Cause); m != nil {
				q, _ = strconv.ParseInt(m[1]+m[2], 10, 64)
			}
		}
		return event{channel: ch, order: order, at: e.Time, m: Movement{Returned: q}}, q > 0
	}
	return event{}, false
}

func (a *salesAgg) add(sku string, ev event) {
	var key string
	switch a.by {
	case ByChannel:
		key = ev.channel
	case BySKU:
		key = sku
	default:
		key = a.day(ev.at)
	}
	r := a.rows[key]
	if r == nil {
		r = &SalesRow{Key: key}
		a.rows[key] = r
	}
	a.addTo(r, key, ev)
	a.addTo(&a.total, "", ev)
}

func (a *salesAgg) day(t time.Time) string {
	d := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		d--
	}
	s, ok := a.days[d]
	if !ok {
		s = t.UTC().Format(time.DateOnly)
		a.days[d] = s
	}
	return s
}

// Kinds of an order's movements in a row (salesAgg.flags).
const (
	hadOrdered uint8 = 1 << iota
	hadCancelled
	hadReturned
)

// addTo adds ev's movement to r, whose key is row.
func (a *salesAgg) addTo(r *SalesRow, row string, ev event) {
	m := ev.m
	r.Units += m.Ordered
	r.CancelledUnits += m.Cancelled
	r.ReturnedUnits += m.Returned
	r.NetUnits += m.Ordered - m.Cancelled - m.Returned
	var now uint8
	if m.Ordered > 0 {
		now |= hadOrdered
	}
	if m.Cancelled > 0 {
		now |= hadCancelled
	}
	if m.Returned > 0 {
		now |= hadReturned
	}
	if now == 0 {
		return
	}
	a.buf = append(append(append(append(append(a.buf[:0], row...), 0), ev.channel...), 0x1f), ev.order...)
	had := a.flags[string(a.buf)]
	if fresh := now &^ had; fresh != 0 {
		if fresh&hadOrdered != 0 {
			r.Orders++
		}
		if fresh&hadCancelled != 0 {
			r.CancelledOrders++
		}
		if fresh&hadReturned != 0 {
			r.ReturnedOrders++
		}
		a.flags[string(a.buf)] = had | now
	}
}

func (a *salesAgg) result(from, now time.Time) *Sales {
	s := a.out
	s.From, s.To, s.By = from.UTC(), now.UTC(), a.by
	s.Total = a.total
	s.Total.Key = "total"
	s.Rows = make([]SalesRow, 0, len(a.rows))
	for _, r := range a.rows {
		s.Rows = append(s.Rows, *r)
	}
	sort.Slice(s.Rows, func(i, j int) bool {
		ri, rj := s.Rows[i], s.Rows[j]
		if a.by == BySKU && ri.NetUnits != rj.NetUnits {
			return ri.NetUnits > rj.NetUnits
		}
		return ri.Key < rj.Key
	})
	return &s
}
