package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Inconsistency is one thing Verify found wrong.
type Inconsistency struct {
	SKU, Location string
	What          string
	Expected      string
	Actual        string
}

func (i Inconsistency) String() string {
	return fmt.Sprintf("%s @ %s: %s: expected %s, got %s", i.SKU, i.Location, i.What, i.Expected, i.Actual)
}

// Verify checks each SKU (nil = every SKU) and reports every inconsistency:
//
//   - each location's reserved equals the sum of its open line records;
//   - the journal chain over the newest Options.VerifyDepth entries (and
//     the SKU's opening rows before them, when the window reaches back to
//     the stream's start and the stream follows them, openingChains:
//     SetCounts, History): each
//     entry's "after" equals the next entry's "before" at that location, and
//     the last "after" equals the current figures (the journal is trimmed,
//     so it is never replayed from zero);
//   - each entry adds up: its op moved what that op moves (receive and
//     restock raise on_hand, adjust moves it, none of them nor a count or
//     write-off touches reserved, an order line moves something), so a
//     movement recorded as applied that changed nothing is caught;
//   - every figure, stored or journaled, within ±MaxQuantity;
//   - no negative reserved; line records internally consistent and decodable.
//
// Each SKU is read in one MULTI/EXEC, so concurrent writes cannot fake an
// inconsistency. A SKU named explicitly that does not exist is an error
// wrapping ErrUnknownSKU.
func (l *Ledger) Verify(ctx context.Context, skus []string) ([]Inconsistency, error) {
	var out []Inconsistency
	check := func(page []string) error {
		found, err := l.verifyPage(ctx, page, skus != nil)
		out = append(out, found...)
		return err
	}
	if skus != nil {
		for start := 0; start < len(skus); start += 100 {
			if err := check(skus[start:min(start+100, len(skus))]); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	err := l.SKUs(ctx, check)
	return out, err
}

type skuSnapshot struct {
	stock   *redis.MapStringStringCmd
	lines   *redis.MapStringStringCmd
	journal *redis.XMessageSliceCmd
	opening *redis.StringCmd // the SKU's opening rows (count_bulk.lua)
}

func (l *Ledger) verifyPage(ctx context.Context, skus []string, named bool) ([]Inconsistency, error) {
	snaps := make([]skuSnapshot, len(skus))
	read := func(from, to int) error {
		_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i := from; i < to; i++ {
				k := l.keys(skus[i])
				snaps[i] = skuSnapshot{
					stock:   p.HGetAll(ctx, k.stock),
					lines:   p.HGetAll(ctx, k.lines),
					journal: p.XRevRangeN(ctx, k.journal, "+", "-", l.opts.VerifyDepth),
					opening: p.HGet(ctx, l.openingKey(skus[i]), skus[i]),
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("verify: reading %s: %w", skus[from], err)
		}
		return snapshotErr(skus[from:to], snaps[from:to])
	}
	// One MULTI per page on a single Redis; on a Cluster a MULTI must stay
	// within one slot, so one per SKU.
	if l.cluster {
		for i := range skus {
			if err := read(i, i+1); err != nil {
				return nil, err
			}
		}
	} else if err := read(0, len(skus)); err != nil {
		return nil, err
	}
	var out []Inconsistency
	for i, sku := range skus {
		stock, lines, msgs := snaps[i].stock.Val(), snaps[i].lines.Val(), snaps[i].journal.Val()
		opening := snaps[i].opening.Val()
		if len(stock) == 0 {
			if len(lines) > 0 || len(msgs) > 0 || opening != "" {
				out = append(out, Inconsistency{SKU: sku, What: "records or journal of a SKU without figures", Expected: "no records", Actual: fmt.Sprintf("%d line records, %d journal entries, opening rows %q", len(lines), len(msgs), opening)})
				continue
			}
			if named {
				return out, fmt.Errorf("verify %s: %w", sku, ErrUnknownSKU)
			}
			continue
		}
		if int64(len(msgs)) >= min(l.opts.VerifyDepth, l.opts.JournalMaxLen) || !openingChainsMsgs(opening, msgs) {
			opening = "" // older than the window, or than a trimmed stream (History)
		}
		out = append(out, verifySKU(sku, stock, lines, opening, msgs)...)
	}
	return out, nil
}

// snapshotErr returns the first read error of snaps: TxPipelined returns
// only the first failed command's, and the opening rows' HGET fails with
// redis.Nil for nearly every SKU (none), which must not hide another
// command's error. redis.Nil is tolerated for that HGET only.
func snapshotErr(skus []string, snaps []skuSnapshot) error {
	for i, s := range snaps {
		for _, c := range []redis.Cmder{s.stock, s.lines, s.journal} {
			if err := c.Err(); err != nil {
				return fmt.Errorf("verify: reading %s: %w", skus[i], err)
			}
		}
		if err := s.opening.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("verify: reading the opening rows of %s: %w", skus[i], err)
		}
	}
	return nil
}

// openingChainsMsgs reports whether the opening rows come right before
// the stream newestFirst holds whole (openingChains); undecodable opening
// rows are kept, for checkJournalChain to report.
func openingChainsMsgs(opening string, newestFirst []redis.XMessage) bool {
	rows, err := decodeOpening(opening)
	if err != nil || len(rows) == 0 {
		return true
	}
	return openingChains(rows, len(newestFirst), func(i int) (JournalEntry, bool) {
		m := newestFirst[len(newestFirst)-1-i]
		e, err := decodeJournalEntry(m.ID, m.Values)
		return e, err == nil
	})
}

// verifySKU is Verify's pure part, on one SKU's stored data: opening is
// its opening rows ("" when none, or when the journal window does not
// reach them), which come before the oldest entry of newestFirst.
func verifySKU(sku string, stock, lines map[string]string, opening string, newestFirst []redis.XMessage) []Inconsistency {
	r := &skuReport{sku: sku}
	figs := r.checkFigures(stock)
	reserved := r.checkLineRecords(lines)
	r.checkReserved(stock, figs, reserved)
	last := r.checkJournalChain(opening, newestFirst)
	r.checkJournalEnd(stock, figs, last)
	return r.out
}

// skuReport collects what Verify finds wrong with one SKU.
type skuReport struct {
	sku string
	out []Inconsistency
}

func (r *skuReport) add(loc, what, exp, act string) {
	r.out = append(r.out, Inconsistency{SKU: r.sku, Location: loc, What: what, Expected: exp, Actual: act})
}

// checkFigures decodes each location's figures and checks their range and
// that reserved is not negative; it returns the figures that decode (a
// location whose figures do not is reported here, and skipped later).
func (r *skuReport) checkFigures(stock map[string]string) map[string]Level {
	figs := map[string]Level{}
	for loc, v := range stock {
		f, err := decodeFigures(v)
		if err != nil {
			r.add(loc, "undecodable figures", "onhand,reserved[,version]", strconv.Quote(v))
			continue
		}
		figs[loc] = f.Level
		if p := outOfRange(f.Level); p != "" {
			r.add(loc, "figure out of range", fmt.Sprintf("within ±%d", MaxQuantity), p)
		}
		if f.Reserved < 0 {
			r.add(loc, "negative reserved", ">= 0", strconv.FormatInt(f.Reserved, 10))
		}
	}
	return figs
}

// checkLineRecords checks each line record decodes and is internally
// consistent, and returns what the open lines reserve per location.
func (r *skuReport) checkLineRecords(lines map[string]string) map[string]int64 {
	reserved := map[string]int64{}
	for field, v := range lines {
		rec, err := decodeLineRecord(v)
		if err != nil {
			r.add("", "undecodable line record "+strconv.Quote(field), "version,ordered,shipped,cancelled,restocked,writtenoff,location", strconv.Quote(v))
			continue
		}
		if _, _, _, err := splitLineField(field); err != nil {
			r.add(rec.Location, "undecodable line field", "channel\\x1forder\\x1fline", strconv.Quote(field))
		}
		for _, p := range rec.problems() {
			r.add(rec.Location, "line record "+strconv.Quote(field)+" inconsistent", "shipped+cancelled <= ordered, returned <= shipped", p)
		}
		if rec.Reserved > 0 {
			for loc, lv := range rec.Shares() {
				reserved[loc] += lv.Reserved
			}
		}
	}
	return reserved
}

// checkReserved compares, at every location with figures or open lines,
// reserved with what the open lines reserve.
func (r *skuReport) checkReserved(stock map[string]string, figs map[string]Level, reserved map[string]int64) {
	locs := map[string]bool{}
	for loc := range figs {
		locs[loc] = true
	}
	for loc := range reserved {
		locs[loc] = true
	}
	for _, loc := range sortedKeys(locs) {
		fig, ok := figs[loc]
		if !ok && stock[loc] != "" {
			continue // undecodable, reported by checkFigures
		}
		if fig.Reserved != reserved[loc] {
			r.add(loc, "reserved differs from the open order lines", strconv.FormatInt(reserved[loc], 10), strconv.FormatInt(fig.Reserved, 10))
		}
	}
}

// checkJournalChain checks each journal entry adds up and, per location,
// starts from the figures the one before it ended with; it returns each
// location's last entry. The chain runs oldest first: the opening rows,
// then the stream.
func (r *skuReport) checkJournalChain(opening string, newestFirst []redis.XMessage) map[string]JournalEntry {
	last := map[string]JournalEntry{}
	rows, err := decodeOpening(opening)
	if err != nil {
		r.add("", "undecodable opening rows", "<length>:<entry>...", err.Error())
	}
	for _, e := range rows {
		r.chainStep(last, e)
	}
	for i := len(newestFirst) - 1; i >= 0; i-- {
		m := newestFirst[i]
		e, err := decodeJournalEntry(m.ID, m.Values)
		if err != nil {
			r.add("", "undecodable journal entry "+m.ID, "m = op,h0,r0,h1,r1,t,...", err.Error())
			continue
		}
		r.chainStep(last, e)
	}
	return last
}

// chainStep checks e adds up and follows its location's last entry.
func (r *skuReport) chainStep(last map[string]JournalEntry, e JournalEntry) {
	if p := entryProblem(e); p != "" {
		r.add(e.Location, "journal entry "+e.ID+" ("+e.Op+") does not add up", p, figString(e.Before)+" -> "+figString(e.After))
	}
	if prev, ok := last[e.Location]; ok && !sameFigures(prev.After, e.Before) {
		r.add(e.Location, "journal chain broken at "+e.ID+" (after "+prev.ID+")", figString(prev.After), figString(e.Before))
	}
	last[e.Location] = e
}

// checkJournalEnd checks each journaled location's figures are what its
// last entry left (the journal is trimmed, so it is never replayed from
// zero: its end is what can be checked).
func (r *skuReport) checkJournalEnd(stock map[string]string, figs map[string]Level, last map[string]JournalEntry) {
	for _, loc := range sortedKeys(locsOf(last)) {
		e := last[loc]
		fig, ok := figs[loc]
		if !ok {
			if stock[loc] == "" {
				r.add(loc, "journaled location without figures", figString(e.After), "missing")
			}
			continue
		}
		if !sameFigures(e.After, fig) {
			r.add(loc, "figures differ from the journal's last entry "+e.ID, figString(e.After), figString(fig))
		}
	}
}

// outOfRange describes a figure past ±MaxQuantity ("" when none is).
func outOfRange(lv Level) string {
	for _, v := range []int64{lv.OnHand, lv.Reserved} {
		if v > MaxQuantity || v < -MaxQuantity {
			return figString(lv)
		}
	}
	return ""
}

// entryProblem says what a journal entry's op should have moved, when its
// figures do not show it ("" when they do).
func entryProblem(e JournalEntry) string {
	b, a := e.Before, e.After
	if outOfRange(b) != "" || outOfRange(a) != "" {
		return fmt.Sprintf("figures within ±%d", MaxQuantity)
	}
	switch e.Op {
	case "receive", "restock":
		if a.OnHand <= b.OnHand || a.Reserved != b.Reserved {
			return "on_hand up, reserved unchanged"
		}
	case "adjust":
		if a.OnHand == b.OnHand || a.Reserved != b.Reserved {
			return "on_hand moved, reserved unchanged"
		}
	case "writeoff", "count", "count_net":
		if a.Reserved != b.Reserved {
			return "reserved unchanged"
		}
	case "line":
		if sameFigures(a, b) {
			return "on_hand or reserved moved"
		}
	}
	return ""
}

func sameFigures(a, b Level) bool { return a.OnHand == b.OnHand && a.Reserved == b.Reserved }

func figString(lv Level) string {
	return fmt.Sprintf("on_hand=%d reserved=%d", lv.OnHand, lv.Reserved)
}

func locsOf(m map[string]JournalEntry) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
