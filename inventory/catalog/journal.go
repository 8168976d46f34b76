package catalog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
)

// JournalMaxLen is the approximate number of catalog changes kept.
const JournalMaxLen = 10000

// JournalEntry is one catalog change.
type JournalEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Op     string    `json:"op"`               // "mapping" or "kit"; "delete mapping", "delete kit"
	Name   string    `json:"name"`             // "channel/listing" or the kit SKU
	Before string    `json:"before,omitempty"` // the previous definition, "" if none
	After  string    `json:"after"`            // the new one ("" when deleted)
	Source string    `json:"source,omitempty"` // who wrote it: a file, "api"
}

// journalDelete appends the entry of a deleted mapping or kit: its
// definition as before, nothing after.
func (c *Catalog) journalDelete(ctx context.Context, ch change, source string) error {
	op, name, before := "delete kit", "", ""
	if ch.kit != nil {
		name, before = ch.kit.SKU, describeComponents(ch.oldComp)
	} else {
		op, name, before = "delete mapping", ch.mapping.Channel+"/"+ch.mapping.Listing, describeTarget(ch.oldTgt)
	}
	err := c.rdb.XAdd(ctx, &redis.XAddArgs{Stream: c.journalKey(), MaxLen: JournalMaxLen, Approx: true,
		Values: []any{"op", op, "name", name, "before", before, "after", "", "source", source, "at", strconv.FormatInt(time.Now().UnixMilli(), 10)}}).Err()
	if err != nil {
		return fmt.Errorf("journaling a catalog delete: %w", err)
	}
	return nil
}

// journal appends one entry per change, like the ledger's movements.
func (c *Catalog) journal(ctx context.Context, changes []change, source string) error {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := c.rdb.Pipeline()
	for _, ch := range changes {
		op, name, after := "kit", "", ""
		if ch.kit != nil {
			name, after = ch.kit.SKU, describeComponents(ch.kit.Components)
			if ch.oldComp != nil {
				ch.old = describeComponents(ch.oldComp)
			}
		} else {
			m := ch.mapping
			op, name, after = "mapping", m.Channel+"/"+m.Listing, describeTarget(Target{SKU: m.SKU, Multiplier: m.Multiplier})
			if ch.oldTgt.SKU != "" {
				ch.old = describeTarget(ch.oldTgt)
			}
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: c.journalKey(), MaxLen: JournalMaxLen, Approx: true,
			Values: []any{"op", op, "name", name, "before", ch.old, "after", after, "source", source, "at", now}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("journaling catalog changes: %w", err)
	}
	return nil
}

func describeTarget(t Target) string { return itoa(t.Multiplier) + " x " + t.SKU }

func describeComponents(cs []Component) string {
	s := ""
	for i, cp := range cs {
		if i > 0 {
			s += " + "
		}
		s += itoa(cp.Quantity) + " x " + cp.SKU
	}
	return s
}

// History returns the newest n catalog changes, newest first.
func (c *Catalog) History(ctx context.Context, n int64) ([]JournalEntry, error) {
	msgs, err := c.rdb.XRevRangeN(ctx, c.journalKey(), "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the catalog journal: %w", err)
	}
	out := make([]JournalEntry, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		ms, _ := strconv.ParseInt(str("at"), 10, 64)
		out = append(out, JournalEntry{ID: m.ID, At: time.UnixMilli(ms).UTC(), Op: str("op"), Name: str("name"),
			Before: str("before"), After: str("after"), Source: str("source")})
	}
	return out, nil
}

// markScript: KEYS = pending zset, seq; ARGV = names. One sequence number
// for the whole change, as the ledger's push intents.
var markScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[2])
for i = 1, #ARGV do redis.call('ZADD', KEYS[1], seq, ARGV[i]) end
return seq`)

// clearScript removes a pending name only if it was not marked again.
var clearScript = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`)

// markPending records names whose listings a change moved, for the
// daemon's sweeper (PendingIntents).
func (c *Catalog) markPending(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	if err := markScript.Run(ctx, c.rdb, []string{c.pendingKey(), c.seqKey()}, args...).Err(); err != nil {
		return fmt.Errorf("marking catalog changes for the daemon: %w", err)
	}
	return nil
}

// PendingIntents returns up to max names a catalog change moved, oldest
// first, in the ledger's intent shape: the daemon's sweeper applies the
// lines parked under them and pushes their listings, then clears them.
func (c *Catalog) PendingIntents(ctx context.Context, max int64) ([]inventory.Intent, error) {
	zs, err := c.rdb.ZRangeWithScores(ctx, c.pendingKey(), 0, max-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading pending catalog changes: %w", err)
	}
	out := make([]inventory.Intent, 0, len(zs))
	for _, z := range zs {
		if s, ok := z.Member.(string); ok {
			out = append(out, inventory.Intent{SKU: s, Seq: z.Score})
		}
	}
	return out, nil
}

// ClearIntent removes a pending name unless it was marked again since read.
func (c *Catalog) ClearIntent(ctx context.Context, in inventory.Intent) error {
	err := clearScript.Run(ctx, c.rdb, []string{c.pendingKey()}, in.SKU, strconv.FormatFloat(in.Seq, 'f', -1, 64)).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("clearing pending catalog change of %s: %w", in.SKU, err)
	}
	return nil
}
