package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// indexTime is the order index field holding when the order was last
// written (unix ms). It holds the field separator, so no line id (which
// may not) can be it.
const indexTime = string(fieldSep) + "t"

// pruneIndexScript deletes an order index key whose last write is older
// than the cutoff, checked and deleted in one step, so an order written
// meanwhile keeps its index. KEYS: the index key; ARGV: the field, cutoff ms.
var pruneIndexScript = redis.NewScript(`
local t = redis.call('HGET', KEYS[1], ARGV[1])
if not t then return 0 end
local ms = tonumber(t)
if ms == nil or ms < tonumber(ARGV[2]) then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// PruneOrderIndex deletes the order index of every order not written for
// LineTTL, and returns how many it deleted. The index carries no TTL of
// its own (setting one on every write would cost the hot path a command an
// order), so the daemon runs this periodically (sync/engine: hourly, under
// a lease). A key without a time, or not a hash, is not the ledger's and
// is left alone; a time that is not a number counts as expired. Safe to
// run concurrently with writes and with itself.
func (l *Ledger) PruneOrderIndex(ctx context.Context) (int, error) {
	cutoff := l.nowMS() - l.opts.LineTTL.Milliseconds()
	var removed atomic.Int64 // a Cluster's masters are scanned concurrently
	err := l.scanKeys(ctx, globEscape(l.opts.Prefix+"o:")+"*", "the order index", func(keys []string) error {
		n, err := l.pruneKeys(ctx, keys, cutoff)
		removed.Add(int64(n))
		return err
	})
	return int(removed.Load()), err
}

// pruneKeys handles one page of index keys: reads each one's time, then
// deletes the expired ones by script.
func (l *Ledger) pruneKeys(ctx context.Context, keys []string, cutoff int64) (int, error) {
	times := make([]*redis.StringCmd, len(keys))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			times[i] = p.HGet(ctx, k, indexTime)
		}
		return nil
	})
	var old []string
	for i, k := range keys {
		t, err := times[i].Result()
		switch {
		case errors.Is(err, redis.Nil), redis.HasErrorPrefix(err, "WRONGTYPE"):
			// Not the ledger's.
		case err != nil:
			return 0, fmt.Errorf("reading the time of order index %s: %w", k, err)
		default:
			if ms, perr := strconv.ParseInt(t, 10, 64); perr != nil || ms < cutoff {
				old = append(old, k)
			}
		}
	}
	cmds := make([]*redis.Cmd, len(old))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range old {
			cmds[i] = pruneIndexScript.Eval(ctx, p, []string{k}, indexTime, cutoff)
		}
		return nil
	})
	removed := 0
	for i, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return removed, fmt.Errorf("pruning order index %s: %w", old[i], err)
		}
		removed += n
	}
	return removed, nil
}
