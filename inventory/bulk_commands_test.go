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
// exists, not for a new one.
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

var cmdstatRE = regexp.MustCompile(`(?m)^cmdstat_(\w+):calls=(\d+)`)

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
