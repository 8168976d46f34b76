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
		// The older layout's TTL stays (it expires by itself); a key written
		// since is governed by its time; a key with neither got the time now.
		if d := e.rdb.PTTL(ctx, key("legacy")).Val(); d <= 0 {
			t.Errorf("legacy key TTL %v, want its own", d)
		}
		if d := e.rdb.PTTL(ctx, key("legacy-written")).Val(); d != -1 {
			t.Errorf("legacy key written since: TTL %v, want none", d)
		}
		if v := e.rdb.HGet(ctx, key("no-time"), indexTime).Val(); v != e.rdb.HGet(ctx, key("new"), indexTime).Val() {
			t.Errorf("key without a time got %q, want the time now", v)
		}

		e.clock.Advance(ttl + time.Millisecond)
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 3 {
			t.Fatalf("second prune: %d, %v; want 3 (new, legacy-written, no-time)", n, err)
		}
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 0 {
			t.Fatalf("third prune: %d, %v; want 0", n, err)
		}
	})
}
