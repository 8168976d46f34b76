package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all" // every kind and its simulated channel, as the binary links them
	"github.com/shelfsync/shelfsync/internal/proctest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/demo"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/store"
)

const adminToken = "chaos-admin-token"

// harness is one round's world: the fakes behind their fault proxies, the
// Redis, the daemon process, and an engine of the test's own on the same
// Redis (never run) that seeds the catalogue and reads the ledger.
type harness struct {
	t       *testing.T
	bin     string
	cfgPath string
	base    string // the daemon's http://host:port
	cfg     *config.Config
	fakes   *demo.Fakes
	proxies map[string]*demo.FaultProxy
	server  *redistest.Server     // redisAOF
	repl    *redistest.Replicated // redisSentinel
	eng     *engine.Engine
	cat     *demo.Catalog

	mu     gosync.Mutex
	daemon *proctest.Proc
}

// newHarness starts the Redis of kind, the fakes and their proxies, writes
// the daemon's config, seeds the catalogue and starts the daemon.
func newHarness(t *testing.T, bin string, s suite, kind redisKind, seed uint64) *harness {
	h := &harness{t: t, bin: bin, cfgPath: filepath.Join(t.TempDir(), "shelfsync.yaml")}
	h.fakes = demo.StartFakes(5*time.Millisecond, demo.AmazonRaised)
	t.Cleanup(h.fakes.Close)
	listen := proctest.FreeAddr(t)
	h.base = "http://" + listen
	cfg, err := demo.Config(h.fakes, demo.ConfigOptions{RedisAddr: "127.0.0.1:1", KeyPrefix: redistest.Prefix(), Listen: listen,
		AdminToken: adminToken, Workers: 8, Poll: 2 * time.Second, Reconcile: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.setRedis(cfg, kind)
	// An unacknowledged intake event of a killed daemon is taken over
	// after claim_idle: 5 s instead of the default 30 s, so a round's
	// convergence is not mostly that wait.
	cfg.Sync.ClaimIdle = 5 * time.Second
	if h.proxies, err = demo.FaultProxies(h.fakes, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range h.proxies {
			p.Close()
		}
	})
	if err := cfg.Check(); err != nil {
		t.Fatalf("the round's config: %v", err)
	}
	h.cfg = cfg
	text, err := config.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(h.cfgPath, text, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	h.eng = checkerEngine(t, cfg)
	h.cat = demo.NewCatalog(s.skus, seed)
	if err := demo.Seed(context.Background(), h.eng, h.fakes, cfg, h.cat); err != nil {
		t.Fatal(err)
	}
	h.startDaemon()
	h.waitReady(time.Minute)
	return h
}

// setRedis points cfg at a Redis of kind the test starts.
func (h *harness) setRedis(cfg *config.Config, kind redisKind) {
	switch kind {
	case redisAOF:
		h.server = redistest.StartPersistent(h.t)
		cfg.Redis.Addr = h.server.Addr
	case redisSentinel:
		h.repl = redistest.StartSentinelReplicas(h.t, 2)
		cfg.Redis.Mode, cfg.Redis.Addr = config.RedisSentinel, ""
		cfg.Redis.MasterName, cfg.Redis.SentinelAddrs = redistest.MasterName, h.repl.SentinelAddrs()
		// Acknowledged writes wait for both replicas, every one Sentinel
		// may promote (docs/redis.md, "Failover": with 1 of 2, a write
		// confirmed by one replica while the other is promoted is lost).
		cfg.Redis.MinReplicasAcked = 2
	}
}

// checkerEngine is an engine on cfg's Redis with every channel's
// connector, never run: demo.Seed writes through it, and the checks read
// its ledger and its propagator.
func checkerEngine(t *testing.T, cfg *config.Config) *engine.Engine {
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	conns := map[string]connectors.Connector{}
	for _, ch := range cfg.Channels {
		c, err := connectors.New(connectors.TestDeps(ch))
		if err != nil {
			t.Fatalf("building %s: %v", ch.Name, err)
		}
		conns[ch.Name] = c
	}
	eng, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Connectors: conns, Registry: prometheus.NewRegistry(),
		Logger: zerolog.Nop(), Holder: "chaos-checker"})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func (h *harness) startDaemon() {
	p := proctest.Start(h.t, h.bin, "run", "--config", h.cfgPath, "--log-level", "warn")
	h.mu.Lock()
	h.daemon = p
	h.mu.Unlock()
}

func (h *harness) currentDaemon() *proctest.Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.daemon
}

// killDaemon kills the daemon with SIGKILL, waits for it to be gone, and
// starts it again at once.
func (h *harness) killAndRestartDaemon() {
	h.currentDaemon().Kill9()
	h.startDaemon()
}

// waitReady waits for the daemon's /readyz to answer 200 (a hang guard).
func (h *harness) waitReady(bound time.Duration) {
	h.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(bound); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get(h.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p := h.currentDaemon(); p.Exited() || time.Now().After(deadline) {
			h.t.Fatalf("the daemon is not ready (exited %v):\n%s", p.Exited(), p.Stderr())
		}
	}
}

// stopDaemon stops the daemon with SIGTERM and returns its exit code.
func (h *harness) stopDaemon() int {
	return h.currentDaemon().Stop(h.t, time.Minute)
}

// deadLetters is how many intake events the daemon's admin API lists as
// dead letters, plus the push items it lists parked on any channel (a
// push's dead letter: given up after its last attempt, or refused as
// unknown by the channel).
func (h *harness) deadLetters() (int, error) {
	var dead []json.RawMessage
	if err := h.admin("/api/v1/deadletters?limit=1000", &dead); err != nil {
		return 0, err
	}
	n := len(dead)
	for _, ch := range h.cfg.Channels {
		var st struct {
			Parked []json.RawMessage `json:"parked"`
		}
		if err := h.admin("/api/v1/channels/"+ch.Name, &st); err != nil {
			return n, err
		}
		n += len(st.Parked)
	}
	return n, nil
}

// admin GETs path of the daemon's admin API into v.
func (h *harness) admin(path string, v any) error {
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	return nil
}

// runRound runs one round: the harness, the orders with the fault during
// them, then the checks; the result is the round's line of the table.
func runRound(t *testing.T, bin string, s suite, r round, rng *rand.Rand, seed uint64) result {
	h := newHarness(t, bin, s, r.redis, seed)
	gen := demo.NewGenerator(h.fakes, h.cat, demo.GeneratorOptions{Rate: s.rate, Target: h.base, Seed: seed,
		Logger: zerolog.Nop(), ImmediateCancels: 0.3, Drop: 0.02})
	ctx := context.Background()
	orders, stop := context.WithTimeout(ctx, r.orders)
	defer stop()
	injected := make(chan int, 1)
	go func() {
		// A t.Fatal in the fault (a Redis that does not come back) ends
		// this goroutine, not the test's: the deferred send still runs.
		n := -1
		defer func() { injected <- n }()
		n = r.inject(h, r, rng)
	}()
	_ = gen.Run(orders)
	res := result{injected: <-injected}
	stopped := time.Now()
	if detail := h.check(ctx, gen.Placed(), stopped, checkBound, &res); res.problem != "" {
		t.Errorf("%s %s\n%s", res.problem, detail, h.currentDaemon().Stderr())
	}
	if served := h.served(); served > 0 {
		res.injected = served // the channels' faults: those answered, not those queued
	}
	if code := h.stopDaemon(); code != 0 {
		t.Errorf("the daemon exited %d after SIGTERM:\n%s", code, h.currentDaemon().Stderr())
	}
	return res
}

// served is how many faults the channels' proxies answered.
func (h *harness) served() int {
	n := int64(0)
	for _, p := range h.proxies {
		for _, v := range p.Injected() {
			n += v
		}
	}
	return int(n)
}

// daemonBinary is cmd/shelfsync, built once by TestMain (with the
// simulator: the same binary as `go run`).
var daemonBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shelfsync-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if daemonBinary, err = proctest.Build(filepath.Join("..", ".."), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
