package inventory

import (
	"context"
	"strings"
	"testing"
	"time"

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
		{"journal chain broken", func(ctx context.Context, e *testEnv, k skuKeys) error {
			return e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.journal, Values: []any{"o", "adjust", "c", "x", "f", "k", "l", "A", "h0", "99", "r0", "2", "h1", "10", "r1", "2", "t", "1"}}).Err()
		}, []string{"journal chain broken"}},
		{"journal chain broken, one-field entry", func(ctx context.Context, e *testEnv, k skuKeys) error {
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

// TestJournalUpgradedInPlace: a ledger whose journal holds entries in the
// nine-field format of earlier versions keeps working: History decodes both
// formats and Verify follows the chain across them.
func TestJournalUpgradedInPlace(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		k := l.keys("U")
		// What an earlier version left: a receipt of 10 and a line of 3.
		if err := e.rdb.HSet(ctx, k.stock, "A", "10,3").Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.HSet(ctx, k.lines, lineField("shop", "1", "1"), "5,3,0,0,0,0,A").Err(); err != nil {
			t.Fatal(err)
		}
		for _, v := range [][]any{
			{"o", "receive", "c", "receive", "f", "po-1", "l", "A", "h0", "0", "r0", "0", "h1", "10", "r1", "0", "t", "1763600000000"},
			{"o", "line", "c", "v=5", "f", "shop/1/1", "l", "A", "h0", "10", "r0", "0", "h1", "10", "r1", "3", "t", "1763600000001"},
		} {
			if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: k.journal, Values: v}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		mustVerify(t, l, []string{"U"})
		if _, err := l.ApplyLines(ctx, []LineState{{Channel: "shop", OrderID: "1", LineID: "1", SKU: "U", Location: "A", Ordered: 3, Shipped: 3, Version: 6}}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Adjust(ctx, Delta{Key: "adj-1", SKU: "U", Location: "A", Quantity: -1, Reason: "damaged"}); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, l, []string{"U"})
		h, err := l.History(ctx, "U", 10)
		if err != nil {
			t.Fatal(err)
		}
		want := []JournalEntry{
			{Op: OpReceive, Cause: "receive", Ref: "po-1", Location: "A", Before: level(0, 0), After: level(10, 0)},
			{Op: OpLine, Cause: "v=5", Ref: "shop/1/1", Location: "A", Before: level(10, 0), After: level(10, 3)},
			{Op: OpLine, Cause: "v=6", Ref: "shop/1/1", Location: "A", Before: level(10, 3), After: level(7, 0)},
			{Op: OpAdjust, Cause: "damaged", Ref: "adj-1", Location: "A", Before: level(7, 0), After: level(6, 0)},
		}
		if len(h) != len(want) {
			t.Fatalf("History: %+v", h)
		}
		for i, w := range want {
			g := h[i]
			g.ID, g.Time = "", time.Time{}
			if g != w {
				t.Errorf("entry %d: %+v, want %+v", i, g, w)
			}
		}
		if h[0].Time.UnixMilli() != 1763600000000 || h[2].Time.UnixMilli() != e.clock.Now().UnixMilli() {
			t.Errorf("times %v %v", h[0].Time, h[2].Time)
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
