package inventory

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestSetCountsCommands counts, on a private redis-server (INFO
// commandstats), what count_bulk.lua runs per SKU: one EXISTS whether the
// SKU is new or not; reorder points read (signal's HMGET) for a SKU that
// exists, not for a new one, and for none before any reorder point was
// set (the signals are skipped).
func TestSetCountsCommands(t *testing.T) {
	rdb := redistest.StartPersistent(t).Client(t)
	ctx := context.Background()
	l := New(rdb, Options{Prefix: "cmds:"})
	var counts []Count
	for i := range 100 {
		sku := fmt.Sprint("S-", i)
		if _, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: 1, Version: 1}); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, Count{SKU: sku, Location: "A", Quantity: 2, Version: 2})
	}
	stats := func(counts []Count) map[string]int64 {
		t.Helper()
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		mustCounts(t, ctx, l, counts)
		return commandCalls(t, rdb)
	}
	if got := stats(counts); got["exists"] != 100 || got["hmget"] != 0 {
		t.Errorf("recounting 100 SKUs, no reorder point ever set: %d EXISTS, %d HMGET; want 100 and 0 (%v)", got["exists"], got["hmget"], got)
	}
	// One SKU's own point (0: none crosses): every SKU that exists is
	// evaluated from now on.
	if _, err := l.SetReorder(ctx, Reorder{SKU: "S-0", Location: "A", Point: 0}, "test"); err != nil {
		t.Fatal(err)
	}
	for i := range counts {
		counts[i].Version++
	}
	if got := stats(counts); got["exists"] != 100 || got["hmget"] != 100 {
		t.Errorf("recounting 100 SKUs that exist: %d EXISTS, %d HMGET; want 100 and 100 (%v)", got["exists"], got["hmget"], got)
	}
	var fresh []Count
	for i := range 100 {
		fresh = append(fresh, Count{SKU: fmt.Sprint("N-", i), Location: "A", Quantity: 2, Version: 1})
	}
	if got := stats(fresh); got["exists"] != 100 || got["hmget"] != 0 {
		t.Errorf("counting 100 new SKUs: %d EXISTS, %d HMGET; want 100 and 0 (%v)", got["exists"], got["hmget"], got)
	}
}

var cmdstatRE = regexp.MustCompile(`(?m)^cmdstat_([\w|]+):calls=(\d+)`) // subcommands: function|load

// commandCalls returns INFO commandstats' calls by command.
func commandCalls(t *testing.T, rdb *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, m := range cmdstatRE.FindAllStringSubmatch(info, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		out[m[1]] = n
	}
	return out
}

// TestLineRunsSkipSignalsUntilConfigured counts, on a private
// redis-server, the reorder hash reads (signal's HMGET) of order-line runs:
// none before any reorder point was set, one a run after a SKU's own
// point was (every SKU is evaluated then, as a default could apply to
// it).
func TestLineRunsSkipSignalsUntilConfigured(t *testing.T) {
	rdb := redistest.StartPersistent(t).Client(t)
	ctx := context.Background()
	l := New(rdb, Options{Prefix: "cmds:", NoIntents: true})
	var counts []Count
	for i := range 10 {
		counts = append(counts, Count{SKU: fmt.Sprint("S-", i), Location: "A", Quantity: 100, Version: 1})
	}
	mustCounts(t, ctx, l, counts)
	sell := func(id string) map[string]int64 {
		t.Helper()
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		var lines []LineState
		for _, c := range counts {
			lines = append(lines, LineState{Channel: "c", OrderID: id, LineID: c.SKU, SKU: c.SKU, Location: "A", Ordered: 1, Version: 1})
		}
		res, err := l.ApplyLines(ctx, lines)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if !r.Applied {
				t.Fatalf("line %d not applied: %+v", i, r)
			}
		}
		return commandCalls(t, rdb)
	}
	if got := sell("1"); got["hmget"] != 0 {
		t.Errorf("10 lines, no reorder point ever set: %d HMGET; want 0 (%v)", got["hmget"], got)
	}
	if _, err := l.SetReorder(ctx, Reorder{SKU: "S-0", Location: "A", Point: 5}, "test"); err != nil {
		t.Fatal(err)
	}
	if got := sell("2"); got["hmget"] != 10 {
		t.Errorf("10 lines after a reorder point was set: %d HMGET; want 10 (%v)", got["hmget"], got)
	}
}
