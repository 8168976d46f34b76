package inventory

import (
	"context"
	"reflect"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// The scripts decode stored values too (in Lua). These fuzz tests check, on
// the embedded store, that whatever the Go decoders accept the scripts read
// the same way: a value Verify calls sound is never misread by a write.

func fuzzLedger(f *testing.F) (*Ledger, redis.UniversalClient) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mr.Close)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { _ = rdb.Close() })
	return New(rdb, Options{Prefix: "f:"}), rdb
}

func FuzzScriptReadsFigures(f *testing.F) {
	seedLines(f, "testdata/stored_values.txt")
	l, rdb := fuzzLedger(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, v string) {
		want, err := decodeFigures(v)
		if err != nil {
			return
		}
		if want.OnHand > MaxQuantity || want.OnHand < -MaxQuantity || want.Reserved > MaxQuantity || want.Reserved < -MaxQuantity {
			return // beyond what the ledger ever stores
		}
		k := l.keys("S")
		rdb.Del(ctx, k.stock, k.journal, k.op("r"))
		if err := rdb.HSet(ctx, k.stock, "A", v).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := l.Receive(ctx, Delta{Key: "r", SKU: "S", Location: "A", Quantity: 2})
		if err != nil {
			t.Fatalf("%q decodes in Go (%+v) but the script fails: %v", v, want, err)
		}
		if got.OnHand != want.OnHand+2 || got.Reserved != want.Reserved {
			t.Fatalf("%q: Go reads %+v, the script %+v", v, want.Level, got)
		}
		after, err := rdb.HGet(ctx, k.stock, "A").Result()
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeFigures(after)
		if err != nil || back.CountVersion != want.CountVersion {
			t.Fatalf("%q: the script wrote %q (%v), count version lost", v, after, err)
		}
	})
}

func FuzzScriptReadsLineRecord(f *testing.F) {
	seedLines(f, "testdata/stored_values.txt")
	l, rdb := fuzzLedger(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, v string) {
		rec, err := decodeLineRecord(v)
		if err != nil || len(rec.problems()) > 0 || rec.Version >= 1<<62 {
			return
		}
		for _, n := range []int64{rec.Ordered, rec.Shipped, rec.Cancelled, rec.Restocked, rec.WrittenOff} {
			if n > MaxQuantity {
				return
			}
		}
		k := l.keys("S")
		rdb.Del(ctx, k.stock, k.lines, k.closed, k.journal)
		field := lineField("c", "o", "1")
		for loc := range rec.Shares() {
			if err := rdb.HSet(ctx, k.stock, loc, "0,0").Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := rdb.HSet(ctx, k.lines, field, v).Err(); err != nil {
			t.Fatal(err)
		}
		// The same state, one version later: the script must read the record
		// as Go does, so nothing moves.
		s := LineState{Channel: "c", OrderID: "o", LineID: "1", SKU: "S", Location: rec.Location,
			Ordered: rec.Ordered, Shipped: rec.Shipped, Cancelled: rec.Cancelled, Returned: rec.Restocked + rec.WrittenOff,
			Restock: true, Version: rec.Version + 1}
		if len(rec.Split) > 0 { // a split line keeps its parts when no location is named
			s.Location, s.Candidates = "", []string{rec.Location}
		}
		res, err := l.ApplyLines(ctx, []LineState{s})
		if err != nil {
			t.Fatalf("%q decodes in Go (%+v) but the script fails: %v", v, rec, err)
		}
		if res[0].Applied || res[0].Location != rec.Location || !reflect.DeepEqual(res[0].Split, rec.Split) {
			t.Fatalf("%q: the same state moved stock: %+v", v, res[0])
		}
		// And the same version again is a duplicate: the version was read right.
		s.Version = rec.Version
		rdb.HSet(ctx, k.lines, field, v)
		res, err = l.ApplyLines(ctx, []LineState{s})
		if err != nil || res[0].Ignored != IgnoredDuplicate {
			t.Fatalf("%q: same version: %+v, %v", v, res, err)
		}
	})
}
