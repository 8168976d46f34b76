package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shelfsync/shelfsync/config"
	_ "github.com/shelfsync/shelfsync/connectors/all" // every kind and its simulated channel, as the binary links them
	"github.com/shelfsync/shelfsync/connectors/sim"
	"github.com/shelfsync/shelfsync/internal/proctest"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestKill9ConvergesAgainstStrictFakes runs the daemon as production does
// (`shelfsync run`, its own process) against every simulated channel at its
// published limits (`shelfsync fakes`: Shopify's whole-second updated_at,
// Amazon's two-minute rule and published plan, eBay's and Amazon's atomic
// sells), with half the cancels made within the sale's second and 5 % of
// webhook notifications never delivered (only polls find them), and kills
// the daemon with SIGKILL mid-load. The restarted daemon must take its
// dead predecessor's push leases over at once — the lease TTL is ten
// minutes here, so a push before then can only come from the takeover —
// and the run must end converged: every channel lists the ledger's ATS,
// every placed order is in the ledger exactly as placed (nothing lost,
// nothing doubled, every cancel applied), and `shelfsync stock verify` is
// clean. Every SKU has a reorder point just under its stock (set before
// the daemon starts), and the test restocks SKUs at or below it while the
// orders run: the stock signals (stock.low, stock.out, stock.back) on the
// downstream stream must be exactly the crossings each SKU's journal
// implies, each once (signals_kill_test.go).
func TestKill9ConvergesAgainstStrictFakes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary for about a minute")
	}
	t.Parallel()
	bin := buildBinary(t)
	rdb, prefix := redistest.New(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "shelfsync.yaml")
	listen := proctest.FreeAddr(t)

	// KILL9_RATE, KILL9_SKUS, KILL9_LATENCY and KILL9_DURATION make the
	// same run the benchmark of BENCHMARKS.md (100 orders/s, 50 ms).
	fakes := proctest.Start(t, bin, "fakes", "--redis", redistest.Addr(), "--key-prefix", prefix, "--listen", listen,
		"--write-config", cfgPath, "--skus", env("KILL9_SKUS", "60"), "--rate", env("KILL9_RATE", "25"),
		"--duration", env("KILL9_DURATION", "16s"), "--latency", env("KILL9_LATENCY", "10ms"),
		"--poll", "2s", "--reconcile", "20s", "--immediate-cancels", "0.5", "--drop", "0.05", "--seed", "7",
		"--converge", "240s", "--linger", "60s")
	proctest.WaitFor(t, "the fakes to write the daemon's config", func() bool { _, err := os.Stat(cfgPath); return err == nil }, fakes)
	setLeaseTTL(t, cfgPath, "10m")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	signals := setReorderPoints(t, rdb, prefix)

	// The channels are the simulated ones the binary links (`shelfsync
	// fakes` runs one of each, named after its kind): this test links the
	// same registry.
	channels := sim.Channels()
	if len(channels) == 0 {
		t.Fatal("no simulated channel registered")
	}
	daemon := proctest.Start(t, bin, "run", "--config", cfgPath)
	restocked := signals.restock(func() bool { return strings.Contains(fakes.Stdout(), "\nshopify ") }) // until the orders end
	proctest.WaitFor(t, "orders to flow", func() bool { return strings.Contains(fakes.Stdout(), "the daemon is ready") }, fakes)
	base := "http://" + listen
	proctest.WaitFor(t, fmt.Sprintf("pushes on every channel %v", channels), func() bool { return covers(acceptedChannels(base), channels) }, daemon)
	time.Sleep(3 * time.Second) // mid-load

	if err := daemon.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	daemon.Wait(t, time.Minute)
	atKill := signals.count(cfg)
	restarted := time.Now()
	daemon = proctest.Start(t, bin, "run", "--config", cfgPath)
	firstPush := map[string]time.Duration{}
	proctest.WaitFor(t, "the restarted daemon to push on every channel (its predecessor's leases taken over)", func() bool {
		for _, ch := range acceptedChannels(base) {
			if _, ok := firstPush[ch]; !ok {
				firstPush[ch] = time.Since(restarted)
			}
		}
		return covers(slices.Collect(maps.Keys(firstPush)), channels)
	}, daemon)
	t.Logf("after kill -9: first accepted push per channel %v (lease TTL 10m)", firstPush)

	proctest.WaitFor(t, "the orders to end", func() bool { return strings.Contains(fakes.Stdout(), "\nshopify ") }, fakes)
	ordersEnded := time.Now() // the fakes print the placed orders once every order change is made
	convergedOrNot := func() bool { return strings.Contains(fakes.Stdout(), "converged after") }
	proctest.WaitFor(t, "the fakes' convergence check", convergedOrNot, fakes)
	out := fakes.Stdout()
	t.Logf("fakes:\n%s", out)
	if !strings.Contains(out, "\nconverged after") {
		t.Fatalf("not converged:\n%s\ndaemon:\n%s", out, daemon.Stderr())
	}
	// Quiet now: a poll whose window (its cursor less sync.poll_overlap)
	// reaches back over orders already handled takes none of them in
	// again. The overlap (30 s here) holds orders only until they are that
	// old, and convergence can take longer (about 42 s at 100 orders/s):
	// a quiet channel's cursor has then moved past them (the cursor is the
	// poll's as-of time), and no poll would re-read anything. So each
	// cursor is moved back, as a lagging cursor would be, until its poll
	// has re-read the last 10 s of orders (set again while no skip is
	// counted: a poll under way when it is set writes its own cursor over it).
	polled0, skipped0 := counters(base, "shelfsync_polled_orders_total"), counters(base, "shelfsync_poll_orders_skipped_total")
	rewindTo := ordersEnded.Add(cfg.Sync.PollOverlap - 10*time.Second)
	proctest.WaitFor(t, "a quiet poll of Shopify and eBay", func() bool {
		skipped, quiet := counters(base, "shelfsync_poll_orders_skipped_total"), true
		for _, ch := range []string{"shopify", "ebay"} {
			if skipped[ch] <= skipped0[ch] {
				rewindPollCursor(t, rdb, prefix, ch, rewindTo)
				quiet = false
			}
		}
		return quiet
	}, daemon)
	polled, skipped := counters(base, "shelfsync_polled_orders_total"), counters(base, "shelfsync_poll_orders_skipped_total")
	for _, ch := range []string{"shopify", "ebay"} {
		if polled[ch] != polled0[ch] {
			t.Errorf("%s: a quiet poll took in %v orders again", ch, polled[ch]-polled0[ch])
		}
	}
	t.Logf("quiet polls: re-read as already handled Shopify %v, eBay %v (a cursor later than %s after the orders ended moved back to it); since the restart: taken in %v, skipped %v",
		skipped["shopify"]-skipped0["shopify"], skipped["ebay"]-skipped0["ebay"], rewindTo.Sub(ordersEnded), polled, skipped)
	verify := exec.Command(bin, "stock", "verify", "--redis", redistest.Addr(), "--prefix", prefix)
	if b, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(b), "ok: no inconsistencies") {
		t.Fatalf("stock verify: %v\n%s", err, b)
	}
	<-restocked
	checking := time.Now()
	proctest.WaitFor(t, "the stock signals moved downstream", func() bool { return signals.pending() == 0 }, daemon)
	types := signals.check(cfg)
	t.Logf("stock signals downstream: %v (%d before the kill), checked against the journals in %s", types, atKill, time.Since(checking).Round(time.Millisecond))
	if types[inventory.SignalLow] == 0 || types[inventory.SignalOut] == 0 || types[inventory.SignalBack] == 0 ||
		atKill == 0 || types[inventory.SignalLow]+types[inventory.SignalOut]+types[inventory.SignalBack] == atKill {
		t.Errorf("the load made too few crossings to test (%v, %d of them published before the kill)", types, atKill)
	}
	_ = fakes.Cmd.Process.Signal(syscall.SIGTERM)
	if code := fakes.Wait(t, time.Minute); code != 0 {
		t.Errorf("fakes exit %d after SIGTERM:\n%s", code, fakes.Stderr())
	}
	_ = daemon.Cmd.Process.Signal(syscall.SIGTERM)
	if code := daemon.Wait(t, time.Minute); code != 0 {
		t.Errorf("daemon exit %d after SIGTERM:\n%s", code, daemon.Stderr())
	}
}

// covers says whether got holds every one of want.
func covers(got, want []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// setLeaseTTL sets sync.lease_ttl and sync.push_lease_ttl in the written
// config.
func setLeaseTTL(t *testing.T, path, ttl string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s+(?:push_)?lease_ttl:).*$`)
	if len(re.FindAll(b, -1)) != 2 {
		t.Fatalf("no lease_ttl and push_lease_ttl in the written config:\n%s", b)
	}
	if err := os.WriteFile(path, re.ReplaceAll(b, []byte("${1} "+ttl)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// acceptedChannels lists the channels for which the daemon's /metrics
// show an accepted push.
func acceptedChannels(base string) []string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	re := regexp.MustCompile(`^shelfsync_push_items_total\{channel="([a-z]+)",outcome="accepted"\} ([0-9.e+]+)$`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil && m[2] != "0" {
			out = append(out, m[1])
		}
	}
	return out
}

// rewindPollCursor moves ch's poll cursor (cursor:<channel>, ms since the
// epoch, sync/README.md) back to at when it is later, never forward.
func rewindPollCursor(t *testing.T, rdb *redis.Client, prefix, ch string, at time.Time) {
	t.Helper()
	ctx, key := context.Background(), prefix+"cursor:"+ch
	ms, err := rdb.Get(ctx, key).Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("reading %s: %v", key, err)
	}
	if ms > at.UnixMilli() {
		if err := rdb.Set(ctx, key, at.UnixMilli(), 0).Err(); err != nil {
			t.Fatalf("rewinding %s: %v", key, err)
		}
	}
}

// counters reads a counter of the daemon's /metrics by channel.
func counters(base, name string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	re := regexp.MustCompile(`^` + name + `\{channel="([a-z]+)"\} ([0-9.e+]+)$`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	return out
}

// moduleRoot is the module's root, from this package's directory.
var moduleRoot = filepath.Join("..", "..")
