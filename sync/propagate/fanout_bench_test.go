package propagate

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// BenchmarkKitFanOut: one component (X) in 100 kits (each X + a component
// of its own), three channels; each op changes X's stock (outside the
// timer), then
//
//   - fanout: computes what every channel lists after the change (Listed):
//     the catalog of X, of its 100 kits (the reverse index names them),
//     the stock of the 101 components, 303 quantities — the fan-out's own
//     reads and arithmetic;
//   - propagate: the whole Propagate, which also writes the 303 items into
//     the three outboxes (one outbox script per channel, each item checked
//     against what the channel has);
//
// against the real Redis. Besides wall time per op, redis-µs/op is the
// ledger time the target is about: the CPU time Redis's main
// thread spent on the op (INFO cpu's used_cpu_{sys,user}_main_thread read
// before and after each op, outside the timer: it includes reading and
// answering the op's commands, and one INFO). It is the op's own only on
// a Redis nobody else uses (REDIS_ADDR of a private redis-server), and is
// less affected than wall time by a busy machine. (commandstats would
// count the commands a script calls twice: in the script and alone.)
//
//	go test -run '^$' -bench BenchmarkKitFanOut -benchtime 200x ./sync/propagate/
func BenchmarkKitFanOut(b *testing.B) {
	rdb, prefix := redistest.New(b)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	receive := func(key, sku string, q int64) {
		if _, err := l.Receive(ctx, inventory.Delta{Key: key, SKU: sku, Location: "main", Quantity: q, Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	receive("r", "X", 1000)
	var plan catalog.Plan
	for i := 0; i < 100; i++ {
		own := fmt.Sprintf("Y%03d", i)
		receive("r", own, 500)
		plan.Kits = append(plan.Kits, catalog.Kit{SKU: fmt.Sprintf("KIT%03d", i),
			Components: []catalog.Component{{SKU: "X", Quantity: int64(1 + i%3)}, {SKU: own, Quantity: 1}}})
	}
	cat := catalog.New(rdb, prefix)
	if probs, err := cat.Check(ctx, plan, l, nil); err != nil || len(probs) > 0 {
		b.Fatal(probs, err)
	}
	if _, err := cat.Apply(ctx, plan, "bench"); err != nil {
		b.Fatal(err)
	}
	var chans []Channel
	for _, n := range []string{"shop", "bay", "amz"} {
		chans = append(chans, Channel{Name: n, Locations: []string{"main"}, Outbox: outbox.New(rdb, prefix, n), Wake: func() {}})
	}
	p := New(rdb, l, chans).WithCatalog(cat)
	ops := map[string]func() error{
		"fanout": func() error {
			listed, err := p.Listed(ctx, "X")
			if err == nil && len(listed["amz"]) != 101 {
				err = fmt.Errorf("amz lists %d, want 101", len(listed["amz"]))
			}
			return err
		},
		"propagate": func() error { return p.Propagate(ctx, []string{"X"}, time.Now(), nil, catalog.Version{}) },
	}
	for _, name := range []string{"fanout", "propagate"} {
		b.Run(name, func(b *testing.B) {
			var usec int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				receive(fmt.Sprintf("%s%d", name, i), "X", 1)
				before := redisCPU(b, rdb)
				b.StartTimer()
				if err := ops[name](); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				usec += redisCPU(b, rdb) - before
				b.StartTimer()
			}
			b.ReportMetric(float64(usec)/float64(b.N), "redis-µs/op")
		})
	}
}

var cpuRE = regexp.MustCompile(`(?m)^used_cpu_(?:sys|user)_main_thread:([0-9.]+)`)

// redisCPU is the CPU time, in µs, Redis's main thread (which runs every
// command and script) has used so far (INFO cpu).
func redisCPU(b *testing.B, rdb redis.UniversalClient) int64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, m := range cpuRE.FindAllStringSubmatch(info, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return int64(sum * 1e6)
}
