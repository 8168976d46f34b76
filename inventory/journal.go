package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	// Rule is, on an order line's first entry, the routing rule that
	// chose Location (LineResult.Rule); "" on every other entry.
	Rule   string
	Before Level
	After  Level
}

// History returns the SKU's newest n journal entries, oldest first: its
// journal stream's, after its opening rows (SetCounts) when the stream
// holds fewer than n entries.
func (l *Ledger) History(ctx context.Context, sku string, n int64) ([]JournalEntry, error) {
	if n <= 0 {
		return nil, fmt.Errorf("history: %w: n must be positive", ErrInvalid)
	}
	var stream *redis.XMessageSliceCmd
	var opening *redis.StringCmd
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		stream = p.XRevRangeN(ctx, l.keys(sku).journal, "+", "-", n)
		opening = p.HGet(ctx, l.openingKey(sku), sku)
		return nil
	})
	msgs, err := stream.Result()
	if err != nil {
		return nil, fmt.Errorf("reading journal of %s: %w", sku, err)
	}
	es, err := decodeJournal(sku, msgs, true)
	if err != nil {
		return nil, err
	}
	return l.withOpening(sku, opening, es, n)
}

// withOpening puts the SKU's opening rows (count_bulk.lua), read by
// opening (HGET of its opening hash), before es, its journal stream's
// newest entries, oldest first, read with a limit of n, and keeps the
// newest n. They belong there only when es is the whole stream (fewer
// than n and than Options.JournalMaxLen) and the stream was never
// trimmed: then its first entry at each location starts from what the
// opening rows left there (openingChains). Its length alone does not
// tell: a stream trimmed while JournalMaxLen was lower is shorter than
// today's JournalMaxLen.
func (l *Ledger) withOpening(sku string, opening *redis.StringCmd, es []JournalEntry, n int64) ([]JournalEntry, error) {
	have := int64(len(es))
	if have >= n || have >= l.opts.JournalMaxLen {
		return es, nil
	}
	v, err := opening.Result()
	if errors.Is(err, redis.Nil) {
		return es, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the opening rows of %s: %w", sku, err)
	}
	rows, err := decodeOpening(v)
	if err != nil {
		return nil, fmt.Errorf("opening rows of %s: %w", sku, err)
	}
	if !openingChains(rows, len(es), func(i int) (JournalEntry, bool) { return es[i], true }) {
		return es, nil
	}
	rows = rows[max(0, int64(len(rows))-(n-have)):]
	return append(rows, es...), nil
}

// decodeOpening parses a SKU's opening rows as count_bulk.lua writes
// them: each entry (the field m of a journal stream entry) as
// "<byte length>:<entry>". Their IDs are "0-1", "0-2"...: below every
// stream entry's, as they come before every entry of the stream.
func decodeOpening(v string) ([]JournalEntry, error) {
	var out []JournalEntry
	for v != "" {
		ls, rest, ok := strings.Cut(v, ":")
		n, okn := parseEntryLen(ls)
		if !ok || !okn || n > len(rest) {
			return nil, fmt.Errorf("malformed opening rows at %q", v)
		}
		e, err := decodeCompactEntry(rest[:n])
		if err != nil {
			return nil, fmt.Errorf("opening row %d: %w", len(out)+1, err)
		}
		e.ID = "0-" + strconv.Itoa(len(out)+1)
		out = append(out, e)
		v = rest[n:]
	}
	return out, nil
}

// openingChains reports whether a SKU's opening rows (oldest first) come
// right before its journal stream, whose n entries, oldest first, entry
// returns (ok false: undecodable, skipped): at each location the stream's
// first entry starts from the figures the opening rows left there (zero
// where they have none: the SKU was new). A trimmed stream lost its first
// entries, so its first remaining ones start from figures the opening
// rows did not leave, except by coincidence: a trimmed stream whose first
// remaining entry at every location starts from that location's opening
// figures passes (its opening rows are then shown before a gap that the
// figures do not reveal).
func openingChains(rows []JournalEntry, n int, entry func(int) (JournalEntry, bool)) bool {
	left := make(map[string]Level, len(rows))
	for _, r := range rows {
		left[r.Location] = r.After
	}
	seen := map[string]bool{}
	for i := range n {
		e, ok := entry(i)
		if !ok || seen[e.Location] {
			continue
		}
		seen[e.Location] = true
		if !sameFigures(left[e.Location], e.Before) {
			return false
		}
	}
	return true
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

// decodeJournalEntry parses one stream entry written by the scripts: one
// field m (see decodeCompactEntry).
func decodeJournalEntry(id string, v map[string]any) (JournalEntry, error) {
	s, ok := v["m"].(string)
	if !ok {
		return JournalEntry{}, fmt.Errorf("entry %s: no field m", id)
	}
	e, err := decodeCompactEntry(s)
	if err != nil {
		return JournalEntry{}, fmt.Errorf("entry %s: %w", id, err)
	}
	e.ID = id
	return e, nil
}

// decodeCompactEntry parses the journal field m that the scripts write
// (movelib.lua journal, line.lua move):
// "op,h0,r0,h1,r1,t,<rest>", where <rest> is, for OpLine,
// "version[:rule],channel\x1forder\x1fline\x1flocation" (Cause
// "v=<version>", Ref "channel/order/line", Rule), and for every other op
// "<len cause>,<len ref>,<cause><ref><location>" (byte lengths).
func decodeCompactEntry(m string) (JournalEntry, error) {
	parts := strings.SplitN(m, ",", 7)
	if len(parts) != 7 || parts[0] == "" {
		return JournalEntry{}, fmt.Errorf("malformed journal entry %q", m)
	}
	n, ok := parseEntryInts(parts[1:6])
	if !ok {
		return JournalEntry{}, fmt.Errorf("malformed journal entry %q", m)
	}
	e := JournalEntry{Op: parts[0], Before: level(n[0], n[1]), After: level(n[2], n[3]), Time: time.UnixMilli(n[4]).UTC()}
	if e.Op == OpLine {
		if e.Cause, e.Ref, e.Location, e.Rule, ok = decodeLineEntryRest(parts[6]); !ok {
			return JournalEntry{}, fmt.Errorf("malformed line journal entry %q", m)
		}
		return e, nil
	}
	if e.Cause, e.Ref, e.Location, ok = decodeEntryRest(parts[6]); !ok {
		return JournalEntry{}, fmt.Errorf("malformed journal entry %q", m)
	}
	return e, nil
}

// parseEntryInts parses an entry's five integers: h0, r0, h1, r1, t.
func parseEntryInts(parts []string) (n [5]int64, ok bool) {
	for i := range n {
		x, err := parseStoredInt(parts[i])
		if err != nil {
			return n, false
		}
		n[i] = x
	}
	return n, true
}

// decodeLineEntryRest parses the rest of an OpLine entry,
// "version[:rule],channel\x1forder\x1fline\x1flocation" (the rule that
// routed the line, on its first entry): a line's ids are names, which
// never hold the separator, so no lengths are needed; the location, last,
// keeps whatever follows them.
func decodeLineEntryRest(rest string) (cause, ref, location, rule string, ok bool) {
	ver, field, ok := strings.Cut(rest, ",")
	ver, rule, routed := strings.Cut(ver, ":")
	ids := strings.SplitN(field, string(fieldSep), 4)
	if !ok || !isVersion(ver) || routed && rule == "" || len(ids) != 4 || ids[0] == "" || ids[1] == "" || ids[2] == "" || ids[3] == "" {
		return "", "", "", "", false
	}
	return "v=" + ver, ids[0] + "/" + ids[1] + "/" + ids[2], ids[3], rule, true
}

// decodeEntryRest parses the rest of any other entry,
// "<len cause>,<len ref>,<cause><ref><location>": a cause or a reference
// may hold any byte, so their byte lengths come first; the location, last,
// is what remains, and is never empty.
func decodeEntryRest(rest string) (cause, ref, location string, ok bool) {
	lens := strings.SplitN(rest, ",", 3)
	if len(lens) != 3 {
		return "", "", "", false
	}
	nc, ok1 := parseEntryLen(lens[0])
	nr, ok2 := parseEntryLen(lens[1])
	text := lens[2]
	if !ok1 || !ok2 || nc > len(text) || nr > len(text)-nc || nc+nr == len(text) {
		return "", "", "", false
	}
	return text[:nc], text[nc : nc+nr], text[nc+nr:], true
}

// parseEntryLen parses a byte length as movelib.lua writes it: decimal, not
// negative, no '+'.
func parseEntryLen(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && s[0] != '+'
}
