package outbox

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// An outbox raised from one partition to several (redis.outbox_partitions
// on a running install, or an upgrade from a version without partitions)
// may still hold items in its single outbox of before, {outbox:<channel>}
// (the "legacy" keys), and a replica of the previous version (a rolling
// upgrade) may go on queueing there. Migrate moves them into their
// partitions, item by item: read (exportScript), merge into the partition
// (importScript), then forget in the legacy keys only if unchanged since
// the read (forgetScript). A crash between the steps leaves the item in
// both, and the next Migrate merges it again: the merge is idempotent.
// The merge keeps a partition's own state when it has one (a want, a
// queued, held or parked item: written by this version, after the
// upgrade); else it takes the legacy want, queue and due time, cause,
// attempt id and count, parked state and shadow hold. The accepted figure
// is taken only where the partition has none. Not migrated: the in-flight
// marks of a pusher of before (the item stays queued and is pushed again,
// as after any pusher's crash). Changing the number of partitions between
// two values above one is not migrated.

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

// importScript: ARGV = per item key, the key then exportScript's 10
// fields. Returns how many items it took (the rest were the partition's).
var importScript = redis.NewScript(`
local took = 0
for i = 1, #ARGV, 11 do
  local sku, want, acc, q, due, cause = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local attempts, parked, reason, attempt, held = ARGV[i+6], ARGV[i+7], ARGV[i+8], ARGV[i+9], ARGV[i+10]
  if acc ~= '' then redis.call('HSETNX', KEYS[2], sku, acc) end
  local mine = redis.call('HEXISTS', KEYS[1], sku) == 1 or redis.call('HEXISTS', KEYS[7], sku) == 1
    or redis.call('ZSCORE', KEYS[3], sku) or redis.call('ZSCORE', KEYS[4], sku) or redis.call('ZSCORE', KEYS[13], sku)
  if not mine and (want ~= '' or parked ~= '') then
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
return took`)

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

// Migrate moves what the outbox of before partitions still holds into
// the partitions (see above) and returns how many item keys it moved
// (taken by a partition or already there). Nothing to do with one
// partition. The pusher runs it when it takes the push lease and whenever
// Leftover finds something.
func (o *Outbox) Migrate(ctx context.Context) (int, error) {
	if o.legacy == nil {
		return 0, nil
	}
	moved := 0
	// want names every queued, held or retried item, parked every parked
	// one, accepted the figures to compare from.
	for _, k := range []int{kWant, kParked, kAccepted} {
		var cursor uint64
		for {
			kv, next, err := o.rdb.HScan(ctx, o.legacy.keys[k], cursor, "", migrateChunk).Result()
			if err != nil {
				return moved, fmt.Errorf("outbox %s migrate: %w", o.channel, err)
			}
			keys := make([]string, 0, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				keys = append(keys, kv[i])
			}
			n, err := o.migrateItems(ctx, keys)
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

// Leftover says whether the outbox of before partitions holds an item
// (one read; false with one partition).
func (o *Outbox) Leftover(ctx context.Context) (bool, error) {
	if o.legacy == nil {
		return false, nil
	}
	k := o.legacy.keys
	n, err := o.rdb.Exists(ctx, k[kWant], k[kParked], k[kAccepted]).Result()
	if err != nil {
		return false, fmt.Errorf("outbox %s leftover: %w", o.channel, err)
	}
	return n > 0, nil
}

// migrateItems moves the legacy items keys (see Migrate).
func (o *Outbox) migrateItems(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	flat, err := exportScript.Run(ctx, o.rdb, o.legacy.keys, args...).StringSlice()
	if err != nil || len(flat) != 10*len(keys) {
		return 0, fmt.Errorf("outbox %s migrate: export: %w", o.channel, err)
	}
	byPart := map[int][]any{}
	var order []int
	forget := make([]any, 0, 4*len(keys))
	for i, k := range keys {
		f := flat[10*i : 10*i+10]
		p := o.partOf(k)
		if byPart[p] == nil {
			order = append(order, p)
		}
		byPart[p] = append(append(byPart[p], k), toAny(f)...)
		forget = append(forget, k, f[0], f[1], f[6])
	}
	calls := make([]call, len(order))
	for j, p := range order {
		calls[j] = call{keys: o.parts[p].keys, args: byPart[p]}
	}
	for _, cmd := range runEach(ctx, o.rdb, importScript, calls) {
		if err := cmd.Err(); err != nil {
			return 0, fmt.Errorf("outbox %s migrate: import: %w", o.channel, err)
		}
	}
	n, err := forgetScript.Run(ctx, o.rdb, o.legacy.keys, forget...).Int()
	if err != nil {
		return 0, fmt.Errorf("outbox %s migrate: forget: %w", o.channel, err)
	}
	return n, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
