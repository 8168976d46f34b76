package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// journalPage is how many entries one XREVRANGE of JournalsSince asks a
// journal for; most SKUs' window fits in one.
const journalPage = 256

// journalScanCount is the SCAN COUNT of JournalsSince: a SKU has four or
// five keys and its orders one each, so a million keys are a hundred
// round trips instead of a thousand (each costs a whole round trip on a
// loaded Redis; one call looks at 10,000 keys, about a millisecond).
const journalScanCount = 10000

// journalWorkers read pages of journals at once (each a pipeline of up to
// 1000 XREVRANGEs); on a Cluster go-redis splits each pipeline by node.
const journalWorkers = 4

// JournalMovement is a journal entry as JournalsSince reads it. For an
// order line's (OpLine), Version, Channel, OrderID and LineID carry what
// History puts in Cause ("v=<version>") and Ref ("channel/order/line",
// ambiguous when ids hold '/'), and those two are left empty: a report
// reads a million of them.
type JournalMovement struct {
	JournalEntry
	Version, Channel, OrderID, LineID string
}

// JournalsSince calls fn with the journal entries of every SKU (found by
// SCAN of the journal keys; every master on a Cluster) whose time is at or
// after from, oldest first. Short says the SKU's journal was read to its
// start, holds at least Options.JournalMaxLen entries and its oldest is
// still after from: it was trimmed, so the window is incomplete. A SKU
// with no entry in the window is not reported.
//
// A SKU's opening rows (SetCounts: count_bulk.lua) are its first
// entries: they come before its stream's, when the stream was read to its
// start and its first entry at each location starts from what they left
// there (openingChains: a stream trimmed, even while JournalMaxLen was
// lower, does not), and alone for a SKU without a stream. A SKU's opening
// rows are read with its stream's first page (an HGET beside the first
// XREVRANGE); those of SKUs without a stream by a last pass over the
// opening hashes (openingOnly, HSCAN). Nothing is held beyond the SKUs
// being read: a day-one import of a million SKUs is not loaded at once.
// A SKU whose stream a movement starts while the report reads may be
// missed by both passes.
//
// It only reads: a SCAN (COUNT 10,000), then pipelined XREVRANGEs, journalPage entries
// each, of up to 1000 journals a round trip, journalWorkers pipelines at
// once, paging further back only for journals whose page is still inside
// the window. fn is called from one goroutine at a time; an error from it
// stops the read.
func (l *Ledger) JournalsSince(ctx context.Context, from time.Time, fn func(sku string, entries []JournalMovement, short bool) error) error {
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan []string, journalWorkers)
	var mu sync.Mutex
	locked := func(sku string, es []JournalMovement, short bool) error {
		if len(es) == 0 {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		return fn(sku, es, short)
	}
	for range journalWorkers {
		g.Go(func() error {
			for keys := range work {
				if err := l.readJournals(gctx, keys, from, locked); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		return l.scanKeysN(gctx, globEscape(l.opts.Prefix+"j:{")+"*}", "journals", journalScanCount, func(keys []string) error {
			select {
			case work <- keys:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return l.openingOnly(ctx, from, fn)
}

// movementsChain reports whether a SKU's opening rows come right before
// its stream, es (whole, oldest first): openingChains.
func movementsChain(rows []JournalEntry, es []JournalMovement) bool {
	return openingChains(rows, len(es), func(i int) (JournalEntry, bool) { return es[i].JournalEntry, true })
}

// inWindow returns the rows (oldest first) at or after from.
func inWindow(rows []JournalEntry, from time.Time) []JournalMovement {
	var out []JournalMovement
	for _, e := range rows {
		if !e.Time.Before(from) {
			out = append(out, JournalMovement{JournalEntry: e})
		}
	}
	return out
}

// openingSlotsPage is how many opening hashes (one per Cluster slot) one
// round trip of openingOnly scans; openingScanCount is its HSCAN COUNT (a
// slot's hash of a few hundred SKUs is a listpack, answered whole).
const (
	openingSlotsPage = 256
	openingScanCount = 1000
)

// openingOnly hands fn, slot by slot, the opening rows in the window of
// the SKUs without a journal stream (HSCAN of every slot's opening hash,
// then an EXISTS of each candidate's stream), SKU order within a page.
func (l *Ledger) openingOnly(ctx context.Context, from time.Time, fn func(string, []JournalMovement, bool) error) error {
	for start := 0; start < 16384; start += openingSlotsPage {
		slots := make([]int, openingSlotsPage)
		cursors := make([]uint64, openingSlotsPage)
		for i := range slots {
			slots[i] = start + i
		}
		for len(slots) > 0 {
			var err error
			if slots, cursors, err = l.openingScanRound(ctx, slots, cursors, from, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// openingScanRound runs one HSCAN of each slot's opening hash from its
// cursor, delivers what it found, and returns the slots (and cursors)
// with more to scan.
func (l *Ledger) openingScanRound(ctx context.Context, slots []int, cursors []uint64, from time.Time, fn func(string, []JournalMovement, bool) error) ([]int, []uint64, error) {
	cmds := make([]*redis.ScanCmd, len(slots))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, slot := range slots {
			cmds[i] = p.HScan(ctx, l.slotOpeningKey(slot), cursors[i], "", openingScanCount)
		}
		return nil
	})
	found := map[string][]JournalMovement{}
	var moreSlots []int
	var moreCursors []uint64
	for i, c := range cmds {
		kv, cursor, err := c.Result()
		if err != nil {
			return nil, nil, fmt.Errorf("scanning the opening rows of slot %d: %w", slots[i], err)
		}
		for j := 0; j+1 < len(kv); j += 2 {
			rows, err := decodeOpening(kv[j+1])
			if err != nil {
				return nil, nil, fmt.Errorf("opening rows of %s: %w", kv[j], err)
			}
			if es := inWindow(rows, from); len(es) > 0 {
				found[kv[j]] = es
			}
		}
		if cursor != 0 {
			moreSlots, moreCursors = append(moreSlots, slots[i]), append(moreCursors, cursor)
		}
	}
	return moreSlots, moreCursors, l.deliverStreamless(ctx, found, fn)
}

// deliverStreamless hands fn, in SKU order, the opening rows of the SKUs
// of found that have no journal stream (those with one were delivered
// with it).
func (l *Ledger) deliverStreamless(ctx context.Context, found map[string][]JournalMovement, fn func(string, []JournalMovement, bool) error) error {
	skus := make([]string, 0, len(found))
	for sku := range found {
		skus = append(skus, sku)
	}
	sort.Strings(skus)
	exists := make([]*redis.IntCmd, len(skus))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sku := range skus {
			exists[i] = p.Exists(ctx, l.keys(sku).journal)
		}
		return nil
	})
	for i, sku := range skus {
		n, err := exists[i].Result()
		if err != nil {
			return fmt.Errorf("reading whether %s has a journal stream: %w", sku, err)
		}
		if n > 0 {
			continue
		}
		if err := fn(sku, found[sku], false); err != nil {
			return err
		}
	}
	return nil
}

// journalRead is one journal being read newest first.
type journalRead struct {
	sku, key, end string // end: the next XREVRANGE's upper bound
	entries       []JournalMovement
	seen          int64
	opening       string           // the SKU's opening rows, "" when none
	openingCmd    *redis.StringCmd // their HGET, beside the first page
}

// readJournals reads the window of the journals keys, a pipeline per
// round, each round asking again only those whose last page was full and
// still inside the window; the first round also reads each SKU's opening
// rows.
func (l *Ledger) readJournals(ctx context.Context, keys []string, from time.Time, fn func(string, []JournalMovement, bool) error) error {
	open := make([]*journalRead, 0, len(keys))
	for _, k := range keys {
		sku, err := l.skuFromJournalKey(k)
		if err != nil {
			continue // a foreign key that happens to match the pattern
		}
		open = append(open, &journalRead{sku: sku, key: k, end: "+"})
	}
	for len(open) > 0 {
		cmds := make([]*redis.XMessageSliceCmd, len(open))
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, r := range open {
				cmds[i] = p.XRevRangeN(ctx, r.key, r.end, "-", journalPage)
				if r.end == "+" {
					r.openingCmd = p.HGet(ctx, l.openingKey(r.sku), r.sku)
				}
			}
			return nil
		})
		next := open[:0]
		for i, r := range open {
			more, err := l.journalPageDone(r, cmds[i], from, fn)
			if err != nil {
				return err
			}
			if more {
				next = append(next, r)
			}
		}
		open = next
	}
	return nil
}

// journalPageDone adds one page to r; it reports whether r needs another
// page, and hands r to fn once it does not.
func (l *Ledger) journalPageDone(r *journalRead, cmd *redis.XMessageSliceCmd, from time.Time, fn func(string, []JournalMovement, bool) error) (bool, error) {
	msgs, err := cmd.Result()
	if err != nil {
		return false, fmt.Errorf("reading journal of %s: %w", r.sku, err)
	}
	if c := r.openingCmd; c != nil {
		r.openingCmd = nil
		if r.opening, err = c.Result(); err != nil && !errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("reading the opening rows of %s: %w", r.sku, err)
		}
	}
	r.seen += int64(len(msgs))
	for _, m := range msgs {
		e, err := decodeMovement(m)
		if err != nil {
			return false, fmt.Errorf("journal of %s: %w", r.sku, err)
		}
		if e.Time.Before(from) {
			return false, deliverJournal(r, false, false, from, fn)
		}
		r.entries = append(r.entries, e)
	}
	if len(msgs) == journalPage {
		r.end = "(" + msgs[len(msgs)-1].ID
		return true, nil
	}
	short := r.seen >= l.opts.JournalMaxLen
	return false, deliverJournal(r, short, !short, from, fn)
}

// deliverJournal hands r's entries to fn oldest first (fn skips a SKU
// with none), after the SKU's opening rows in the window when whole (read
// to its start, never trimmed) and the stream follows them.
func deliverJournal(r *journalRead, short, whole bool, from time.Time, fn func(string, []JournalMovement, bool) error) error {
	es := r.entries
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	if whole && r.opening != "" {
		rows, err := decodeOpening(r.opening)
		if err != nil {
			return fmt.Errorf("opening rows of %s: %w", r.sku, err)
		}
		if movementsChain(rows, es) {
			es = append(inWindow(rows, from), es...)
		}
	}
	return fn(r.sku, es, short)
}

// decodeMovement decodes one entry. An order line's entry (most of them)
// is parsed here in one pass, its ids apart and without building Cause and
// Ref; any other goes through decodeJournalEntry.
func decodeMovement(m redis.XMessage) (JournalMovement, error) {
	raw, _ := m.Values["m"].(string)
	if mv, ok := parseLineMovement(raw); ok {
		mv.ID = m.ID
		return mv, nil
	}
	e, err := decodeJournalEntry(m.ID, m.Values)
	if err != nil {
		return JournalMovement{}, err
	}
	if e.Op == OpLine { // decodeJournalEntry accepts what the fast path did not
		return JournalMovement{}, fmt.Errorf("entry %s: malformed line entry %q", m.ID, raw)
	}
	return JournalMovement{JournalEntry: e}, nil
}

// parseLineMovement parses "line,h0,r0,h1,r1,t,version,channel␟order␟line␟location"
// as line.lua's move writes it; ok is false for anything else.
func parseLineMovement(m string) (JournalMovement, bool) {
	rest, ok := strings.CutPrefix(m, "line,")
	if !ok {
		return JournalMovement{}, false
	}
	var n [5]int64
	for i := range n {
		var f string
		if f, rest, ok = strings.Cut(rest, ","); !ok {
			return JournalMovement{}, false
		}
		x, err := parseStoredInt(f)
		if err != nil {
			return JournalMovement{}, false
		}
		n[i] = x
	}
	ver, ids, ok := strings.Cut(rest, ",")
	ver, rule, routed := strings.Cut(ver, ":") // a line's first entry: version:rule
	if !ok || !isVersion(ver) || routed && rule == "" {
		return JournalMovement{}, false
	}
	var id [3]string
	for i := range id {
		if id[i], ids, ok = strings.Cut(ids, string(fieldSep)); !ok || id[i] == "" {
			return JournalMovement{}, false
		}
	}
	if ids == "" {
		return JournalMovement{}, false
	}
	return JournalMovement{
		JournalEntry: JournalEntry{Op: OpLine, Before: level(n[0], n[1]), After: level(n[2], n[3]), Time: time.UnixMilli(n[4]).UTC(), Location: ids, Rule: rule},
		Version:      ver, Channel: id[0], OrderID: id[1], LineID: id[2],
	}, true
}

// skuFromJournalKey extracts the SKU from a journal key found by SCAN.
func (l *Ledger) skuFromJournalKey(key string) (string, error) {
	head := l.opts.Prefix + "j:{"
	if !strings.HasPrefix(key, head) || !strings.HasSuffix(key, "}") || len(key) < len(head)+2 {
		return "", fmt.Errorf("not a journal key: %q", key)
	}
	return skuFromKeySKU(key[len(head) : len(key)-1])
}

// ReorderMany reads the reorder settings of many SKUs in one round trip;
// SKUs without any are absent.
func (l *Ledger) ReorderMany(ctx context.Context, skus []string) (map[string]ReorderSetting, error) {
	cmds := make([]*redis.MapStringStringCmd, len(skus))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range skus {
			rkey, _, _ := l.signalKeys(s)
			cmds[i] = p.HGetAll(ctx, rkey)
		}
		return nil
	})
	out := make(map[string]ReorderSetting, len(skus))
	for i, s := range skus {
		m, err := cmds[i].Result()
		if err != nil {
			return nil, fmt.Errorf("reading reorder points of %s: %w", s, err)
		}
		set, ok, err := decodeReorderHash(s, m)
		if err != nil {
			return nil, err
		}
		if ok {
			out[s] = set
		}
	}
	return out, nil
}
