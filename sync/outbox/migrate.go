package outbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/store"
)

// An outbox whose number of partitions changed (redis.outbox_partitions
// on a running install, or an upgrade from a version without partitions)
// may still hold items in the partitions of its layout of before (the
// single outbox of before partitions, {outbox:<channel>}, is the layout of
// one), and a replica still on that layout (a rolling change) may go on
// queueing there. The layout in use is recorded beside the push lease
// (LayoutKey); Relayout, when the pusher takes the lease, and
// MigrateLeftover, each second, move such items into their partitions of
// this layout, item by item: read (exportScript), merge into the partition
// (importScript), then forget in the legacy keys only if unchanged since
// the read (forgetScript). A crash between the steps leaves the item in
// both, and the next Migrate merges it again: the merge is idempotent.
// The merge keeps a partition's own state when it has one (a want, a
// queued, held or parked item) except where both hold different wants:
// then the SKU is marked for a push from the ledger and the lower want is
// kept (see importScript); else it takes the legacy want, queue and due time, cause,
// attempt id and count, parked state and shadow hold. The accepted figure
// is taken only where the partition has none. Not migrated: the in-flight
// marks of a pusher of before (the item stays queued and is pushed again,
// as after any pusher's crash). A partition both layouts have (the same
// tag) keeps its items of this layout; only the others move.

// migrateChunk is how many item keys Migrate reads per round trip.
const migrateChunk = 200

// exportScript: ARGV = item keys. Returns per key want|”, accepted|”,
// queue (u, n or ”), due|”, cause|”, attempts|”, parked|”, reason|”,
// attempt|”, held|”.
var exportScript = redis.NewScript(`
local out = {}
for _, sku in ipairs(ARGV) do
  local q, due = '', ''
  local u = redis.call('ZSCORE', KEYS[3], sku)
  local n = redis.call('ZSCORE', KEYS[4], sku)
  if u then q, due = 'u', u elseif n then q, due = 'n', n end
  for _, v in ipairs({redis.call('HGET', KEYS[1], sku), redis.call('HGET', KEYS[2], sku), q, due,
      redis.call('ZSCORE', KEYS[5], sku), redis.call('HGET', KEYS[6], sku), redis.call('HGET', KEYS[7], sku),
      redis.call('HGET', KEYS[8], sku), redis.call('HGET', KEYS[11], sku), redis.call('ZSCORE', KEYS[13], sku)}) do
    out[#out+1] = v or ''
  end
end
return out`)

// importScript: ARGV = now_ms, lower (1|0), then per item key, the key
// then exportScript's 10 fields. Returns how many items it took (the rest
// were the partition's), then the keys of the items both held with
// different wants (a replica on each layout queued the item: which want is
// the later is not recorded). The caller has such a SKU recomputed from
// the ledger (a push intent), then runs the script again with lower 1:
// the partition then keeps the lower want (a lower figure never
// oversells), queued as Enqueue would queue it, with the source's attempt
// id; only then is the source's copy forgotten. Lowering after the mark
// keeps a crash between them from hiding the difference from the next
// Migrate.
var importScript = redis.NewScript(`
local function lower(sku, want, attempt, now)
  local pq = redis.call('HGET', KEYS[7], sku)
  if pq and pq ~= want then
    redis.call('HDEL', KEYS[7], sku)
    redis.call('HDEL', KEYS[8], sku)
    redis.call('HDEL', KEYS[6], sku)
    pq = false
  end
  redis.call('HSET', KEYS[1], sku, want)
  if pq then return end
  if attempt == '' then attempt = 'm' .. now .. ':' .. sku end
  redis.call('HSET', KEYS[11], sku, attempt)
  local acc = redis.call('HGET', KEYS[2], sku)
  local was = redis.call('ZSCORE', KEYS[3], sku) or redis.call('ZSCORE', KEYS[4], sku)
  local due, qty = tonumber(now), tonumber(want)
  if was then due = math.min(tonumber(was), due) end
  local into, other = KEYS[4], KEYS[3]
  if qty == 0 or (acc and qty < tonumber(acc)) then into, other = KEYS[3], KEYS[4] end
  redis.call('ZREM', other, sku)
  redis.call('ZADD', into, due, sku)
  redis.call('ZADD', KEYS[5], 'NX', now, sku)
  if redis.call('HEXISTS', KEYS[9], sku) == 1 then redis.call('ZADD', KEYS[10], 'NX', now, sku) end
end
local now, lowering, took, both = ARGV[1], ARGV[2] == '1', 0, {}
for i = 3, #ARGV, 11 do
  local sku, want, acc, q, due, cause = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local attempts, parked, reason, attempt, held = ARGV[i+6], ARGV[i+7], ARGV[i+8], ARGV[i+9], ARGV[i+10]
  if acc ~= '' then redis.call('HSETNX', KEYS[2], sku, acc) end
  local mine = redis.call('HEXISTS', KEYS[1], sku) == 1 or redis.call('HEXISTS', KEYS[7], sku) == 1
    or redis.call('ZSCORE', KEYS[3], sku) or redis.call('ZSCORE', KEYS[4], sku) or redis.call('ZSCORE', KEYS[13], sku)
  local dw = redis.call('HGET', KEYS[1], sku)
  if mine and want ~= '' and want ~= dw then
    both[#both+1] = sku
    if lowering and dw and tonumber(want) < tonumber(dw) then
      lower(sku, want, attempt, now)
    end
  elseif not mine and (want ~= '' or parked ~= '') then
    if want ~= '' then redis.call('HSET', KEYS[1], sku, want) end
    if q == 'u' then redis.call('ZADD', KEYS[3], due, sku) elseif q == 'n' then redis.call('ZADD', KEYS[4], due, sku) end
    if cause ~= '' then redis.call('ZADD', KEYS[5], 'NX', cause, sku) end
    if attempts ~= '' then redis.call('HSET', KEYS[6], sku, attempts) end
    if parked ~= '' then redis.call('HSET', KEYS[7], sku, parked) end
    if reason ~= '' then redis.call('HSET', KEYS[8], sku, reason) end
    if attempt ~= '' then redis.call('HSET', KEYS[11], sku, attempt) end
    if held ~= '' then redis.call('ZADD', KEYS[13], held, sku) end
    took = took + 1
  end
end
return {took, both}`)

// forgetScript: ARGV = per item key, the key, its want|”, accepted|”
// and parked|” as exported. Deletes every trace of each item whose
// want, accepted and parked figures are still those (the lease is not an
// item's); returns how many.
var forgetScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 4 do
  local sku = ARGV[i]
  if (redis.call('HGET', KEYS[1], sku) or '') == ARGV[i+1] and (redis.call('HGET', KEYS[2], sku) or '') == ARGV[i+2]
      and (redis.call('HGET', KEYS[7], sku) or '') == ARGV[i+3] then
    for _, k in ipairs({KEYS[1], KEYS[2], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[11]}) do redis.call('HDEL', k, sku) end
    for _, k in ipairs({KEYS[3], KEYS[4], KEYS[5], KEYS[10], KEYS[13]}) do redis.call('ZREM', k, sku) end
    n = n + 1
  end
end
return n`)

// source is a partition of another layout that Migrate empties: shared
// when this layout has a partition with the same keys (partition tags are
// chosen per count and may coincide), whose own items stay.
type source struct {
	p      part
	shared bool
}

// sources are the partitions of the layouts in o.from that Migrate reads.
func (o *Outbox) sources() []source {
	o.fromMu.Lock()
	from := append([]int(nil), o.from...)
	o.fromMu.Unlock()
	mine := map[string]bool{}
	for _, p := range o.parts {
		mine[p.keys[kWant]] = true
	}
	var out []source
	for _, n := range from {
		if n == len(o.parts) {
			continue
		}
		for _, p := range NewPartitioned(nil, o.prefix, o.channel, n).parts {
			out = append(out, source{p: p, shared: mine[p.keys[kWant]]})
		}
	}
	return out
}

// Migrate moves what the other layouts Relayout found (the outbox of
// before partitions, with several) still hold into this layout's
// partitions (see above) and returns how many item keys it moved (taken
// by a partition or already there). The pusher runs it (through Relayout)
// when it takes the push lease.
func (o *Outbox) Migrate(ctx context.Context) (int, error) {
	moved := 0
	for _, src := range o.sources() {
		n, err := o.migrateFrom(ctx, src.p, kWant, kParked, kAccepted)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// MigrateLeftover is the pusher's periodic check for what a replica still
// on another layout queued meanwhile (a rolling change): one EXISTS per
// partition of the other layouts that this one does not use, a full
// Migrate of those that hold something, and a scan of the queued and
// parked items of the shared ones (their accepted figures are moved at the
// next lease take).
func (o *Outbox) MigrateLeftover(ctx context.Context) (int, error) {
	moved := 0
	for _, src := range o.sources() {
		fields := []int{kWant, kParked}
		if !src.shared {
			left, err := o.holds(ctx, src.p)
			if err != nil || !left {
				if err != nil {
					return moved, err
				}
				continue
			}
			fields = append(fields, kAccepted)
		}
		n, err := o.migrateFrom(ctx, src.p, fields...)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// migrateFrom moves src's items named in its hashes fields.
func (o *Outbox) migrateFrom(ctx context.Context, src part, fields ...int) (int, error) {
	moved := 0
	for _, k := range fields {
		var cursor uint64
		for {
			kv, next, err := o.rdb.HScan(ctx, src.keys[k], cursor, "", migrateChunk).Result()
			if err != nil {
				return moved, fmt.Errorf("outbox %s migrate: %w", o.channel, err)
			}
			keys := make([]string, 0, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				if o.parts[o.partOf(kv[i])].keys[kWant] != src.keys[kWant] {
					keys = append(keys, kv[i])
				}
			}
			n, err := o.migrateItems(ctx, src, keys)
			moved += n
			if err != nil {
				return moved, err
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return moved, nil
}

// Leftover says whether a partition of another layout that this one does
// not use holds an item (one read each; see MigrateLeftover).
func (o *Outbox) Leftover(ctx context.Context) (bool, error) {
	for _, src := range o.sources() {
		if src.shared {
			continue
		}
		if left, err := o.holds(ctx, src.p); err != nil || left {
			return left, err
		}
	}
	return false, nil
}

func (o *Outbox) holds(ctx context.Context, p part) (bool, error) {
	k := p.keys
	n, err := o.rdb.Exists(ctx, k[kWant], k[kParked], k[kAccepted]).Result()
	if err != nil {
		return false, fmt.Errorf("outbox %s leftover: %w", o.channel, err)
	}
	return n > 0, nil
}

// afterImport, when set (tests), runs between a chunk's import into the
// partitions and its forget in the source: an error there is a crash.
var afterImport func() error

// migrateItems moves src's items keys into their partitions (see Migrate).
func (o *Outbox) migrateItems(ctx context.Context, src part, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	flat, err := exportScript.Run(ctx, o.rdb, src.keys, args...).StringSlice()
	if err == nil && len(flat) != 10*len(keys) {
		err = fmt.Errorf("%d fields for %d items", len(flat), len(keys))
	}
	if err != nil {
		return 0, fmt.Errorf("outbox %s migrate: export: %w", o.channel, err)
	}
	byPart := map[int][]any{}
	var order []int
	forget := make([]any, 0, 4*len(keys))
	now := time.Now().UnixMilli()
	for i, k := range keys {
		f := flat[10*i : 10*i+10]
		p := o.partOf(k)
		if byPart[p] == nil {
			order = append(order, p)
			byPart[p] = []any{now, 0}
		}
		byPart[p] = append(append(byPart[p], k), toAny(f)...)
		forget = append(forget, k, f[0], f[1], f[6])
	}
	both, err := o.importChunk(ctx, order, byPart)
	if err != nil {
		return 0, err
	}
	if afterImport != nil {
		if err := afterImport(); err != nil {
			return 0, err
		}
	}
	if len(both) > 0 {
		// Marked before anything changes the partition's copy or the
		// source's goes: a crash in between leaves both differing, and
		// the next Migrate marks them again.
		if err := o.recompute(ctx, both); err != nil {
			return 0, err
		}
		for _, p := range order {
			byPart[p][1] = 1
		}
		if _, err := o.importChunk(ctx, order, byPart); err != nil {
			return 0, err
		}
	}
	n, err := forgetScript.Run(ctx, o.rdb, src.keys, forget...).Int()
	if err != nil {
		return 0, fmt.Errorf("outbox %s migrate: forget: %w", o.channel, err)
	}
	return n, nil
}

// importChunk runs importScript on each destination partition of a chunk
// and returns the item keys that both layouts held with different wants.
func (o *Outbox) importChunk(ctx context.Context, order []int, byPart map[int][]any) ([]string, error) {
	calls := make([]store.ScriptCall, len(order))
	for j, p := range order {
		calls[j] = store.ScriptCall{Keys: o.parts[p].keys, Args: byPart[p]}
	}
	var both []string
	for _, cmd := range store.RunEach(ctx, o.rdb, importScript, calls) {
		r, err := cmd.Slice()
		if err == nil && len(r) != 2 {
			err = fmt.Errorf("reply %v", r)
		}
		if err != nil {
			return nil, fmt.Errorf("outbox %s migrate: import: %w", o.channel, err)
		}
		keys, _ := r[1].([]any)
		for _, k := range keys {
			if s, ok := k.(string); ok {
				both = append(both, s)
			}
		}
	}
	return both, nil
}

// Intents marks SKUs for a push recomputed from the ledger's state
// (inventory.Ledger.MarkIntents; the intent sweeper propagates them).
type Intents interface {
	MarkIntents(ctx context.Context, skus []string) error
}

// SetIntents sets where Migrate marks the SKUs both layouts held with
// different wants (see importScript). Without it (tools, tests) such an
// item keeps the lower want until the SKU's next change or reconcile.
func (o *Outbox) SetIntents(in Intents) { o.intents = in }

// recompute marks the SKUs of item keys for a push from the ledger.
func (o *Outbox) recompute(ctx context.Context, keys []string) error {
	if len(keys) == 0 || o.intents == nil {
		return nil
	}
	skus := make([]string, 0, len(keys))
	for _, k := range keys {
		sku, _, _ := SplitLocationKey(k)
		if !slices.Contains(skus, sku) {
			skus = append(skus, sku)
		}
	}
	if err := o.intents.MarkIntents(ctx, skus); err != nil {
		return fmt.Errorf("outbox %s migrate: %w", o.channel, err)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// LayoutKey is where the channel's outbox layout in use is recorded (a
// hash: partitions, the count the pusher last migrated into, and before,
// the one before it), beside the push lease.
func (o *Outbox) LayoutKey() string {
	return o.lease[:len(o.lease)-len("lease")] + "layout"
}

// Relayout is what the pusher runs when it takes the push lease: it reads
// the recorded layout, moves into this layout's partitions whatever the
// recorded one, the one before it and the outbox of before partitions
// hold (Migrate), and only then records this layout, so a crash midway
// leaves the old record and the next lease take moves the rest. The
// layouts read stay in o.from for MigrateLeftover. It returns how many
// item keys it moved.
func (o *Outbox) Relayout(ctx context.Context) (int, error) {
	key := o.LayoutKey()
	rec, err := o.rdb.HMGet(ctx, key, "partitions", "before").Result()
	if err != nil {
		return 0, fmt.Errorf("outbox %s layout: %w", o.channel, err)
	}
	n := len(o.parts)
	from := []int{}
	if n > 1 {
		from = append(from, 1)
	}
	counts := make([]int, 2)
	for i, v := range rec {
		s, _ := v.(string)
		if c, err := strconv.Atoi(s); err == nil && c >= 1 {
			counts[i] = c
			if c != n && !slices.Contains(from, c) {
				from = append(from, c)
			}
		}
	}
	o.fromMu.Lock()
	o.from = from
	o.fromMu.Unlock()
	moved, err := o.Migrate(ctx)
	if err != nil || counts[0] == n {
		return moved, err
	}
	vals := []any{"partitions", n}
	if counts[0] > 0 {
		vals = append(vals, "before", counts[0])
	}
	if err := o.rdb.HSet(ctx, key, vals...).Err(); err != nil {
		return moved, fmt.Errorf("outbox %s layout: %w", o.channel, err)
	}
	return moved, nil
}
