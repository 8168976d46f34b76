package inventory

import (
	"context"
	"fmt"
	"os"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"testing"
)

// Benchmarks run against REDIS_ADDR (bench/redis-benchmark.sh starts a
// private redis-server and runs them with the redis-benchmark baseline, in
// one run). Each reports lines/s: order-line updates applied per second.

// benchLine is a new order line (a reservation) of the bench SKU set: the
// common case of the ledger's hot path, and the same work the
// redis-benchmark baseline asks of the script.
func benchLine(i int64, skus []string) LineState {
	return LineState{Channel: "shop", OrderID: strconv.FormatInt(i, 10), LineID: "1", SKU: skus[i%int64(len(skus))], Location: "A", Ordered: 3, Version: 1}
}

func benchSKUs(b *testing.B, l *Ledger, n int) []string {
	b.Helper()
	ctx := context.Background()
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("BENCH-%06d", i)
	}
	var wg gosync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if _, err := l.SetCount(ctx, Count{SKU: skus[i], Location: "A", Quantity: 1_000_000_000, Version: 1}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return skus
}

// runCallers splits b.N line updates over callers goroutines, each sending
// batch lines per ApplyLines call.
func runCallers(b *testing.B, l *Ledger, skus []string, callers, batch int) {
	ctx := context.Background()
	var next atomic.Int64
	var wg gosync.WaitGroup
	b.ResetTimer()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines := make([]LineState, 0, batch)
			for {
				start := next.Add(int64(batch)) - int64(batch)
				if start >= int64(b.N) {
					return
				}
				lines = lines[:0]
				for i := start; i < start+int64(batch) && i < int64(b.N); i++ {
					lines = append(lines, benchLine(i, skus))
				}
				res, err := l.ApplyLines(ctx, lines)
				if err != nil {
					b.Error(err)
					return
				}
				if !res[0].Applied {
					b.Errorf("line not applied: %+v", res[0])
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkApplyLine: one line per call (unbatched) at 1, 20 and 100
// concurrent callers, with and without push intents; "hot" is one SKU (as
// the redis-benchmark baseline), "spread" 10,000 SKUs.
func BenchmarkApplyLine(b *testing.B) {
	for _, set := range []struct {
		name string
		n    int
	}{{"hot", 1}, {"spread", 10_000}} {
		for _, intents := range []bool{false, true} {
			for _, callers := range []int{1, 20, 100} {
				b.Run(fmt.Sprintf("skus=%s/intents=%v/callers=%d", set.name, intents, callers), func(b *testing.B) {
					e := realRedis(b)
					l := e.ledger(Options{NoIntents: !intents})
					skus := benchSKUs(b, l, set.n)
					runCallers(b, l, skus, callers, 1)
				})
			}
		}
	}
}

// BenchmarkApplyLinesBatched: pipelined batches from 4 concurrent callers:
// over 10,000 SKUs (about one line per SKU in a batch: one script run per
// line) and over 10 hot SKUs (the lines of one SKU share a script run).
func BenchmarkApplyLinesBatched(b *testing.B) {
	for _, set := range []struct {
		name string
		n    int
	}{{"spread", 10_000}, {"hot10", 10}} {
		for _, intents := range []bool{false, true} {
			for _, batch := range []int{100, 1000} {
				b.Run(fmt.Sprintf("skus=%s/intents=%v/batch=%d", set.name, intents, batch), func(b *testing.B) {
					e := realRedis(b)
					l := e.ledger(Options{NoIntents: !intents})
					skus := benchSKUs(b, l, set.n)
					runCallers(b, l, skus, 4, batch)
				})
			}
		}
	}
}

// TestMemory measures Redis memory at 100,000 SKUs x 2 locations with
// 200,000 open order lines, journal aside, by MEMORY USAGE of every key
// (plus the expires entry of keys with a TTL), so other clients of a
// shared Redis do not disturb it. Gated: INVENTORY_MEMORY=1.
func TestMemory(t *testing.T) {
	if os.Getenv("INVENTORY_MEMORY") == "" {
		t.Skip("set INVENTORY_MEMORY=1 to measure memory (takes ~1 min)")
	}
	const skuN, lineN = 100_000, 200_000
	e := realRedis(t)
	ctx := context.Background()
	l := e.ledger(Options{})
	parallel := func(n int, fn func(i int) error) {
		var wg gosync.WaitGroup
		var next atomic.Int64
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					if err := fn(i); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	sku := func(i int) string { return fmt.Sprintf("SKU-%06d", i) }
	parallel(skuN*2, func(i int) error {
		_, err := l.SetCount(ctx, Count{SKU: sku(i / 2), Location: []string{"wh-east", "wh-west"}[i%2], Quantity: 100, Version: 1})
		return err
	})
	figures := e.memoryOf(t, "s:")
	parallel(lineN/500, func(b int) error {
		lines := make([]LineState, 500)
		for j := range lines {
			i := b*500 + j
			// Shopify-like ids: 13-digit order and line ids.
			lines[j] = LineState{Channel: "shopify", OrderID: strconv.Itoa(5_000_000_000_000 + i), LineID: strconv.Itoa(13_000_000_000_000 + i),
				SKU: sku(i % skuN), Location: []string{"wh-east", "wh-west"}[i%2], Ordered: 2, Version: 1_763_700_000_000}
		}
		_, err := l.ApplyLines(ctx, lines)
		return err
	})
	lineRecords := e.memoryOf(t, "l:")
	orderIndex := e.memoryOf(t, "o:")
	perFig := float64(figures) / (skuN * 2)
	perLine := float64(lineRecords+orderIndex) / lineN
	t.Logf("stock figures: %d bytes for %d SKU x location = %.1f bytes each (target <= 200)", figures, skuN*2, perFig)
	t.Logf("open order lines: records %d + order index %d bytes for %d lines = %.1f bytes each (target <= 300)", lineRecords, orderIndex, lineN, perLine)
	if perFig > 200 || perLine > 300 {
		t.Errorf("memory over target")
	}
}

// memoryOf sums MEMORY USAGE of the ledger's keys of one kind ("s:", "l:",
// ...), adding the expires dict entry (a key pointer and a 64-bit time,
// rounded to the allocator's 32 bytes) for keys with a TTL.
func (e *testEnv) memoryOf(t *testing.T, kind string) int64 {
	t.Helper()
	ctx := context.Background()
	var total int64
	iter := e.rdb.Scan(ctx, 0, globEscape(e.prefix+kind)+"*", 1000).Iterator()
	var keys []string
	flush := func() {
		p := e.rdb.Pipeline()
		mem := make([]*redisIntCmd, len(keys))
		ttl := make([]*redisDurCmd, len(keys))
		for i, k := range keys {
			mem[i] = p.MemoryUsage(ctx, k, 0)
			ttl[i] = p.PTTL(ctx, k)
		}
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			total += mem[i].Val()
			if ttl[i].Val() > 0 {
				total += 32
			}
		}
		keys = keys[:0]
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			flush()
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	flush()
	return total
}
