package inventory

import (
	"context"
	"testing"
	"time"
)

// The order index is written without a TTL, with the time of its last
// write; PruneOrderIndex deletes the orders not written for LineTTL and
// leaves keys that are not the ledger's alone.
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
		e.rdb.HSet(ctx, key("no-time"), "1", "P")                    // not the ledger's: left alone
		e.rdb.HSet(ctx, key("damaged"), "1", "P", indexTime, "soon") // a time that is not a number: expired
		e.rdb.Set(ctx, key("not-a-hash"), "x", 0)                    // not the ledger's: left alone

		e.clock.Advance(ttl + time.Millisecond)
		apply("new")
		n, err := l.PruneOrderIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("pruned %d, want 2 (old, damaged)", n)
		}
		for order, want := range map[string]int{"old": 0, "damaged": 0, "new": 1, "no-time": 0} {
			if got := lines(order); got != want {
				t.Errorf("Lines(%s) = %d, want %d", order, got, want)
			}
		}
		for _, order := range []string{"no-time", "not-a-hash"} {
			if e.rdb.Exists(ctx, key(order)).Val() != 1 {
				t.Errorf("%s was deleted", order)
			}
		}
		e.clock.Advance(ttl + time.Millisecond)
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 1 {
			t.Fatalf("second prune: %d, %v; want 1 (new)", n, err)
		}
		if n, err := l.PruneOrderIndex(ctx); err != nil || n != 0 {
			t.Fatalf("third prune: %d, %v; want 0", n, err)
		}
	})
}
