package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/demo"
	"github.com/shelfsync/shelfsync/sync/downstream"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/store"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// TestFlowOnRedisCluster runs the daemon's flow on a Redis Cluster of its
// own (3 primaries, 3 replicas), through the client store.Open builds for
// redis.mode: cluster, with redis.min_replicas_acked 1 (every acknowledged
// enqueue and ledger write waits for its primary's replica): the demo's fakes of every simulated channel, the
// demo's order stream (signed webhooks, Amazon's queue; duplicates, late
// redeliveries, cancels, refunds) into the webhook receivers and the
// engine. At the end every placed order is in the ledger as placed, every
// channel lists the ledger's ATS, the intake is empty, and `shelfsync stock
// verify` (the binary, on the same config) finds nothing wrong; the
// ledger's and the sync packages' keys are spread over all three primaries.
func TestFlowOnRedisCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	prefix := redistest.Prefix()
	f := runFlow(t, func(r *config.Redis) {
		r.Mode, r.Addr, r.Addrs, r.KeyPrefix = config.RedisCluster, "", c.Addrs()[:2], prefix
		r.MinReplicasAcked, r.StreamPartitions = 1, config.DefaultClusterStreamPartitions
		r.OutboxPartitions = config.DefaultClusterStreamPartitions
	}, nil)
	cc := c.Client(t)
	ctx := context.Background()
	perNode := map[string]int64{}
	var mu gosync.Mutex
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		mu.Lock()
		perNode[m.Options().Addr] = n
		mu.Unlock()
		return err
	})
	if err != nil || len(perNode) != 3 {
		t.Fatalf("keys per primary %v (%v)", perNode, err)
	}
	for addr, n := range perNode {
		if n == 0 {
			t.Errorf("primary %s holds no key: %v", addr, perNode)
		}
	}
	checkPartitionsSpread(t, cc, f.cfg, f.placed)
	stockVerify(t, f.cfg)
	// The slot watch runFlow relies on sees a refused cross-slot command.
	probe := &slotErrors{}
	cc.AddHook(probe)
	_ = cc.MGet(ctx, prefix+"a", prefix+"b").Err()
	if len(probe.list()) != 1 {
		t.Fatalf("the slot watch missed a cross-slot MGET: %v", probe.list())
	}
}

// checkPartitionsSpread: the intake's partition streams exist (its
// consumer groups make them), each placed order was published downstream
// to its own partition (stream.PartitionOf of channel and order id) and
// nothing to another, and each primary holds the same number of the
// partition streams. A downstream partition exists only once an order
// lands in it: with some 120 orders over 12 partitions one gets none about
// once in 3,000 runs, so which of them must exist is worked out from the
// placed orders, not assumed to be all of them.
func checkPartitionsSpread(t *testing.T, cc *redis.ClusterClient, cfg *config.Config, placed []demo.PlacedOrder) {
	t.Helper()
	ctx := context.Background()
	n := cfg.Redis.StreamPartitions
	down := downstream.StreamKeys(cfg.Redis.KeyPrefix, cfg.Downstream.Stream, n)
	var keys []string
	for _, tag := range stream.PartitionTags("intake", n) {
		keys = append(keys, cfg.Redis.KeyPrefix+"{"+tag+"}:stream")
	}
	for _, k := range keys {
		if ok, err := cc.Exists(ctx, k).Result(); err != nil || ok != 1 {
			t.Errorf("intake partition stream %s: exists %d (%v)", k, ok, err)
		}
	}
	checkDownstreamPartitions(t, cc, down, placed)
	keys = append(keys, down...)
	per := map[string]int{}
	for _, k := range keys {
		m, err := cc.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		per[m.Options().Addr]++
	}
	t.Logf("%d stream partitions (intake and downstream) per primary: %v", len(keys), per)
	for addr, c := range per {
		if len(per) != 3 || c != len(keys)/3 {
			t.Errorf("primary %s holds %d of the %d partition streams: %v", addr, c, len(keys), per)
		}
	}
}

// checkDownstreamPartitions: every message of each downstream partition
// belongs there, every placed order is in its partition, and a partition
// stream exists exactly when some placed order belongs to it.
func checkDownstreamPartitions(t *testing.T, cc *redis.ClusterClient, down []string, placed []demo.PlacedOrder) {
	t.Helper()
	ctx := context.Background()
	want := map[int]bool{}
	for _, p := range placed {
		want[stream.PartitionOf(p.Channel+"\x00"+p.OrderID, len(down))] = true
	}
	published := map[string]bool{}
	for i, k := range down {
		msgs, err := cc.XRange(ctx, k, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if exists := len(msgs) > 0; exists != want[i] {
			t.Errorf("downstream partition %d (%s): %d messages, placed orders of it: %v", i, k, len(msgs), want[i])
		}
		for _, m := range msgs {
			ch, _ := m.Values["channel"].(string)
			id, _ := m.Values["order_id"].(string)
			if got := stream.PartitionOf(ch+"\x00"+id, len(down)); got != i {
				t.Errorf("order %s/%s published to partition %d, its partition is %d", ch, id, i, got)
			}
			published[ch+"/"+id] = true
		}
	}
	for _, p := range placed {
		if !published[p.Channel+"/"+p.OrderID] {
			t.Errorf("placed order %s/%s never published downstream", p.Channel, p.OrderID)
		}
	}
	t.Logf("%d placed orders published over %d of the %d downstream partitions", len(placed), len(want), len(down))
}

// TestFlowOnSentinel is TestFlowOnRedisCluster on a primary with one
// replica behind three sentinels (redis.mode: sentinel), without the
// binary's verify (runFlow verifies the ledger); the replica holds what the
// primary does.
func TestFlowOnSentinel(t *testing.T) {
	t.Parallel()
	r := redistest.StartSentinel(t)
	prefix := redistest.Prefix()
	f := runFlow(t, func(rc *config.Redis) {
		rc.Mode, rc.Addr, rc.MasterName, rc.SentinelAddrs, rc.KeyPrefix = config.RedisSentinel, "", redistest.MasterName, r.SentinelAddrs(), prefix
		rc.MinReplicasAcked = 1
	}, nil)
	// The daemon's parts write on (polls, reconcile) until stopped, and
	// keys with a time to live expire on the primary first: compare once
	// the writes have stopped, and again if an expiry fell between the
	// two counts.
	f.stopEngine()
	ctx := context.Background()
	p, rep := r.Primary.Client(t), r.Replica.Client(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if n, err := p.Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
			t.Fatalf("WAIT 1: %d %v", n, err)
		}
		a, b := p.DBSize(ctx).Val(), rep.DBSize(ctx).Val()
		if a != 0 && a == b {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("primary holds %d keys, replica %d", a, b)
		}
	}
	if f.rdb.(*redis.Client) == nil {
		t.Fatal("sentinel mode did not build a failover client")
	}
}

// TestDaemonContinuesThroughFailover is the flow on a primary with two
// replicas behind Sentinel, with redis.min_replicas_acked 1, whose primary
// is killed with SIGKILL a second into the orders: the sentinels promote a
// replica, the daemon goes on (writes refused meanwhile are redelivered by
// the channels or found by the polls), and the end state is as in
// TestFlowOnRedisCluster: every order as placed, every channel converged,
// no dead letters, verify clean. Two replicas, so that one is left to
// confirm writes after the failover.
func TestDaemonContinuesThroughFailover(t *testing.T) {
	t.Parallel()
	r := redistest.StartSentinelReplicas(t, 2)
	prefix := redistest.Prefix()
	var promoted *redistest.Server
	runFlow(t, func(rc *config.Redis) {
		rc.Mode, rc.Addr, rc.MasterName, rc.SentinelAddrs, rc.KeyPrefix = config.RedisSentinel, "", redistest.MasterName, r.SentinelAddrs(), prefix
		rc.MinReplicasAcked = 1
	}, func() {
		killed := time.Now()
		r.Primary.Kill()
		promoted = r.WaitNewPrimary(t, r.Primary, 30*time.Second)
		t.Logf("primary killed; %s promoted after %s", promoted.Addr, time.Since(killed).Round(10*time.Millisecond))
	})
	if promoted == nil {
		t.Fatal("no failover happened")
	}
}

// flow is what runFlow leaves for the caller's own checks.
type flow struct {
	cfg    *config.Config
	rdb    redis.UniversalClient
	placed []demo.PlacedOrder
	// stopEngine stops the daemon's parts (pollers, reconcile, pushes),
	// so that nothing writes to Redis any more.
	stopEngine func()
}

// runFlow configures the daemon for the fakes with set's Redis settings,
// runs orders for a few seconds and checks the end state (see
// TestFlowOnRedisCluster). during, if not nil, runs a second into the
// orders (a fault); the checks wait for it to return.
func runFlow(t *testing.T, set func(*config.Redis), during func()) flow {
	t.Helper()
	ctx := context.Background()
	fakes := demo.StartFakes(0, demo.AmazonRaised)
	t.Cleanup(fakes.Close)
	mux := http.NewServeMux()
	daemon := httptest.NewServer(mux)
	t.Cleanup(daemon.Close)
	cfg, err := demo.Config(fakes, demo.ConfigOptions{RedisAddr: "127.0.0.1:1", KeyPrefix: "unused:", Listen: daemon.Listener.Addr().String(),
		AdminToken: "topology", Workers: 8, Poll: 2 * time.Second, Reconcile: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	set(&cfg.Redis)
	cfg.Sync.ClaimIdle = time.Second
	if err := cfg.Check(); err != nil {
		t.Fatalf("the config of this topology: %v", err)
	}
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	slots := &slotErrors{}
	rdb.AddHook(slots)
	t.Cleanup(func() {
		if s := slots.list(); len(s) > 0 {
			t.Errorf("%d commands refused for their keys' slots, e.g. %v", len(s), s[:min(len(s), 5)])
		}
	})
	t.Cleanup(func() { redistest.Clean(rdb, cfg.Redis.KeyPrefix); _ = rdb.Close() })
	if err := store.Ping(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	eng, stopEngine := startEngine(t, cfg, rdb, daemon.URL, mux)
	cat := demo.NewCatalog(40, 11)
	if err := demo.Seed(ctx, eng, fakes, cfg, cat); err != nil {
		t.Fatal(err)
	}
	gen := demo.NewGenerator(fakes, cat, demo.GeneratorOptions{Rate: 30, Target: daemon.URL, Seed: 11, Logger: zerolog.Nop(), ImmediateCancels: 0.3})
	orders, stop := context.WithTimeout(ctx, 4*time.Second)
	defer stop()
	fault := make(chan struct{})
	go func() {
		defer close(fault)
		if during != nil {
			time.Sleep(time.Second)
			during()
		}
	}()
	_ = gen.Run(orders)
	<-fault

	oc, err := demo.WaitOrders(ctx, eng.Ledger(), gen.Placed(), 60*time.Second)
	if err != nil || !oc.OK() || oc.Orders < 20 {
		t.Fatalf("orders in the ledger: %+v (%v)", oc, err)
	}
	conv, err := demo.WaitConverged(ctx, eng.Ledger(), cfg, fakes, cat.SKUs(), 60*time.Second)
	if err != nil || !conv.Converged() {
		t.Fatalf("channels not converged: %+v (%v)", conv, err)
	}
	// After a failover, acknowledgements sent to the old primary are gone
	// with it: those events are handled again (idempotently) once they
	// have been pending ClaimIdle, so the backlog drains a little later.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n, err := eng.Intake().Backlog(ctx)
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			var groups []redis.XInfoGroup
			for _, s := range eng.Intake().Streams() {
				g, _ := rdb.XInfoGroups(ctx, s).Result()
				groups = append(groups, g...)
			}
			t.Fatalf("intake backlog %d (%v) 30s after the orders were in the ledger; groups %+v", n, err, groups)
		}
	}
	if dl, err := eng.Intake().DeadLetters(ctx, 10); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters %+v (%v)", dl, err)
	}
	if bad, err := eng.Ledger().Verify(ctx, nil); err != nil || len(bad) != 0 {
		t.Fatalf("verify: %v %v", bad, err)
	}
	t.Logf("%d orders placed, all in the ledger; %d SKUs converged on %d channels", oc.Orders, conv.SKUs, len(cfg.Channels))
	return flow{cfg: cfg, rdb: rdb, placed: gen.Placed(), stopEngine: stopEngine}
}

// startEngine builds the engine on rdb with every channel's connector,
// mounts the webhook receivers on mux, and runs the engine and the
// connectors' own readers (Amazon's queue) until stop is called or the
// test ends.
func startEngine(t *testing.T, cfg *config.Config, rdb redis.UniversalClient, publicURL string, mux *http.ServeMux) (eng *engine.Engine, stop func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	conns := map[string]connectors.Connector{}
	for _, ch := range cfg.Channels {
		deps := connectors.TestDeps(ch)
		deps.PublicURL = publicURL
		c, err := connectors.New(deps)
		if err != nil {
			t.Fatalf("building %s: %v", ch.Name, err)
		}
		conns[ch.Name] = c
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: conns, Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	mountWebhooks(t, mux, conns, eng, reg)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(conns)+1)
	go func() { done <- eng.Run(runCtx) }()
	running := 1
	for name, c := range conns {
		if r, ok := c.(connectors.Runner); ok {
			running++
			go func() {
				err := r.Run(runCtx, eng.Sink())
				if err != nil {
					err = fmt.Errorf("runner of %s: %w", name, err)
				}
				done <- err
			}()
		}
	}
	stop = gosync.OnceFunc(func() {
		cancel()
		for i := 0; i < running; i++ {
			if err := <-done; err != nil {
				t.Errorf("engine: %v", err)
			}
		}
	})
	t.Cleanup(stop)
	return eng, stop
}

// stockVerify runs `shelfsync stock verify` with a config file of cfg's
// Redis settings: the command opens the same topology and finds nothing
// wrong.
func stockVerify(t *testing.T, cfg *config.Config) {
	t.Helper()
	bin := buildBinary(t)
	r := cfg.Redis
	var b strings.Builder
	fmt.Fprintf(&b, "redis:\n  mode: %s\n  key_prefix: %q\n", r.Mode, r.KeyPrefix)
	list := func(key string, addrs []string) {
		if len(addrs) > 0 {
			fmt.Fprintf(&b, "  %s: [%s]\n", key, `"`+strings.Join(addrs, `", "`)+`"`)
		}
	}
	list("addrs", r.Addrs)
	list("sentinel_addrs", r.SentinelAddrs)
	if r.MasterName != "" {
		fmt.Fprintf(&b, "  master_name: %s\n", r.MasterName)
	}
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "stock", "verify", "--config", path).CombinedOutput()
	if err != nil {
		t.Fatalf("shelfsync stock verify on %s: %v\n%s", r.Mode, err, out)
	}
	t.Logf("stock verify (%s): %s", r.Mode, strings.TrimSpace(string(out)))
}

// slotErrors records every command Redis refused because its keys span
// slots or live on another node (CROSSSLOT, a script touching a key it did
// not declare, a key not served here): on a Cluster any such command is a
// bug in how shelfsync names or groups its keys, even when a retry hides it.
type slotErrors struct {
	mu   gosync.Mutex
	seen []string
}

func (s *slotErrors) record(cmds ...redis.Cmder) {
	for _, c := range cmds {
		err := c.Err()
		if err == nil {
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "CROSSSLOT") || strings.Contains(msg, "same slot") || strings.Contains(msg, "non local key") {
			s.mu.Lock()
			s.seen = append(s.seen, fmt.Sprintf("%v: %s", c.Args()[:min(len(c.Args()), 3)], msg))
			s.mu.Unlock()
		}
	}
}

func (s *slotErrors) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *slotErrors) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *slotErrors) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		s.record(cmd)
		return err
	}
}

func (s *slotErrors) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		s.record(cmds...)
		return err
	}
}
