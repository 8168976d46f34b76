package report

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// benchShop is a month of a large shop written through the ledger's API
// into the real Redis, under a fresh prefix deleted at the end: SKUs
// counted in (one journal entry each), then 30 days of orders on three
// channels, each placed (1-3 units of a random SKU), the next day shipped
// (85 %) or cancelled, and 5 % of the shipped returned and restocked two
// days later: one journal entry per movement, about
// REPORT_BENCH_ENTRIES entries in all (default 1,000,000) over
// REPORT_BENCH_SKUS SKUs (default 100,000).
type benchShop struct {
	l                   *inventory.Ledger
	rdb                 *redis.Client
	from, now           time.Time
	skus, orders, units int
	cancelled, returned int
	written             time.Duration
	cleanup             func()
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchOrder is one order of benchShop: SKU, units, channel.
type benchOrder struct {
	sku   string
	units int64
	ch    string
	id    int
	ver   int64
}

func newBenchShop(b *testing.B) *benchShop {
	skus, entries := envInt("REPORT_BENCH_SKUS", 100_000), envInt("REPORT_BENCH_ENTRIES", 1_000_000)
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), PoolSize: 16, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	prefix := redistest.Prefix()
	c := &clock{}
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c.Set(end.Add(-30 * 24 * time.Hour).Add(time.Hour))
	s := &benchShop{rdb: rdb, l: inventory.New(rdb, inventory.Options{Prefix: prefix, Now: c.Now, NoIntents: true}),
		from: end.Add(-30 * 24 * time.Hour), now: end, skus: skus,
		cleanup: func() { redistest.Clean(rdb, prefix); _ = rdb.Close() }}
	t0 := time.Now()
	if err := s.write(c, entries); err != nil {
		s.cleanup()
		b.Fatal(err)
	}
	s.written = time.Since(t0)
	return s
}

func (s *benchShop) sku(i int) string { return fmt.Sprintf("SKU-%06d", i) }

// write counts the SKUs in, then places, ships, cancels and returns a
// day at a time (each day's lines 1,000 a call, four calls at once).
func (s *benchShop) write(c *clock, entries int) error {
	ctx := context.Background()
	counts := make([]inventory.Count, 0, s.skus)
	for i := range s.skus {
		counts = append(counts, inventory.Count{SKU: s.sku(i), Location: "main", Quantity: 1_000_000, Version: 1})
	}
	if err := s.apply(ctx, nil, counts); err != nil {
		return err
	}
	perDay := (entries - s.skus) * 100 / (30 * 204) // about 2.04 entries an order
	rng := rand.New(rand.NewPCG(1, 2))
	channels := []string{"shop", "ebay", "amazon"}
	var days [][]benchOrder
	for d := range 30 {
		c.Set(s.from.Add(time.Duration(d)*24*time.Hour + time.Hour))
		v := c.Now().UnixMilli()
		var lines []inventory.LineState
		today := make([]benchOrder, perDay)
		for i := range today {
			o := benchOrder{sku: s.sku(rng.IntN(s.skus)), units: 1 + rng.Int64N(3), ch: channels[rng.IntN(3)], id: d*perDay + i, ver: v}
			today[i] = o
			s.orders++
			s.units += int(o.units)
			lines = append(lines, o.state(o.units, 0, 0, 0, v))
		}
		if d >= 1 {
			for i, o := range days[d-1] {
				if i%100 < 85 {
					lines = append(lines, o.state(o.units, o.units, 0, 0, v))
				} else {
					s.cancelled++
					lines = append(lines, o.state(o.units, 0, o.units, 0, v))
				}
			}
		}
		if d >= 3 {
			for i, o := range days[d-3] {
				if i%100 < 5 {
					s.returned++
					lines = append(lines, o.state(o.units, o.units, 0, 1, v))
				}
			}
		}
		days = append(days, today)
		if err := s.apply(ctx, lines, nil); err != nil {
			return err
		}
	}
	return nil
}

func (o benchOrder) state(ordered, shipped, cancelled, returned, ver int64) inventory.LineState {
	return inventory.LineState{Channel: o.ch, OrderID: "o" + strconv.Itoa(o.id), LineID: "1", SKU: o.sku, Location: "main",
		Ordered: ordered, Shipped: shipped, Cancelled: cancelled, Returned: returned, Restock: true, Version: ver}
}

// apply writes lines (or counts) 1,000 a call, four calls at once.
func (s *benchShop) apply(ctx context.Context, lines []inventory.LineState, counts []inventory.Count) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := 0; i < max(len(lines), len(counts)); i += 1000 {
		g.Go(func() error {
			if lines != nil {
				_, err := s.l.ApplyLines(gctx, lines[i:min(i+1000, len(lines))])
				return err
			}
			_, err := s.l.SetCounts(gctx, counts[i:min(i+1000, len(counts))])
			return err
		})
	}
	return g.Wait()
}

// cpuMS is this process's CPU time (user + system) and the Redis
// server's (INFO cpu), in ms: a loaded machine stretches the wall time of
// a report, the CPU it takes much less.
func (s *benchShop) cpuMS(b *testing.B) (self, server float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	info, err := s.rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_user" || k == "used_cpu_sys" {
			f, _ := strconv.ParseFloat(v, 64)
			server += f * 1000
		}
	}
	return self, server
}

// measure runs fn b.N times and reports wall, this process's CPU and the
// Redis server's CPU per run.
func (s *benchShop) measure(b *testing.B, fn func()) {
	self0, srv0 := s.cpuMS(b)
	n := 0
	for b.Loop() {
		fn()
		n++
	}
	self1, srv1 := s.cpuMS(b)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(n), "wall-ms/op")
	b.ReportMetric((self1-self0)/float64(n), "go-cpu-ms/op")
	b.ReportMetric((srv1-srv0)/float64(n), "redis-cpu-ms/op")
}

var (
	benchOnce sync.Once
	benchData *benchShop
)

// BenchmarkReports30Days: the 30-day sales report (each grouping) and the
// stock report over benchShop. The shop is written once (its writing time
// is logged, not measured) and deleted when the benchmarks end (TestMain).
// Each report's figures are checked against what was written.
//
//	go test -run '^$' -bench Reports30Days -benchtime 3x -timeout 30m ./inventory/report/
func BenchmarkReports30Days(b *testing.B) {
	benchOnce.Do(func() { benchData = newBenchShop(b) })
	s := benchData
	b.Logf("shop: %d SKUs, %d orders (%d units), %d cancelled, %d returned, written in %v", s.skus, s.orders, s.units, s.cancelled, s.returned, s.written.Round(time.Second))
	ctx := context.Background()
	b.Run("read-journals-only", func(b *testing.B) {
		var n int
		s.measure(b, func() {
			n = 0
			if err := s.l.JournalsSince(ctx, s.from, func(_ string, es []inventory.JournalMovement, _ bool) error {
				n += len(es)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(n), "entries")
	})
	b.Run("scan-skus-only", func(b *testing.B) {
		var n int
		s.measure(b, func() {
			n = 0
			if err := s.l.SKUs(ctx, func(p []string) error { n += len(p); return nil }); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(n), "skus")
	})
	for _, by := range Groupings {
		b.Run("sales/by="+string(by), func(b *testing.B) {
			var r *Sales
			s.measure(b, func() {
				var err error
				if r, err = SalesReport(ctx, s.l, s.from, s.now, by); err != nil {
					b.Fatal(err)
				}
			})
			if r.Total.Orders != int64(s.orders) || r.Total.Units != int64(s.units) || r.Total.CancelledOrders != int64(s.cancelled) || r.Total.ReturnedUnits != int64(s.returned) {
				b.Fatalf("total %+v, wrote %d orders, %d units, %d cancelled, %d returned", r.Total, s.orders, s.units, s.cancelled, s.returned)
			}
			b.ReportMetric(float64(r.Entries), "entries")
			b.ReportMetric(float64(r.SKUs), "skus")
		})
	}
	b.Run("stock", func(b *testing.B) {
		var rows []StockRow
		s.measure(b, func() {
			var err error
			if rows, err = StockReport(ctx, s.l, s.now); err != nil {
				b.Fatal(err)
			}
		})
		if len(rows) != s.skus {
			b.Fatalf("%d rows, want %d", len(rows), s.skus)
		}
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchData != nil {
		benchData.cleanup()
	}
	os.Exit(code)
}
