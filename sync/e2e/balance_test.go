package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/demo"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/store"
)

// balanceBound is the aim: at 3 shards no primary does more than
// 1.3 times the mean Redis work per order.
const balanceBound = 1.3

// TestShardBalance is a load run, opt-in (SHARD_BALANCE=1): the daemon's
// engine, with every simulated channel's fakes, takes orders at
// SHARD_BALANCE_RATE (100/s) for SHARD_BALANCE_DURATION (20s) over
// SHARD_BALANCE_SKUS (2000) SKUs, first on one Redis (a primary with a
// replica), then on a Redis Cluster of 3 primaries and 3 replicas, both
// with redis.stream_partitions 12. Each primary's INFO commandstats is
// reset once the catalogue is seeded and the channels list it, and read
// when every order is in the ledger, the channels converged and the intake
// is empty. It prints, per primary, the calls and the microseconds of
// Redis work per order, the heaviest commands, and the balance figure (the
// busiest primary's µs per order over the mean), and fails if that is above
// 1.3 on the Cluster. It also prints the end-to-end ingest: orders placed
// over the time until the last was in the ledger.
//
//	SHARD_BALANCE=1 go test -count=1 -timeout 20m -run TestShardBalance -v ./sync/e2e/
func TestShardBalance(t *testing.T) {
	if os.Getenv("SHARD_BALANCE") == "" {
		t.Skip("a load run: SHARD_BALANCE=1 (BENCHMARKS.md, Redis topologies: shard balance)")
	}
	rate, _ := strconv.ParseFloat(env("SHARD_BALANCE_RATE", "100"), 64)
	dur, _ := time.ParseDuration(env("SHARD_BALANCE_DURATION", "20s"))
	skus, _ := strconv.Atoi(env("SHARD_BALANCE_SKUS", "2000"))
	t.Run("shards=1", func(t *testing.T) {
		r := redistest.StartReplicated(t)
		balanceRun(t, func(c *config.Redis) { c.Mode, c.Addr = config.RedisStandalone, r.Primary.Addr },
			[]*redis.Client{r.Primary.Client(t)}, rate, dur, skus)
	})
	t.Run("shards=3", func(t *testing.T) {
		c := redistest.StartCluster(t)
		var primaries []*redis.Client
		for _, n := range c.Nodes {
			cl := n.Client(t)
			if info, err := cl.Info(context.Background(), "replication").Result(); err == nil && strings.Contains(info, "role:master") {
				primaries = append(primaries, cl)
			}
		}
		if len(primaries) != 3 {
			t.Fatalf("%d primaries", len(primaries))
		}
		ratio := balanceRun(t, func(r *config.Redis) { r.Mode, r.Addr, r.Addrs = config.RedisCluster, "", c.Addrs()[:2] },
			primaries, rate, dur, skus)
		if ratio > balanceBound {
			t.Errorf("the busiest primary does %.2f times the mean Redis work per order, want at most %.1f", ratio, balanceBound)
		}
	})
}

// balanceRun runs the load on the topology set makes and returns the
// balance figure.
func balanceRun(t *testing.T, set func(*config.Redis), primaries []*redis.Client, rate float64, dur time.Duration, skus int) float64 {
	ctx := context.Background()
	fakes := demo.StartFakes(0, demo.AmazonRaised)
	t.Cleanup(fakes.Close)
	mux := http.NewServeMux()
	daemon := httptest.NewServer(mux)
	t.Cleanup(daemon.Close)
	cfg, err := demo.Config(fakes, demo.ConfigOptions{RedisAddr: "127.0.0.1:1", KeyPrefix: redistest.Prefix(), Listen: daemon.Listener.Addr().String(),
		AdminToken: "balance", Workers: 16, Poll: 10 * time.Second, Reconcile: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	set(&cfg.Redis)
	cfg.Redis.StreamPartitions, cfg.Redis.PoolSize = config.DefaultClusterStreamPartitions, 64
	cfg.Redis.OutboxPartitions = config.DefaultClusterStreamPartitions
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	eng, _ := startEngine(t, cfg, rdb, daemon.URL, mux)
	cat := demo.NewCatalog(skus, 11)
	if err := demo.Seed(ctx, eng, fakes, cfg, cat); err != nil {
		t.Fatal(err)
	}
	if conv, err := demo.WaitConverged(ctx, eng.Ledger(), cfg, fakes, cat.SKUs(), 3*time.Minute); err != nil || !conv.Converged() {
		t.Fatalf("the seeded catalogue not listed: %+v (%v)", conv, err)
	}
	for _, p := range primaries {
		if err := p.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	gen := demo.NewGenerator(fakes, cat, demo.GeneratorOptions{Rate: rate, Target: daemon.URL, Seed: 11, Logger: zerolog.Nop(), ImmediateCancels: 0.1})
	orders, stop := context.WithTimeout(ctx, dur)
	defer stop()
	start := time.Now()
	_ = gen.Run(orders)
	oc, err := demo.WaitOrders(ctx, eng.Ledger(), gen.Placed(), 3*time.Minute)
	inLedger := time.Since(start)
	if err != nil || !oc.OK() {
		t.Fatalf("orders in the ledger: %+v (%v)", oc, err)
	}
	if conv, err := demo.WaitConverged(ctx, eng.Ledger(), cfg, fakes, cat.SKUs(), 3*time.Minute); err != nil || !conv.Converged() {
		t.Fatalf("channels not converged: %+v (%v)", conv, err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) { // a hang guard
		if n, err := eng.Intake().Backlog(ctx); err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the intake still holds events a minute after the orders were in the ledger")
		}
	}
	stats := make([]nodeWork, len(primaries))
	for i, p := range primaries {
		stats[i] = readCommandStats(t, p)
	}
	t.Logf("%d orders at %.0f/s offered for %s: all in the ledger %.1f s after the first (%.0f orders/s end to end)",
		oc.Orders, rate, dur, inLedger.Seconds(), float64(oc.Orders)/inLedger.Seconds())
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		logOutboxHomes(t, cc, cfg)
	}
	ratio := reportBalance(t, stats, oc.Orders)
	ledgerIngest(t, rdb, primaries, skus)
	return ratio
}

// ledgerIngest applies one-line orders straight to a ledger of its own
// (a fresh prefix: the engine does not see them), from 20 callers, one
// line per call, over skus SKUs, for 10 s, and logs the lines/s and the
// Redis work per line on each primary.
func ledgerIngest(t *testing.T, rdb redis.UniversalClient, primaries []*redis.Client, skus int) {
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: redistest.Prefix()})
	names := make([]string, skus)
	for i := range names {
		names[i] = fmt.Sprintf("LEDGER-%05d", i)
		if _, err := l.SetCount(ctx, inventory.Count{SKU: names[i], Location: "A", Quantity: 1_000_000_000, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range primaries {
		if err := p.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var applied atomic.Int64
	run, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	start := time.Now()
	var wg gosync.WaitGroup
	for c := range 20 {
		wg.Go(func() {
			for i := 0; run.Err() == nil; i++ {
				line := inventory.LineState{Channel: "bench", OrderID: fmt.Sprintf("%d-%d", c, i), LineID: "1",
					SKU: names[(c*7919+i)%skus], Location: "A", Ordered: 1, Version: 1}
				if _, err := l.ApplyLines(ctx, []inventory.LineState{line}); err != nil {
					t.Error(err)
					return
				}
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stats := make([]nodeWork, len(primaries))
	for i, p := range primaries {
		stats[i] = readCommandStats(t, p)
	}
	n := int(applied.Load())
	t.Logf("ledger ingest: %d one-line orders in %.1f s from 20 callers: %.0f lines/s", n, elapsed.Seconds(), float64(n)/elapsed.Seconds())
	reportBalance(t, stats, n)
}

// logOutboxHomes counts, per primary, the outbox partitions of each
// channel it holds (each partition's keys share one hash tag; the channel's
// push lease stays in the tag of before partitions).
func logOutboxHomes(t *testing.T, cc *redis.ClusterClient, cfg *config.Config) {
	t.Helper()
	homes := map[string]map[string]int{}
	for _, ch := range cfg.Channels {
		ob := outbox.NewPartitioned(cc, cfg.Redis.KeyPrefix, ch.Name, cfg.Redis.OutboxPartitions)
		keys := ob.LeaseKeys()
		if len(keys) > 1 {
			keys = keys[1:] // the partitions' fences
		}
		for _, k := range keys {
			m, err := cc.MasterForKey(context.Background(), k)
			if err != nil {
				t.Fatal(err)
			}
			addr := m.Options().Addr
			if homes[addr] == nil {
				homes[addr] = map[string]int{}
			}
			homes[addr][ch.Name]++
		}
	}
	t.Logf("outbox partitions by primary (channel: partitions): %v", homes)
}

// nodeWork is one primary's INFO commandstats.
type nodeWork struct {
	addr        string
	calls, usec int64
	byCommand   map[string][2]int64 // calls, usec
}

func readCommandStats(t *testing.T, c *redis.Client) nodeWork {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	w := nodeWork{addr: c.Options().Addr, byCommand: map[string][2]int64{}}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		var calls, usec int64
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				calls, _ = strconv.ParseInt(v, 10, 64)
			case "usec":
				usec, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		cmd := strings.TrimPrefix(name, "cmdstat_")
		if cmd == "config" || cmd == "info" || cmd == "cluster" || cmd == "ping" {
			continue // the test's own and the client's topology probes
		}
		w.calls += calls
		w.usec += usec
		w.byCommand[cmd] = [2]int64{calls, usec}
	}
	return w
}

// reportBalance logs the per-primary table and returns the busiest
// primary's µs per order over the mean.
func reportBalance(t *testing.T, stats []nodeWork, orders int) float64 {
	t.Helper()
	var sum float64
	for _, s := range stats {
		sum += float64(s.usec)
	}
	mean := sum / float64(len(stats))
	var b strings.Builder
	fmt.Fprintf(&b, "\n| primary | calls | calls/order | Redis µs | µs/order | × mean | heaviest (µs/order) |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	worst := 0.0
	for _, s := range stats {
		ratio := float64(s.usec) / mean
		worst = max(worst, ratio)
		fmt.Fprintf(&b, "| %s | %d | %.1f | %d | %.1f | %.2f | %s |\n", s.addr, s.calls, float64(s.calls)/float64(orders),
			s.usec, float64(s.usec)/float64(orders), ratio, heaviest(s, orders, 4))
	}
	var calls float64
	worstCalls := 0.0
	for _, s := range stats {
		calls += float64(s.calls)
	}
	for _, s := range stats {
		worstCalls = max(worstCalls, float64(s.calls)*float64(len(stats))/calls)
	}
	fmt.Fprintf(&b, "| all | %.0f | %.1f | %.0f | %.1f | | |\n", calls, calls/float64(orders), sum, sum/float64(orders))
	t.Logf("Redis work per primary over %d orders (INFO commandstats):%s\nbalance: the busiest primary does %.2f × the mean µs (%.2f × the mean calls)",
		orders, b.String(), worst, worstCalls)
	return worst
}

// heaviest names a primary's n heaviest commands by µs per order.
func heaviest(s nodeWork, orders, n int) string {
	type cu struct {
		cmd  string
		usec int64
	}
	var all []cu
	for cmd, v := range s.byCommand {
		all = append(all, cu{cmd, v[1]})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].usec > all[j].usec })
	var parts []string
	for _, c := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %.1f", c.cmd, float64(c.usec)/float64(orders)))
	}
	return strings.Join(parts, ", ")
}
