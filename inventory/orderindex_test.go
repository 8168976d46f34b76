package inventory

import (
	"context"
	"testing"
	"time"
)

// The order index is written without a TTL, with the time of its last
// write; PruneOrderIndex deletes the orders not written for LineTTL, and
// brings keys of the older layout along.
func TestOrderIndexPrune(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		ttl := time.Hour
		l := e.ledger(Options{LineTTL: ttl})
		receive(t, l, "P", "A", 10)
		apply := func(order string) {
			t.Helper()
			if _, err := l.ApplyLines(ctx, []LineState{{Channel: "shop", OrderID: order, LineID: "1", SKU: "P", Location: "A", Ordered: 1, Version: 1}}); err != nil {
				t.Fatal(err)
			}
		}
		lines := func(order string) int {
			t.Helper()
			recs, err := l.Lines(ctx, "shop", order)
			if err != nil {
				t.Fatal(err)
			}
			return len(recs)
		}
		key := func(order string) string { return l.orderKey("shop", order) }

		apply("old")
		if d := e.rdb.PTTL(ctx, key("old")).Val(); d != -1 {
			t.Fatalf("index key TTL %v, want none", d)
		}
		if n := lines("old"); n != 1 {
			t.Fatalf("Lines(old) = %d lines, want 1 (the time field is not a line)", n)
		}
		// Keys of the older layout: lines and a TTL, no time.
		e.rdb.HSet(ctx, key("legacy"), "1", "P")
		e.rdb.PExpire(ctx, key("legacy"), ttl)
		e.rdb.HSet(ctx, key("legacy-written"), "1", "P")
		e.rdb.PExpire(ctx, key("legacy-written"), ttl)
		e.rdb.HSet(ctx, key("no-time"), "1", "P")
		e.rdb.HSet(ctx, key("damaged"), "1", "P", indexTime, "soon")
		e.rdb.Set(ctx, key("not-a-hash"), "x", 0) // not the ledger's: left alone

		e.clock.Advance(ttl + time.Millisecond)
		apply("new")
		apply("legacy-written") // written by this version: has a time now
		n, err := l.PruneOrderIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("pruned %d, want 2 (old, damaged)", n)
		}
		// (legacy and no-time index lines the ledger never recorded: none.)
		for order, want := range map[string]int{"old": 0, "damaged": 0, "new": 1, "legacy": 0, "legacy-written": 1, "no-time": 0} {
			if got := lines(order); got != want {
				t.Errorf("Lines(%s) = %d, want %d", order, got, want)
			}
		}
		// A key of the older layout gets the time its TTL implies (here
		// about now: it was written an hour ago by the real clock, with a
		// one-hour TTL, and the ledger's clock moved an hour) and loses the
		// TTL; a key written since follows its time; a key with neither, or
		// not a hash, is left alone.
		if d := e.rdb.PTTL(ctx, key("legacy")).Val(); d != -1 {
			t.Errorf("legacy key TTL %v, want none", d)
		}
		if at, err := e.rdb.HGet(ctx, key("legacy"), indexTime).Int64(); err != nil || at < e.clock.Now().Add(-time.Minute).UnixMilli() || at > e.clock.Now().UnixMilli() {
			t.Errorf("legacy key's time %d (%v), want about %d", at, err, e.clock.Now().UnixMilli())
		}
		if d := e.rdb.PTTL(ctx, key("legacy-written")).Val(); d != -1 {
			t.Errorf("legacy key written since: TTL %v, want none", d)
		}
		for _, order := range []string{"no-time", "not-a-hash"} {
			if e.rdb.Exists(ctx, key(order)).Val() != 1 {
				t.Errorf("%s was deleted", order)
			}
		}

		e.clock.Advance(ttl + time.Millisecond)
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 3 {
			t.Fatalf("second prune: %d, %v; want 3 (new, legacy-written, legacy)", n, err)
		}
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 0 {
			t.Fatalf("third prune: %d, %v; want 0", n, err)
		}
	})
}
