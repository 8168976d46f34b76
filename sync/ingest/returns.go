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

// admitScript admits a return line's units under its order line's cap
// (the units it shipped, less those its channel state reports returned),
// across the line's returns, in one step. KEYS: 1 the return line's
// booked units, 2 its admitted units, 3 the order line's admitted units
// (all returns). ARGV: 1 the return line's units, 2 the cap, 3 TTL ms.
// Returns {booked, admitted}: the caller books the units between them.
var admitScript = redis.NewScript(`
local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
local admitted = tonumber(redis.call('GET', KEYS[2]) or '-1')
if admitted < 0 then
  -- booked before the cap was kept: those units count on the line
  admitted = booked
  if booked > 0 then redis.call('INCRBY', KEYS[3], booked) end
end
local want = tonumber(ARGV[1])
if want > admitted then
  local room = tonumber(ARGV[2]) - tonumber(redis.call('GET', KEYS[3]) or '0')
  local add = math.max(0, math.min(want - admitted, room))
  if add > 0 then redis.call('INCRBY', KEYS[3], add) end
  admitted = admitted + add
end
redis.call('SET', KEYS[2], admitted, 'PX', ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
return {booked, admitted}
`)

// admit admits up to want units of a return line under cap and returns
// the units booked so far and admitted (booked ≤ admitted).
func (b *ReturnBook) admit(ctx context.Context, k, lineKey string, want, capUnits int64) (int64, int64, error) {
	v, err := admitScript.Run(ctx, b.rdb, []string{k, k + "\x1fadmitted", lineKey}, want, capUnits, b.ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("admitting return units: %w", err)
	}
	if len(v) != 2 {
		return 0, 0, fmt.Errorf("admitting return units: unexpected reply %v", v)
	}
	return v[0], v[1], nil
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
	var skus []string
	for _, rl := range r.Lines {
		rec, ok := byLine[rl.LineID]
		restock, book := pol.Action(rl.Received, rl.Reason, rl.Condition)
		if !ok || rl.Quantity <= 0 || rl.Cancel {
			g.o.Metrics.Dropped.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
			continue
		}
		if !book {
			continue // not back yet: booked when the channel says it is
		}
		n, err := g.bookUnits(ctx, channel, r, rl, rec, restock)
		if err != nil {
			return err
		}
		if n > 0 {
			skus = append(skus, rec.SKU)
		}
	}
	g.o.Metrics.Applied.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
	if len(skus) == 0 {
		return nil
	}
	return g.o.Propagator.Propagate(ctx, skus, cause, nil)
}

// bookUnits books a return line's units not booked yet and returns how
// many it booked. The units booked on an order line, over all its
// returns, are at most the units it shipped less those its channel state
// reports returned (admitScript).
func (g *Ingester) bookUnits(ctx context.Context, channel string, r *connectors.Return, rl connectors.ReturnLine, rec inventory.LineRecord, restock bool) (int64, error) {
	k := g.o.Returns.key(channel, r.OrderID, r.ReturnID, rl.LineID)
	capUnits := max(rec.Shipped-rec.Restocked-rec.WrittenOff, 0)
	done, want, err := g.o.Returns.admit(ctx, k, g.o.Returns.lineKey(channel, r.OrderID, rl.LineID), min(rl.Quantity, maxReturnUnits), capUnits)
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
