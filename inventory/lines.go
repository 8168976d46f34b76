package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// LineState is the absolute state of one order line, as the channel reports
// it now. The ledger keeps the last applied state per line and moves only the
// difference, so the same state twice, an older state, or a state that
// merely repeats the figures, never moves stock twice.
type LineState struct {
	Channel, OrderID, LineID, SKU string
	// Location is where the line's stock is. "" chooses, inside the script,
	// from Candidates (priority order): the first with enough available,
	// else the first. A line already recorded keeps its location unless a
	// different one is given (then its stock moves there).
	Location   string
	Candidates []string
	// Route, when set, chooses instead the location of a new line without
	// one: its steps in order (route.go), else the first candidate.
	Route []RouteStep
	// Ordered, Shipped, Cancelled, Returned are totals so far.
	// Shipped+Cancelled <= Ordered and Returned <= Shipped.
	Ordered, Shipped, Cancelled, Returned int64
	// Restock puts newly returned units back on the shelf (on_hand up);
	// false writes them off.
	Restock bool
	// Version orders states: the order's updated time in unix ms (or ns).
	// The same version again is a no-op; an older one is ignored.
	Version int64
	// Strict refuses (changing nothing) when the line's increase of reserved
	// exceeds what is available at its location.
	Strict bool
	// LocalShip makes the state a local shipment (ShipLines): Shipped is
	// the units shelfsync itself shipped of the line so far; the recorded
	// figures and version stay.
	LocalShip bool
}

// Validate checks a state without I/O; ApplyLines rejects a batch holding
// an invalid state before sending anything.
func (s LineState) Validate() error {
	for _, f := range []struct{ what, v string }{{"channel", s.Channel}, {"order id", s.OrderID}, {"line id", s.LineID}} {
		if err := checkName(f.what, f.v); err != nil {
			return err
		}
	}
	if err := checkSKU(s.SKU); err != nil {
		return err
	}
	if s.Location == "" && len(s.Candidates) == 0 {
		return fmt.Errorf("%w: line %s/%s/%s has neither a location nor candidate locations", ErrInvalid, s.Channel, s.OrderID, s.LineID)
	}
	if s.Location != "" {
		if err := checkLocation("location", s.Location); err != nil {
			return err
		}
	}
	for _, c := range s.Candidates {
		if c == "" {
			return fmt.Errorf("%w: empty candidate location", ErrInvalid)
		}
		if err := checkLocation("candidate location", c); err != nil {
			return err
		}
	}
	if err := validateRoute(s.Route); err != nil {
		return err
	}
	for _, q := range []struct {
		what string
		v    int64
	}{{"ordered", s.Ordered}, {"shipped", s.Shipped}, {"cancelled", s.Cancelled}, {"returned", s.Returned}} {
		if err := checkQuantity(q.what, q.v); err != nil {
			return err
		}
	}
	if s.Version < 0 {
		return fmt.Errorf("%w: version must not be negative, got %d", ErrInvalid, s.Version)
	}
	if s.Shipped+s.Cancelled > s.Ordered {
		return fmt.Errorf("%w: shipped %d + cancelled %d exceed ordered %d", ErrInvalid, s.Shipped, s.Cancelled, s.Ordered)
	}
	if s.Returned > s.Shipped {
		return fmt.Errorf("%w: returned %d exceed shipped %d", ErrInvalid, s.Returned, s.Shipped)
	}
	return nil
}

// Reasons a line state changed nothing (LineResult.Ignored).
const (
	IgnoredDuplicate  = "duplicate"   // same version as the recorded one
	IgnoredStale      = "stale"       // older than the recorded one
	IgnoredUnknownSKU = "unknown_sku" // the SKU was never created; park and re-apply later
	IgnoredRefused    = "refused"     // strict, and not enough available
)

// LineResult is what one line state did.
type LineResult struct {
	Applied  bool   // something changed
	New      bool   // applied, and the ledger had no record of the line before
	Ignored  string // "" or one of the Ignored... reasons
	Location string // where the line's stock is (chosen or given)
	// Rule is the routing rule that chose Location when this state placed
	// the line (RuleChannel: the channel gave it; a route step's rule;
	// RulePriority or RuleFallback); "" when the line kept its recorded
	// location (Lines has it; the journal has the rule).
	Rule string
	// Split lists the parts of a split line (RouteSplit), in order, on
	// every result of it; Location, Available and Oversold are then its
	// last part's (where an oversell of the split is counted).
	Split     []SplitPart
	Available int64 // available at that location after
	Oversold  int64 // > 0 when available < 0 after this change: by how much
	// Lowered: applied, and this change lowered available at Location (a
	// sale, more units ordered): with Oversold > 0, it is the change that
	// oversold (again). A repeat, a shipment or a cancel never is.
	Lowered bool
}

// ApplyLines sets order lines to their absolute states in one round trip:
// pipelined, one script run per SKU, the SKU's lines applied in batch order
// (a line sees the lines before it). Results are in the order of lines. An
// invalid state rejects the whole batch with ErrInvalid before any I/O. On
// any other error some lines may have been applied: applying the same batch
// again is safe.
func (l *Ledger) ApplyLines(ctx context.Context, lines []LineState) ([]LineResult, error) {
	if len(lines) == 0 {
		return nil, nil
	}
	if err := validateLines(lines); err != nil {
		return nil, err
	}
	groups, skus := l.groupLines(ctx, lines, orderLines(lines))
	calls := make([]scriptCall, len(groups))
	for i, g := range groups {
		calls[i] = g.call
	}
	replies, errs, err := l.run(ctx, skus, func(p redis.Pipeliner) { l.indexOrders(ctx, p, lines) }, calls)
	if err != nil {
		return nil, fmt.Errorf("applying %d order lines: %w", len(lines), err)
	}
	out := make([]LineResult, len(lines))
	var failed lineFailures
	for gi, g := range groups {
		failed.decodeRun(lines, g.idx, replies[gi], errs[gi], out)
	}
	if failed.n > 0 {
		// One message, not one per line: a Redis outage fails them all alike.
		return out, fmt.Errorf("applying order lines: %d of %d failed, first: %w", failed.n, len(lines), failed.first)
	}
	return out, nil
}

// validateLines checks every state before anything is sent: one invalid
// state rejects the whole batch.
func validateLines(lines []LineState) error {
	for i := range lines {
		if err := lines[i].Validate(); err != nil {
			return fmt.Errorf("order line %d: %w", i, err)
		}
	}
	return nil
}

// lineGroup is one SKU's script run: the call, and the indexes in the batch
// of the lines it carries, in batch order.
type lineGroup struct {
	call scriptCall
	idx  []int
	rk   routeKeys // keys its RouteWhole steps read
}

// groupLines builds one script run per SKU, in the order the SKUs first
// appear, each carrying its SKU's lines in batch order (line.lua applies
// them in turn, so a line sees the lines before it), and returns the runs
// with their SKUs (for the push intent).
//
// It is on the hot path (once per call): the groups are one allocation,
// the head arguments are boxed once and shared, each run's arguments are
// sized for one line without routing, and a call of one line builds no
// index of SKUs.
func (l *Ledger) groupLines(ctx context.Context, lines []LineState, orders map[string][]int) ([]*lineGroup, []string) {
	now := l.nowMS()
	defs, sig := l.stockSignals(ctx)
	head := [...]any{now, now - l.opts.LineTTL.Milliseconds(), l.maxLen(), defs}
	// One line's arguments (appendLineArgs): 8, and with candidates 2 and
	// the candidates.
	const perLine = 8 + 2 + 2
	store := make([]lineGroup, 0, len(lines)) // never grows: pointers stay
	groups := make([]*lineGroup, 0, len(lines))
	skus := make([]string, 0, len(lines))
	var bySKU map[string]*lineGroup
	if len(lines) > 1 {
		bySKU = make(map[string]*lineGroup, len(lines))
	}
	for i := range lines {
		s := &lines[i]
		var g *lineGroup
		if bySKU != nil {
			g = bySKU[s.SKU]
		}
		if g == nil {
			store = append(store, lineGroup{call: scriptCall{script: l.line.script, fn: l.line, keys: l.lineScriptKeys(s.SKU, sig), sigs: sigSKU(s.SKU, sig),
				args: append(make([]any, 0, len(head)+perLine), head[:]...)}})
			g = &store[len(store)-1]
			g.rk.base = 6 // the placeholders below when signals are off
			if bySKU != nil {
				bySKU[s.SKU] = g
			}
			groups = append(groups, g)
			skus = append(skus, s.SKU)
		}
		g.idx = append(g.idx, i)
		g.call.args = l.appendLineArgs(g.call.args, lines, i, orders, &g.rk)
	}
	for _, g := range groups {
		if len(g.rk.keys) == 0 {
			continue
		}
		if len(g.call.keys) == 4 { // no signals: KEYS[5] = KEYS[1] says so
			g.call.keys = append(g.call.keys, g.call.keys[0], g.call.keys[0])
		}
		g.call.keys = append(g.call.keys, g.rk.keys...)
	}
	return groups, skus
}

// appendLineArgs appends line i's arguments to its SKU's script run, as
// line.lua reads them: field, location, the four totals, version, flags,
// and, when the line gives no location, the count of routing arguments
// and the routing arguments (route.go).
func (l *Ledger) appendLineArgs(args []any, lines []LineState, i int, orders map[string][]int, rk *routeKeys) []any {
	s := &lines[i]
	args = append(args,
		lineField(s.Channel, s.OrderID, s.LineID),
		s.Location,
		s.Ordered, s.Shipped, s.Cancelled, s.Returned,
		s.Version, // go-redis sends an int64 as its decimal digits: one allocation, not two
		lineFlags(s))
	if s.Location == "" {
		if len(s.Route) == 0 { // the common case, without a second slice
			args = append(args, 1+len(s.Candidates), len(s.Candidates))
			for _, c := range s.Candidates {
				args = append(args, c)
			}
			return args
		}
		order := orders[s.Channel+string(fieldSep)+s.OrderID]
		r := l.appendRoute(nil, lines, i, order, rk)
		args = append(append(args, len(r)), r...)
	}
	return args
}

// lineFlags is the flags argument of line.lua: "1" restock, "2" strict,
// "3" both, "0" neither. Constants returned as any, so nothing is
// formatted or boxed per line.
func lineFlags(s *LineState) any {
	switch {
	case s.LocalShip:
		return "L"
	case s.Restock && s.Strict:
		return "3"
	case s.Strict:
		return "2"
	case s.Restock:
		return "1"
	}
	return "0"
}

// lineFailures counts a batch's failed lines and keeps the first one's
// error, so the batch fails with one message, not one per line.
type lineFailures struct {
	n     int
	first error
}

// decodeRun decodes the reply of one SKU's script run into out, at the
// batch indexes idx of its lines, and counts the lines that failed: every
// line of a run that failed, and from the first line whose result cannot
// be decoded on, as the rest of the reply cannot be trusted either.
func (f *lineFailures) decodeRun(lines []LineState, idx []int, reply any, err error, out []LineResult) {
	var rest string
	if err == nil {
		rest, err = replyString(reply)
	}
	for _, i := range idx {
		if err == nil {
			out[i], rest, err = decodeLineReply(rest, &lines[i])
		}
		if err != nil {
			f.fail(&lines[i], err)
		}
	}
	if err == nil && rest != "" {
		// More results than lines: the reply is not what was asked for.
		f.trailing(&lines[idx[len(idx)-1]], rest)
	}
}

// fail counts the line s as failed with err.
func (f *lineFailures) fail(s *LineState, err error) {
	if f.n == 0 {
		f.first = fmt.Errorf("order line %s/%s/%s: %w", s.Channel, s.OrderID, s.LineID, err)
	}
	f.n++
}

// trailing counts a run whose reply has results left after its last line,
// s, as a failed line (once, not once per extra result).
func (f *lineFailures) trailing(s *LineState, rest string) {
	if f.n == 0 {
		f.first = fmt.Errorf("order line %s/%s/%s: unexpected trailing script reply %q", s.Channel, s.OrderID, s.LineID, rest)
	}
	f.n++
}

// decodeLineReply decodes the first line's result off line.lua's reply and
// returns the rest of the reply. Per line: a status letter; unless 'u', the
// line's location's figures after, "onhand,reserved"; when the location is
// not given (the one the line asked for), "=<byte length>:<location>",
// then "@<step>" when the script routed the line, then for a split line
// "*<parts>|" and the parts (cutSplit); ";".
// It is on the hot path (once per line): the parts are cut in place, never
// split into new strings.
func decodeLineReply(reply string, s *LineState) (LineResult, string, error) {
	if reply == "" {
		return LineResult{}, "", badLineReply(reply)
	}
	var r LineResult
	ok := r.setStatus(reply[0])
	if !ok {
		return LineResult{}, "", badLineReply(reply)
	}
	rest := reply[1:]
	if reply[0] != 'u' { // an unknown SKU has no figures to report
		if r.Available, rest, ok = cutLineFigures(rest); !ok {
			return LineResult{}, "", badLineReply(reply)
		}
		if r.Available < 0 {
			r.Oversold = -r.Available
		}
	}
	r.Location = s.Location
	step := stepGiven
	if strings.HasPrefix(rest, "=") { // the location the script chose
		if r.Location, rest, ok = cutChosenLocation(rest); !ok {
			return LineResult{}, "", badLineReply(reply)
		}
		if step, rest, ok = cutStep(rest); !ok {
			return LineResult{}, "", badLineReply(reply)
		}
		if strings.HasPrefix(rest, "*") {
			if r.Split, rest, ok = cutSplit(rest[1:]); !ok {
				return LineResult{}, "", badLineReply(reply)
			}
		}
	}
	if step != stepGiven || r.New {
		r.Rule = ruleOf(s, step)
	}
	if !strings.HasPrefix(rest, ";") || r.Location == "" {
		return LineResult{}, "", badLineReply(reply)
	}
	return r, rest[1:], nil
}

// setStatus records what line.lua's status letter says the line did;
// false for a letter the script never sends.
func (r *LineResult) setStatus(code byte) bool {
	switch code {
	case 'a':
		r.Applied = true
	case 'c':
		r.Applied, r.New = true, true
	case 'A':
		r.Applied, r.Lowered = true, true
	case 'C':
		r.Applied, r.New, r.Lowered = true, true, true
	case 'n':
	case 'd':
		r.Ignored = IgnoredDuplicate
	case 's':
		r.Ignored = IgnoredStale
	case 'r':
		r.Ignored = IgnoredRefused
	case 'u':
		r.Ignored = IgnoredUnknownSKU
	default:
		return false
	}
	return true
}

// cutLineFigures cuts "onhand,reserved" off the front of rest and returns
// what is available, and the rest from the ';' or '=' that ends them.
func cutLineFigures(rest string) (available int64, after string, ok bool) {
	comma := strings.IndexByte(rest, ',')
	end := strings.IndexAny(rest, ";=")
	if comma < 0 || end < comma {
		return 0, "", false
	}
	h, err1 := parseStoredInt(rest[:comma])
	res, err2 := parseStoredInt(rest[comma+1 : end])
	if err1 != nil || err2 != nil {
		return 0, "", false
	}
	return h - res, rest[end:], true
}

// cutChosenLocation cuts "=<byte length>:<location>", the location the
// script chose for a line that gave none, off the front of rest. A byte
// length, not a terminator, as a location may hold any byte.
func cutChosenLocation(rest string) (location, after string, ok bool) {
	colon := strings.IndexByte(rest, ':')
	if colon < 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(rest[1:colon])
	if err != nil || n <= 0 || n > len(rest)-colon-1 {
		return "", "", false
	}
	return rest[colon+1 : colon+1+n], rest[colon+1+n:], true
}

// badLineReply is the error for a reply line.lua never sends, showing its
// start (a batch's reply can be long).
func badLineReply(reply string) error {
	show := reply
	if len(show) > 80 {
		show = show[:80] + "…"
	}
	return fmt.Errorf("unexpected script reply %q", show)
}

// indexOrders records which SKU each line of an order is on, so Lines can
// find an order's records, and when the order was last written (field
// indexTime), which PruneOrderIndex reads: one HSET per order, no TTL to
// set. The index is outside every SKU's slot, so it rides in the same
// pipeline, before the scripts: a crash in between leaves an index entry
// without a record, which Lines skips.
func (l *Ledger) indexOrders(ctx context.Context, p redis.Pipeliner, lines []LineState) {
	if len(lines) == 1 { // the common call: no grouping
		s := &lines[0]
		p.HSet(ctx, l.orderKey(s.Channel, s.OrderID), s.LineID, s.SKU, indexTime, strconv.FormatInt(l.nowMS(), 10))
		return
	}
	type index struct {
		key  string
		args []any
	}
	at := make(map[string]int, len(lines)) // key → its place in orders
	orders := make([]index, 0, len(lines))
	for _, s := range lines {
		k := l.orderKey(s.Channel, s.OrderID)
		j, ok := at[k]
		if !ok {
			// Room for one line and the time: one allocation for the
			// common order of one line.
			j, at[k] = len(orders), len(orders)
			orders = append(orders, index{key: k, args: make([]any, 0, 4)})
		}
		orders[j].args = append(orders[j].args, s.LineID, s.SKU)
	}
	now := any(strconv.FormatInt(l.nowMS(), 10)) // boxed once
	for _, o := range orders {
		p.HSet(ctx, o.key, append(o.args, indexTime, now)...)
	}
}

// Lines returns an order's lines as the ledger holds them, sorted by line id.
// An order the ledger never saw has no lines (nil, nil).
func (l *Ledger) Lines(ctx context.Context, channel, orderID string) ([]LineRecord, error) {
	idx, err := l.rdb.HGetAll(ctx, l.orderKey(channel, orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading order index of %s/%s: %w", channel, orderID, err)
	}
	delete(idx, indexTime)
	if len(idx) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(idx))
	for id := range idx {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	cmds := make([]*redis.StringCmd, len(ids))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, l.keys(idx[id]).lines, lineField(channel, orderID, id))
		}
		return nil
	})
	var out []LineRecord
	for i, id := range ids {
		v, err := cmds[i].Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading order line %s/%s/%s: %w", channel, orderID, id, err)
		}
		r, err := decodeLineRecord(v)
		if err != nil {
			return nil, fmt.Errorf("order line %s/%s/%s: %w", channel, orderID, id, err)
		}
		r.Channel, r.OrderID, r.LineID, r.SKU = channel, orderID, id, idx[id]
		out = append(out, r)
	}
	return out, nil
}

// LocalShipment is the units shelfsync itself shipped of one order line
// so far (sync/shipments): a total, so a repeat changes nothing.
type LocalShipment struct {
	Channel, OrderID, LineID, SKU string
	// Location is where the units were shipped from; the line keeps its
	// recorded location, and units newly shipped from another one leave
	// that one's on hand (see README, Local shipments).
	Location string
	Shipped  int64
}

// ShipLines records local shipments: each line's shipped figure becomes
// max(what its channel reported, the local total), now and for every
// later channel state of the line, so a channel state that has not seen
// the shipment does not undo it and the channel's own report of it does
// not count it twice. On hand leaves and the reservation is released for
// the units newly shipped. A line the ledger does not hold is refused
// (Ignored IgnoredRefused); a total not above the recorded local total is
// a duplicate. Like ApplyLines, one round trip, safe to repeat.
func (l *Ledger) ShipLines(ctx context.Context, ships []LocalShipment) ([]LineResult, error) {
	states := make([]LineState, len(ships))
	for i, s := range ships {
		states[i] = LineState{
			Channel: s.Channel, OrderID: s.OrderID, LineID: s.LineID, SKU: s.SKU, Location: s.Location,
			Ordered: s.Shipped, Shipped: s.Shipped, LocalShip: true,
		}
	}
	return l.ApplyLines(ctx, states)
}
