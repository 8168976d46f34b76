package stockimport

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// BenchmarkImport parses and applies a 50,000-row opening-stock CSV (new
// SKUs, one location each, versioned) into the Redis at REDIS_ADDR
// (default the shared 127.0.0.1:6379): the whole `stock import` path but
// the file read. rows/s is the figure in BENCHMARKS.md. It also reports
// the CPU each row cost: redis-us/row, the Redis main thread's (INFO cpu
// around the timed runs: only meaningful on a private redis-server that
// nobody else uses), and go-us/row, this process's (parse, encoding,
// decoding). On a loaded machine rows/s is what the scheduler allowed;
// 1e6 / (redis-us/row) is what one idle Redis core would allow.
func BenchmarkImport(b *testing.B) {
	const rows = 50_000
	rdb, prefix := redistest.New(b)
	ctx := context.Background()
	var sb strings.Builder
	sb.WriteString("sku,location,on_hand,version\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&sb, "SKU-%06d,main,%d,1\n", i, i%100)
	}
	file := sb.String()
	redis0, go0 := redisCPU(b, rdb), processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh prefix per run: every row is a new SKU, as on day one.
		l := inventory.New(rdb, inventory.Options{Prefix: fmt.Sprintf("%sb%d:", prefix, i)})
		counts, err := ParseCSV(strings.NewReader(file), Options{Locations: locs})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Apply(ctx, l, counts, 0, 0, nil)
		if err != nil || sum.Applied != rows {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
	b.StopTimer()
	n := float64(rows * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((redisCPU(b, rdb)-redis0)*1e6/n, "redis-us/row")
	b.ReportMetric((processCPU()-go0)*1e6/n, "go-us/row")
}

// redisCPU is the CPU seconds (user+sys) of Redis's main thread.
func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	s, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys_main_thread" || k == "used_cpu_user_main_thread") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			sum += f
		}
	}
	return sum
}

// processCPU is this process's CPU seconds (user+sys).
func processCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
