package inventory

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestVerifyFindsDamage breaks stored data in each way Verify must notice.
func TestVerifyFindsDamage(t *testing.T) {
	cases := []struct {
		name   string
		damage func(ctx context.Context, e *testEnv, k skuKeys) error
		want   []string // substrings of What, one per expected inconsistency
	}{
		{"reserved without a line", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.stock, "A", "10,5").Err()
		}, []string{"reserved differs", "figures differ from the journal"}},
		{"line record lost", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HDel(ctx, k.lines, lineField("c", "o", "1")).Err()
		}, []string{"reserved differs"}},
		{"negative reserved", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.stock, "B", "1,-1").Err()
		}, []string{"negative reserved", "reserved differs"}},
		{"undecodable figures", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.stock, "A", "ten").Err()
		}, []string{"undecodable figures"}},
		{"undecodable record", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.lines, lineField("c", "o", "9"), "1,2").Err()
		}, []string{"undecodable line record"}},
		{"inconsistent record", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.lines, lineField("c", "o", "9"), "1,1,1,1,0,0,B").Err()
		}, []string{"inconsistent"}},
		{"journal entry of another format", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.journal, Values: []any{"o", "adjust", "c", "x", "f", "k", "l", "A", "h0", "99", "r0", "2", "h1", "10", "r1", "2", "t", "1"}}).Err()
		}, []string{"undecodable journal entry"}},
		{"journal chain broken", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.journal, Values: []any{"m", "adjust,99,2,10,2,1,1,1,xkA"}}).Err()
		}, []string{"journal chain broken"}},
		{"undecodable journal entry", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.journal, Values: []any{"m", "adjust,8,2,10,2,1,9,9,xkA"}}).Err()
		}, []string{"undecodable journal entry"}},
		{"figures changed behind the journal", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.HSet(ctx, k.stock, "A", "11,2").Err()
		}, []string{"figures differ from the journal"}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for _, c := range cases {
			l := e.ledger(Options{})
			sku := "V-" + strings.ReplaceAll(c.name, " ", "-")
			receive(t, l, sku, "A", 10)
			if _, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "o", LineID: "1", SKU: sku, Location: "A", Ordered: 2, Version: 1}}); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, l, []string{sku})
			if err := c.damage(ctx, e, l.keys(sku)); err != nil {
				t.Fatal(err)
			}
			got, err := l.Verify(ctx, []string{sku})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Errorf("%s: %d inconsistencies %v, want %v", c.name, len(got), got, c.want)
				continue
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					if strings.Contains(g.What, w) && g.SKU == sku {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no %q in %v", c.name, w, got)
				}
			}
		}
	})
}

// TestVerifyCatchesEntriesThatDoNotAddUp: a journal entry whose op should
// have moved a figure but did not (an adjust "applied" with on_hand
// unchanged), or that moved one its op never moves, or holds a figure out
// of range, is reported even when the chain links up.
func TestVerifyCatchesEntriesThatDoNotAddUp(t *testing.T) {
	lv := func(h, r int64) Level { return Level{OnHand: h, Reserved: r} }
	cases := []struct {
		name          string
		op            string
		before, after Level
		bad           bool
	}{
		{"an adjust that moved on_hand", "adjust", lv(5, 0), lv(6, 0), false},
		{"an adjust that moved nothing", "adjust", lv(1<<53, 0), lv(1<<53, 0), true},
		{"a receive that lowered on_hand", "receive", lv(5, 0), lv(4, 0), true},
		{"a restock that touched reserved", "restock", lv(5, 1), lv(6, 2), true},
		{"a write-off moves nothing", "writeoff", lv(5, 1), lv(5, 1), false},
		{"a count to the same figure", "count", lv(5, 1), lv(5, 1), false},
		{"a count that touched reserved", "count", lv(5, 1), lv(5, 2), true},
		{"an order line that moved nothing", "line", lv(5, 1), lv(5, 1), true},
		{"an order line", "line", lv(5, 1), lv(5, 2), false},
		{"a figure out of range", "receive", lv(MaxQuantity, 0), lv(MaxQuantity+1, 0), true},
	}
	for _, c := range cases {
		got := entryProblem(JournalEntry{ID: "1-1", Op: c.op, Before: c.before, After: c.after}) != ""
		if got != c.bad {
			t.Errorf("%s: reported %v, want %v", c.name, got, c.bad)
		}
	}
}

// TestVerifyReportsReadErrors: a key Verify cannot read (here a SKU's
// line records key holding a string) is an error, whether or not other
// SKUs of the page have opening rows (the opening rows' HGET answers
// redis.Nil for a SKU without any, which must not hide it).
func TestVerifyReportsReadErrors(t *testing.T) {
	e := realRedis(t)
	ctx := context.Background()
	l := New(e.rdb, Options{Prefix: e.prefix, Now: e.clock.Now})
	for _, sku := range []string{"A", "B"} {
		if _, err := l.Receive(ctx, Delta{Key: "r" + sku, SKU: sku, Location: "X", Quantity: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.rdb.Set(ctx, l.keys("B").lines, "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, skus := range [][]string{nil, {"A", "B"}, {"B"}} {
		bad, err := l.Verify(ctx, skus)
		if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !strings.Contains(err.Error(), "B") {
			t.Errorf("Verify(%q) = %v, %v: want the WRONGTYPE error reading B", skus, bad, err)
		}
	}
}
