package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/store"
)

// TopicPolledReturn is the topic of return events read by a channel's
// return poll (connectors.ReturnPoller): their lines report facts
// (received, reason, condition) that the channel's returns policy turns
// into restock or write-off, and they are booked here, never by fetching
// the order.
const TopicPolledReturn = "returns/polled"

// maxReturnUnits bounds the units of one return line booked (one ledger
// operation each).
const maxReturnUnits = 1000

// ReturnBook remembers, per return line, how many units were booked, so a
// return polled again (its whole state: received 1, then 2) books only the
// units it adds, for as long as the ledger remembers order lines
// (ledger.line_ttl), long after the ledger's operation keys expired.
type ReturnBook struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// NewReturnBook builds the book under prefix; ttl is how long a return
// line's count is kept (ledger.line_ttl).
func NewReturnBook(rdb redis.UniversalClient, prefix string, ttl time.Duration) *ReturnBook {
	if ttl <= 0 {
		ttl = config.DefaultLineTTL
	}
	return &ReturnBook{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (b *ReturnBook) key(channel, order, ret, line string) string {
	return b.prefix + "{returns:" + channel + "}:" + order + "\x1f" + ret + "\x1f" + line
}

// raiseScript sets a count to ARGV[1] unless it is already higher, and
// renews its TTL (ARGV[2] ms).
var raiseScript = redis.NewScript(`
local o = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > o then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// A line's returned units have two sources that may describe the same
// units: the channel's order state (refunds: R, absolute) and its returns
// booked here (W: the units the line's returns want booked, over all its
// returns). The data can not tell whether a refund's units are a booked
// return's (Shopify's order state sums the refunds per line, the return
// they came from lost), so the line's returned units are
// T = min(shipped, max(R, W)): never both counted. The ledger gets them
// from two places: the order state's Returned (x, set by refundScript)
// and the units booked by returns (B, admitScript), with x + B = T.
// Keys of a line (lineKey): B; ␟want: W; ␟refund: R; ␟x: x last given;
// ␟xv: the version of the state x was given to; ␟shipped: the largest
// shipped figure seen (the states' and the ledger line's, which counts
// shelfsync's own shipments), so T never falls.
//
// x must never be below the share the ledger line holds: a return books
// T - x - B more units. The ledger keeps the newest state it was given
// (an older one is ignored, one of the same version only when it is
// further along), so x follows the same rule: a state older than ␟xv
// leaves x as it is (and is given at most x), one of the same version
// keeps the larger x. With T never falling, x never falls either (a
// return's units raise B by what x left of T).

// admitScript admits a return line's units in one step. KEYS: 1 the
// return line's booked units, 2 its admitted units (assigned to it), 3
// the line's B, 4 the return line's units counted in W, 5 W, 6 R, 7 x,
// 8 x's version, 9 the largest shipped figure. ARGV: 1 the return line's
// units, 2 the ledger line's shipped units, 3 TTL ms, 4 the ledger line's
// returned units (R and x of lines recorded before they were kept), 5 the
// ledger line's version (x's when x is taken from 4). Returns {booked,
// admitted}: the caller books the units between them.
const admitSrc = `
local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
local admitted = tonumber(redis.call('GET', KEYS[2]) or '-1')
if admitted < 0 then
  -- booked before the cap was kept: those units count on the line
  admitted = booked
  if booked > 0 then redis.call('INCRBY', KEYS[3], booked) end
end
local b = tonumber(redis.call('GET', KEYS[3]) or '0')
local counted = tonumber(redis.call('GET', KEYS[4]) or tostring(admitted))
local w = tonumber(redis.call('GET', KEYS[5]) or tostring(b))
local want = tonumber(ARGV[1])
if want > counted then
  w = w + want - counted
  counted = want
end
local rec = tonumber(ARGV[4])
local r = math.max(tonumber(redis.call('GET', KEYS[6]) or '0'), rec)
local xs = redis.call('GET', KEYS[7])
local x = tonumber(xs or ARGV[4])
local s = math.max(tonumber(redis.call('GET', KEYS[9]) or '0'), tonumber(ARGV[2]))
local t = math.min(s, math.max(r, w))
local add = math.max(0, t - x - b)
if add > 0 then
  redis.call('INCRBY', KEYS[3], add)
  admitted = admitted + add
end
local ttl = ARGV[3]
redis.call('SET', KEYS[2], admitted, 'PX', ttl)
redis.call('SET', KEYS[4], counted, 'PX', ttl)
redis.call('SET', KEYS[5], w, 'PX', ttl)
redis.call('SET', KEYS[6], r, 'PX', ttl)
redis.call('SET', KEYS[7], x, 'PX', ttl)
if not xs then
  redis.call('SET', KEYS[8], ARGV[5], 'PX', ttl)
elseif redis.call('EXISTS', KEYS[8]) == 1 then
  redis.call('PEXPIRE', KEYS[8], ttl)
end
redis.call('SET', KEYS[9], s, 'PX', ttl)
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ttl) end
return {booked, admitted}
`

var admitScript = redis.NewScript(admitSrc)

// refundScript records an order state's returned units R of a line and
// returns the share x the state may give the ledger (T less the units
// the line's returns booked, at most the state's own returned units).
// KEYS: B, W, R, x, x's version, the largest shipped figure (admitSrc).
// ARGV: 1 the state's returned units, 2 its shipped units, 3 TTL ms, 4
// its version (decimal, compared as the ledger compares versions: by
// length, then bytes). x and its version are stored only for a state not
// older than the stored one (see above).
var refundScript = redis.NewScript(`
local ret, ver, ttl = tonumber(ARGV[1]), ARGV[4], ARGV[3]
local b = tonumber(redis.call('GET', KEYS[1]) or '0')
local w = tonumber(redis.call('GET', KEYS[2]) or tostring(b))
local r = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), ret)
local s = math.max(tonumber(redis.call('GET', KEYS[6]) or '0'), tonumber(ARGV[2]))
local t = math.min(s, math.max(r, w))
local x = math.min(math.max(0, t - b), ret)
redis.call('SET', KEYS[3], r, 'PX', ttl)
redis.call('SET', KEYS[6], s, 'PX', ttl)
local ox, ov = redis.call('GET', KEYS[4]), redis.call('GET', KEYS[5])
local c = 1
if ox and ov then
  if #ver ~= #ov then
    if #ver < #ov then c = -1 end
  elseif ver == ov then
    c = 0
  elseif ver < ov then
    c = -1
  end
end
if c < 0 then
  -- older than the state x was given to: the ledger ignores it
  redis.call('PEXPIRE', KEYS[4], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
  return math.min(x, tonumber(ox))
end
local keep = x
if c == 0 then keep = math.max(x, tonumber(ox)) end
redis.call('SET', KEYS[4], keep, 'PX', ttl)
redis.call('SET', KEYS[5], ver, 'PX', ttl)
return x
`)

// lineKeys are a line's B, W, R, x, x's version and largest shipped
// figure keys.
func (b *ReturnBook) lineKeys(channel, order, line string) []string {
	k := b.lineKey(channel, order, line)
	return []string{k, k + "\x1fwant", k + "\x1frefund", k + "\x1fx", k + "\x1fxv", k + "\x1fshipped"}
}

// admit admits up to want units of a return line of ledger line rec
// (its shipped units, its returned units and its version), and returns
// the units booked so far and admitted (booked ≤ admitted).
func (b *ReturnBook) admit(ctx context.Context, k string, line []string, want int64, rec inventory.LineRecord) (int64, int64, error) {
	keys := []string{k, k + "\x1fadmitted", line[0], k + "\x1fcounted", line[1], line[2], line[3], line[4], line[5]}
	v, err := admitScript.Run(ctx, b.rdb, keys, want, rec.Shipped, b.ttl.Milliseconds(), rec.Restocked+rec.WrittenOff,
		strconv.FormatInt(rec.Version, 10)).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("admitting return units: %w", err)
	}
	if len(v) != 2 {
		return 0, 0, fmt.Errorf("admitting return units: unexpected reply %v", v)
	}
	return v[0], v[1], nil
}

// ShareRefunds sets the Returned of each state that has returned units to
// its share (refundScript): the units its channel's returns booked already
// are not returned again. One round trip; states without returned units
// are left as they are.
func (b *ReturnBook) ShareRefunds(ctx context.Context, states []inventory.LineState) error {
	var idx []int
	for i, s := range states {
		if s.Returned > 0 && !s.LocalShip {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	calls := make([]store.ScriptCall, len(idx))
	for j, i := range idx {
		s := states[i]
		calls[j] = store.ScriptCall{Keys: b.lineKeys(s.Channel, s.OrderID, s.LineID),
			Args: []any{s.Returned, s.Shipped, b.ttl.Milliseconds(), strconv.FormatInt(s.Version, 10)}}
	}
	for j, cmd := range store.RunEach(ctx, b.rdb, refundScript, calls) {
		x, err := cmd.Int64()
		if err != nil {
			return fmt.Errorf("sharing returned units of %d lines with their returns: %w", len(idx), err)
		}
		states[idx[j]].Returned = min(x, states[idx[j]].Returned)
	}
	return nil
}

func (b *ReturnBook) lineKey(channel, order, line string) string {
	return b.prefix + "{returns:" + channel + "}:line\x1f" + order + "\x1f" + line
}

// statusKey holds a return's last status as the channel reported it.
func (b *ReturnBook) statusKey(channel, order, ret string) string {
	return b.prefix + "{returns:" + channel + "}:status\x1f" + order + "\x1f" + ret
}

// SetStatus stores the return's status (the channel's, as last
// delivered), for as long as the book keeps its lines.
func (b *ReturnBook) SetStatus(ctx context.Context, channel string, r *connectors.Return) error {
	if r.Status == "" {
		return nil
	}
	if err := b.rdb.Set(ctx, b.statusKey(channel, r.OrderID, r.ReturnID), r.Status, b.ttl).Err(); err != nil {
		return fmt.Errorf("storing return %s status: %w", r.ReturnID, err)
	}
	return nil
}

// Status is a return's last stored status ("" when none).
func (b *ReturnBook) Status(ctx context.Context, channel, order, ret string) (string, error) {
	s, err := b.rdb.Get(ctx, b.statusKey(channel, order, ret)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading return %s status: %w", ret, err)
	}
	return s, nil
}

func (b *ReturnBook) raise(ctx context.Context, k string, n int64) error {
	return raiseScript.Run(ctx, b.rdb, []string{k}, n, b.ttl.Milliseconds()).Err()
}

// policy is the channel's returns policy.
func (g *Ingester) policy(channel string) config.ReturnsPolicy {
	for _, c := range g.o.Channels {
		if c.Name == channel {
			return c.Returns
		}
	}
	return config.ReturnsPolicy{}
}

// applyPolledReturn books a polled return by the channel's policy: each
// line the policy books (by default: received back, restocked) is booked
// unit by unit, each unit under its own ledger operation key, up to the
// line's quantity; the book remembers how far it got. A unit is booked
// once whatever happens: a repeat, two deliveries at once, a crash between
// the ledger and the book (the unit's key makes the ledger's booking a
// no-op), a policy that changed meanwhile (the first booking stands).
func (g *Ingester) applyPolledReturn(ctx context.Context, channel string, r *connectors.Return, cause time.Time) error {
	if g.o.Returns == nil {
		return fmt.Errorf("return %s of %s: no return book configured", r.ReturnID, channel)
	}
	if err := g.o.Returns.SetStatus(ctx, channel, r); err != nil {
		return err
	}
	recs, err := g.o.Ledger.Lines(ctx, channel, r.OrderID)
	if err != nil {
		return fmt.Errorf("reading order %s/%s for a return: %w", channel, r.OrderID, err)
	}
	byLine := map[string]inventory.LineRecord{}
	for _, rec := range recs {
		byLine[rec.LineID] = rec
	}
	pol := g.policy(channel)
	parts := returnParts{g: g, channel: channel, orderID: r.OrderID, byLine: byLine}
	var skus []string
	for _, rl := range r.Lines {
		restock, book := pol.Action(rl.Received, rl.Reason, rl.Condition)
		ps, err := parts.of(ctx, rl)
		if err != nil {
			return err
		}
		if len(ps) == 0 || rl.Quantity <= 0 || rl.Cancel {
			g.o.Metrics.Dropped.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
			continue
		}
		if !book {
			continue // not back yet: booked when the channel says it is
		}
		for _, p := range ps {
			n, err := g.bookUnits(ctx, channel, r, p.line, p.rec, restock)
			if err != nil {
				return err
			}
			if n > 0 {
				skus = append(skus, p.rec.SKU)
			}
		}
	}
	g.o.Metrics.Applied.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
	if len(skus) == 0 {
		return nil
	}
	return g.o.Propagator.Propagate(ctx, skus, cause, nil, catalog.Version{})
}

// returnPart is a ledger line a return line stands for: the return line
// in the ledger line's id and units, and the ledger line.
type returnPart struct {
	line connectors.ReturnLine
	rec  inventory.LineRecord
}

// returnParts turns a return's lines, which name the channel's lines,
// into the ledger lines they stand for, reading the order's recorded
// translations (catalog.LineMap) once, when a line needs them.
type returnParts struct {
	g                *Ingester
	channel, orderID string
	byLine           map[string]inventory.LineRecord
	maps             map[string]catalog.LineMap
}

// of is the ledger lines of rl: its recorded translation when it has one,
// each part with rl's units times its units per channel unit (a kit:
// each component; a 6-pack: 6 units, on a ledger line of the same id) and
// its ledger line id (the return book and the units' operation keys are
// per ledger line); else the line itself when the ledger has it. None
// when neither (an unknown line, a translation the ledger no longer has).
func (p *returnParts) of(ctx context.Context, rl connectors.ReturnLine) ([]returnPart, error) {
	if p.maps == nil && p.g.o.Catalog != nil {
		m, err := p.g.o.Catalog.LineMaps(ctx, p.channel, p.orderID)
		if err != nil {
			return nil, fmt.Errorf("return of %s/%s: %w", p.channel, p.orderID, err)
		}
		p.maps = m
	}
	m, mapped := p.maps[rl.LineID]
	if !mapped {
		if rec, ok := p.byLine[rl.LineID]; ok {
			return []returnPart{{line: rl, rec: rec}}, nil
		}
		return nil, nil
	}
	var out []returnPart
	for _, part := range m.Parts {
		rec, ok := p.byLine[part.LineID]
		if !ok || part.Per <= 0 {
			continue
		}
		l := rl
		l.LineID = part.LineID
		l.Quantity = min(rl.Quantity, maxReturnUnits) * part.Per
		out = append(out, returnPart{line: l, rec: rec})
	}
	return out, nil
}

// bookUnits books a return line's units not booked yet and returns how
// many it booked. An order line's returned units, from its channel state
// (refunds) and its returns together, are at most the units it shipped
// and at most the larger of the two sources (admitSrc).
func (g *Ingester) bookUnits(ctx context.Context, channel string, r *connectors.Return, rl connectors.ReturnLine, rec inventory.LineRecord, restock bool) (int64, error) {
	k := g.o.Returns.key(channel, r.OrderID, r.ReturnID, rl.LineID)
	line := g.o.Returns.lineKeys(channel, r.OrderID, rl.LineID)
	done, want, err := g.o.Returns.admit(ctx, k, line, min(rl.Quantity, maxReturnUnits), rec)
	if err != nil {
		return 0, fmt.Errorf("return %s: %w", r.ReturnID, err)
	}
	action := config.ReturnWriteOff
	if restock {
		action = config.ReturnRestock
	}
	var n int64
	for u := done + 1; u <= want; u++ {
		_, err := g.o.Ledger.Return(ctx, inventory.ReturnOp{
			Key: channel + ":" + r.OrderID + ":" + r.ReturnID + ":" + rl.LineID + ":unit:" + strconv.FormatInt(u, 10),
			SKU: rec.SKU, Location: rec.Location, Quantity: 1, Restock: restock,
			Reason: "return " + r.ReturnID + " (" + action + ", reason " + rl.Reason + ", condition " + rl.Condition + ", status " + r.Status + ")",
		})
		if err != nil && !errors.Is(err, inventory.ErrKeyConflict) {
			return n, fmt.Errorf("booking return %s of %s/%s: %w", r.ReturnID, channel, r.OrderID, err)
		}
		n++
	}
	if want > done {
		if err := g.o.Returns.raise(ctx, k, want); err != nil {
			return n, fmt.Errorf("recording return %s booked units: %w", r.ReturnID, err)
		}
	}
	return n, nil
}
