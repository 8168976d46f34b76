package outbox

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/store"
)

// takeScript: ARGV = now_ms, n, starve_ms, then the most starved
// increases, urgent items and other increases to take. Returns flat
// [#starved, #urgent, earliest due|”, then per item sku, want,
// accepted|”, attempts|”, cause|”, attempt|”, due]: the starved first,
// then the urgent, then the other increases, each by due time. earliest is
// the first due time queued, only when nothing was due. Urgent items go
// first, but increases due for longer than starve take up to a quarter of
// the batch ahead of them (Due sets the caps): on a channel whose rate
// limit lets the urgent queue never empty (Amazon's 5 patches a second
// under a steady stream of sales), an increase would otherwise wait for
// ever. n is the partition's share of the batch; when the caps give fewer
// (the queues changed since Poll counted them) it is filled from what else
// is due.
var takeScript = redis.NewScript(`
local now, n, starve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cs, cu, cn = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local st, ur, nr = {}, {}, {}
if math.min(cs, n) > 0 then
  st = redis.call('ZRANGE', KEYS[4], '-inf', now - starve, 'BYSCORE', 'LIMIT', 0, math.min(cs, n))
end
-- uall, nall: the queue gave fewer than asked, so nothing more is due there.
local uall, nall = false, false
local lim = math.min(cu, n - #st)
if lim > 0 then
  ur = redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', 0, lim)
  uall = #ur < lim
end
lim = math.min(cn, n - #st - #ur)
if lim > 0 then
  nr = redis.call('ZRANGE', KEYS[4], '-inf', now, 'BYSCORE', 'LIMIT', #st, lim)
  nall = #nr < lim
end
-- The caps are what Poll counted due here a round trip before: an item
-- that moved between the queues since (a sale turned an increase into a
-- decrease) would leave the take short of n with more due, and the batch
-- short. Make up the shortfall from either queue, urgent first.
lim = n - #st - #ur - #nr
if lim > 0 and not uall then
  for _, s in ipairs(redis.call('ZRANGE', KEYS[3], '-inf', now, 'BYSCORE', 'LIMIT', #ur, lim)) do ur[#ur+1] = s end
end
lim = n - #st - #ur - #nr
if lim > 0 and not nall then
  for _, s in ipairs(redis.call('ZRANGE', KEYS[4], '-inf', now, 'BYSCORE', 'LIMIT', #st + #nr, lim)) do nr[#nr+1] = s end
end
local starved, urgent = #st, #ur
local skus = st
for _, s in ipairs(ur) do skus[#skus+1] = s end
for _, s in ipairs(nr) do skus[#skus+1] = s end
local earliest = ''
if #skus == 0 then
  for _, k in ipairs({KEYS[3], KEYS[4]}) do
    local z = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if z[2] and (earliest == '' or tonumber(z[2]) < tonumber(earliest)) then earliest = z[2] end
  end
end
local out = {tostring(starved), tostring(urgent), earliest}
for _, s in ipairs(skus) do
  -- Marked in flight; what is queued now travels with this take, so only
  -- a change after it is "next".
  redis.call('HSET', KEYS[9], s, '1')
  redis.call('ZREM', KEYS[10], s)
  out[#out+1] = s
  out[#out+1] = redis.call('HGET', KEYS[1], s) or ''
  out[#out+1] = redis.call('HGET', KEYS[2], s) or ''
  out[#out+1] = redis.call('HGET', KEYS[6], s) or ''
  out[#out+1] = redis.call('ZSCORE', KEYS[5], s) or ''
  out[#out+1] = redis.call('HGET', KEYS[11], s) or ''
  out[#out+1] = redis.call('ZSCORE', KEYS[3], s) or redis.call('ZSCORE', KEYS[4], s) or ''
end
return out`)

// peekScript: ARGV = now_ms, starve_ms. Reads (writes nothing) how many
// urgent items are due, how many increases are due for longer than
// starve, how many are due, and the earliest due time queued (”: none).
var peekScript = redis.NewScript(`
local now, starve = tonumber(ARGV[1]), tonumber(ARGV[2])
local earliest = ''
for _, k in ipairs({KEYS[3], KEYS[4]}) do
  local z = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  if z[2] and (earliest == '' or tonumber(z[2]) < tonumber(earliest)) then earliest = z[2] end
end
return {redis.call('ZCOUNT', KEYS[3], '-inf', now), redis.call('ZCOUNT', KEYS[4], '-inf', now - starve),
  redis.call('ZCOUNT', KEYS[4], '-inf', now), earliest}`)

// Due returns up to n items whose time has come, urgent ones first (but
// increases waiting longer than StarveAfter take up to a quarter). They
// stay queued until Complete: the caller holds the channel's push lease.
// Each is marked in flight until Complete, so a change that arrives
// meanwhile is timed from its own arrival.
func (o *Outbox) Due(ctx context.Context, n int, now time.Time) ([]Item, error) {
	items, _, _, err := o.Poll(ctx, n, now)
	return items, err
}

// Poll is Due that also says, when nothing is due, when the earliest
// queued item falls due (ok false: the queues are empty), in the same
// round trips. With several partitions it first counts what each has
// due (one read-only script each, in one round trip), shares the batch
// among them (see share), and takes from those that have a share: so a
// batch holds up to n items whatever partitions they are in, and the
// channel gets no more calls than with one partition.
func (o *Outbox) Poll(ctx context.Context, n int, now time.Time) (items []Item, next time.Time, ok bool, err error) {
	if n <= 0 {
		return nil, time.Time{}, false, nil
	}
	if len(o.parts) == 1 {
		return o.take(ctx, []int{0}, []caps{{starved: (n + 3) / 4, urgent: n, normal: n, most: n}}, now)
	}
	counts, next, ok, err := o.peek(ctx, now)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	var idx []int
	var cs []caps
	for i, c := range share(counts, n, int(o.rot.Add(1))) {
		if c.total() > 0 {
			idx, cs = append(idx, i), append(cs, c)
		}
	}
	if len(idx) == 0 {
		return nil, next, ok, nil
	}
	if o.afterPeek != nil {
		o.afterPeek()
	}
	items, _, _, err = o.take(ctx, idx, cs, now)
	return items, next, ok, err
}

// NextDue is when the earliest queued item falls due; ok is false when the
// queues are empty.
func (o *Outbox) NextDue(ctx context.Context) (time.Time, bool, error) {
	_, next, ok, err := o.peek(ctx, time.UnixMilli(0))
	return next, ok, err
}

// counts is what one partition has due.
type counts struct{ urgent, starved, normal int }

// caps is what to take from one partition: starved increases, urgent
// items, other increases; most, when set, bounds the sum (one partition
// takes up to a batch whatever the mix).
type caps struct{ starved, urgent, normal, most int }

func (c caps) total() int {
	if c.most > 0 {
		return c.most
	}
	return c.starved + c.urgent + c.normal
}

// peek counts what each partition has due, and the earliest due time.
func (o *Outbox) peek(ctx context.Context, now time.Time) ([]counts, time.Time, bool, error) {
	calls := make([]store.ScriptCall, len(o.parts))
	for i, p := range o.parts {
		calls[i] = store.ScriptCall{Keys: p.keys, Args: []any{now.UnixMilli(), StarveAfter.Milliseconds()}}
	}
	out := make([]counts, len(o.parts))
	var next time.Time
	found := false
	for i, cmd := range store.RunEach(ctx, o.rdb, peekScript, calls) {
		v, err := cmd.Slice()
		if err != nil || len(v) != 4 {
			return nil, time.Time{}, false, fmt.Errorf("outbox %s due: %w", o.channel, err)
		}
		u, _ := v[0].(int64)
		s, _ := v[1].(int64)
		m, _ := v[2].(int64)
		out[i] = counts{urgent: int(u), starved: int(s), normal: int(m)}
		if at, ok := msTime(v[3]); ok && (!found || at.Before(next)) {
			next, found = at, true
		}
	}
	return out, next, found, nil
}

// share divides a batch of n among partitions with the counts due: up to
// a quarter of it to increases due for longer than StarveAfter, then the
// urgent items, then the other increases, each in turn spread evenly
// (water-filling from partition start on): a partition with fewer due
// than its share leaves the rest to the others. Within a partition the
// oldest go first; across partitions the order is by share, not by due
// time (the partitions are a hash of the SKU, so no SKU waits more than
// its partition's turn).
func share(cs []counts, n, start int) []caps {
	avail := make([]int, len(cs))
	for i, c := range cs {
		avail[i] = c.starved
	}
	st, used := waterFill(avail, min((n+3)/4, n), start)
	for i, c := range cs {
		avail[i] = c.urgent
	}
	ur, usedU := waterFill(avail, n-used, start)
	for i, c := range cs {
		avail[i] = max(c.normal-st[i], 0)
	}
	nr, _ := waterFill(avail, n-used-usedU, start)
	out := make([]caps, len(cs))
	for i := range cs {
		out[i] = caps{starved: st[i], urgent: ur[i], normal: nr[i]}
	}
	return out
}

// waterFill hands out up to budget units, one at a time in turn from
// start, to each i with fewer than avail[i]; returns the shares and how
// many were handed out.
func waterFill(avail []int, budget, start int) ([]int, int) {
	got := make([]int, len(avail))
	used := 0
	for more := true; more && used < budget; {
		more = false
		for k := range avail {
			i := (start + k) % len(avail)
			if got[i] < avail[i] && used < budget {
				got[i]++
				used++
				more = true
			}
		}
	}
	return got, used
}

// take takes from partitions idx up to their caps, and merges what they
// gave: the starved increases, then the urgent items, then the other
// increases, each by due time. next is the earliest due time queued when
// nothing was due (one partition only; Poll peeks with several).
func (o *Outbox) take(ctx context.Context, idx []int, cs []caps, now time.Time) ([]Item, time.Time, bool, error) {
	calls := make([]store.ScriptCall, len(idx))
	for j, i := range idx {
		c := cs[j]
		calls[j] = store.ScriptCall{Keys: o.parts[i].keys, Args: []any{now.UnixMilli(), c.total(), StarveAfter.Milliseconds(), c.starved, c.urgent, c.normal}}
	}
	var groups [3][]dueItem
	var next time.Time
	found := false
	for _, cmd := range store.RunEach(ctx, o.rdb, takeScript, calls) {
		flat, err := cmd.StringSlice()
		if err != nil || len(flat) < 3 {
			return nil, time.Time{}, false, fmt.Errorf("outbox %s due: %w", o.channel, err)
		}
		if at, ok := msTime(flat[2]); ok && (!found || at.Before(next)) {
			next, found = at, true
		}
		starved, _ := strconv.Atoi(flat[0])
		urgent, _ := strconv.Atoi(flat[1])
		for k, it := range parseItems(flat[3:]) {
			g := 2
			if k < starved {
				g = 0
			} else if k < starved+urgent {
				g = 1
				it.Urgent = true
			}
			groups[g] = append(groups[g], it)
		}
	}
	var items []Item
	for _, g := range groups {
		sort.SliceStable(g, func(a, b int) bool { return g[a].due < g[b].due })
		for _, d := range g {
			if d.ok {
				items = append(items, d.Item)
			}
		}
	}
	return items, next, found, nil
}

// dueItem is a taken item with its due time; ok is false when its want
// vanished between the range and the read (nothing to push).
type dueItem struct {
	Item
	due float64
	ok  bool
}

// parseItems reads takeScript's items (7 fields each).
func parseItems(flat []string) []dueItem {
	out := make([]dueItem, 0, len(flat)/7)
	for i := 0; i+6 < len(flat); i += 7 {
		d := dueItem{Item: Item{SKU: flat[i]}}
		q, err := strconv.ParseInt(flat[i+1], 10, 64)
		d.ok = err == nil
		d.Quantity = q
		if flat[i+2] != "" {
			p, _ := strconv.ParseInt(flat[i+2], 10, 64)
			d.Previous = &p
		}
		d.Attempts, _ = strconv.ParseInt(flat[i+3], 10, 64)
		if at, ok := msTime(flat[i+4]); ok {
			d.Cause = at
		}
		d.Attempt = flat[i+5]
		d.due, _ = strconv.ParseFloat(flat[i+6], 64)
		if at, ok := msTime(flat[i+6]); ok {
			d.Due = at
		}
		out = append(out, d)
	}
	return out
}

// msTime reads a score in milliseconds (a string reply); ok false for ”.
func msTime(v any) (time.Time, bool) {
	s, _ := v.(string)
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)), true
}
