package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/store"
)

func init() {
	commands["check"] = command{
		summary: "validate a config, then check its environment: Redis and every channel's credentials",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return check(ctx, args, stdout, stderr, connectors.New)
		},
	}
}

// minRedis is the oldest Redis shelfsync runs on: XAUTOCLAIM and the
// other 6.2 commands the intake and the ledger's scripts use.
var minRedis = [2]int{6, 2}

// report prints one line per check, "ok" or "fail" and what to do, and
// counts the failures.
type report struct {
	w      io.Writer
	failed int
}

func (r *report) ok(what, detail string) { fmt.Fprintf(r.w, "ok    %s: %s\n", what, detail) }

func (r *report) fail(what, detail, fix string) {
	r.failed++
	fmt.Fprintf(r.w, "fail  %s: %s\n      -> %s\n", what, detail, fix)
}

// check is `shelfsync check`: what validate does, then the environment
// the daemon would meet: Redis (reachable, version ≥ 6.2, AOF on,
// maxmemory-policy noeviction, the ledger's Function library loaded or why
// not) and, for each channel, one cheap
// authenticated call (connectors.AccessChecker: a token, a read, Amazon's
// SQS queue). Every check runs and prints its line; exit 1 if any failed,
// 2 when the config itself does not load (nothing else is checked then).
func check(ctx context.Context, args []string, stdout, stderr io.Writer, newConnector connectorFactory) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file to check (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "bound of each check")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "check: --config is required")
		fs.Usage()
		return 2
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	printWarnings(stderr, cfg)
	r := &report{w: stdout}
	r.ok("config", fmt.Sprintf("%s: %d channels", *path, len(cfg.Channels)))
	checkRedis(ctx, cfg.Redis, r, *timeout)
	checkChannels(ctx, cfg, newConnector, r, *timeout)
	if r.failed > 0 {
		fmt.Fprintf(stdout, "%d check(s) failed\n", r.failed)
		return 1
	}
	fmt.Fprintln(stdout, "all checks passed")
	return 0
}

// checkRedis connects as the daemon would and reads INFO (which managed
// Redis services answer, unlike CONFIG GET).
func checkRedis(ctx context.Context, cfg config.Redis, r *report, timeout time.Duration) {
	// go-redis's own retry lines would repeat what the fail line says.
	store.SetLogger(zerolog.Nop())
	rdb, err := store.Open(cfg)
	if err != nil {
		r.fail("redis", err.Error(), "fix the redis block of the config")
		return
	}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := store.Ping(ctx, rdb); err != nil {
		r.fail("redis", err.Error(), "start Redis, or fix redis.addr, its credentials or TLS settings")
		return
	}
	r.ok("redis", "answers PING")
	info, err := redisInfo(ctx, rdb)
	if err != nil {
		r.fail("redis info", err.Error(), "allow the INFO command for shelfsync's Redis user")
		return
	}
	judgeRedis(info, r)
	checkFunctions(ctx, rdb, cfg.KeyPrefix, r)
}

// checkFunctions loads the ledger's Redis Function library, as the daemon
// does at start. A Redis that will not hold it (6.2, an ACL) fails
// nothing: the ledger runs the same code as a script, at more Redis time
// per order line, so the line says how to allow it.
func checkFunctions(ctx context.Context, rdb redis.UniversalClient, prefix string, r *report) {
	err := inventory.New(rdb, inventory.Options{Prefix: prefix}).LoadFunctions(ctx)
	switch {
	case err == nil:
		r.ok("redis functions", "the ledger's order-line library is loaded (FCALL)")
	case errors.Is(err, inventory.ErrNoFunctions):
		r.ok("redis functions", "unavailable, so the ledger runs its order-line code as a script (EVALSHA, more Redis time per line): "+err.Error()+
			"; on Redis 7, allow shelfsync's user FUNCTION LOAD and FCALL (+function|load +fcall) to use them")
	default:
		r.fail("redis functions", err.Error(), "check that Redis stays reachable; the daemon loads the library again on its first order line")
	}
}

// judgeRedis judges what INFO said: version, persistence, eviction.
func judgeRedis(info map[string]string, r *report) {
	v := info["redis_version"]
	if major, minor, ok := parseVersion(v); !ok || major < minRedis[0] || (major == minRedis[0] && minor < minRedis[1]) {
		r.fail("redis version", fmt.Sprintf("%q, shelfsync needs %d.%d or later", v, minRedis[0], minRedis[1]), "upgrade Redis (or Valkey) to 6.2 or later")
	} else {
		r.ok("redis version", fmt.Sprintf("%s (>= %d.%d)", v, minRedis[0], minRedis[1]))
	}
	if info["aof_enabled"] == "1" {
		r.ok("redis persistence", "AOF on (appendonly yes)")
	} else {
		r.fail("redis persistence", "AOF off: Redis is the system of record, and a restart loses every write since the last RDB snapshot",
			"set `appendonly yes` (with `appendfsync everysec`) in redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE")
	}
	if p := info["maxmemory_policy"]; p == "noeviction" {
		r.ok("redis maxmemory-policy", "noeviction")
	} else {
		r.fail("redis maxmemory-policy", fmt.Sprintf("%q lets Redis delete ledger, intake and outbox keys when memory runs short", p),
			"set `maxmemory-policy noeviction` (writes then fail loudly instead) and size maxmemory for the catalogue")
	}
}

// redisInfo reads the server, persistence and memory sections of INFO
// into one map.
func redisInfo(ctx context.Context, rdb redis.UniversalClient) (map[string]string, error) {
	text, err := rdb.Info(ctx, "server", "persistence", "memory").Result()
	if err != nil {
		return nil, fmt.Errorf("INFO: %w", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m, nil
}

// parseVersion reads the major and minor numbers of "7.0.15".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// checkChannels builds every channel's connector as validate does, then
// makes each one's access check, one channel after the other (each
// within timeout).
func checkChannels(ctx context.Context, cfg *config.Config, newConnector connectorFactory, r *report, timeout time.Duration) {
	b := newDepsBuilder(cfg, zerolog.Nop(), prometheus.NewRegistry(), nil)
	chans, errs := buildChannels(cfg, b, newConnector)
	for _, err := range errs {
		r.fail("channel", err.Error(), "fix the channel's settings (shelfsync validate says the same)")
	}
	for _, ch := range chans {
		what := fmt.Sprintf("channel %s (%s)", ch.cfg.Name, ch.cfg.Kind)
		ac, ok := ch.conn.(connectors.AccessChecker)
		if !ok {
			r.ok(what, "built (this kind has no access check)")
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := ac.Check(cctx)
		cancel()
		if err != nil {
			r.fail(what, err.Error(), "check the channel's credentials, api_url and its "+ch.cfg.Kind+" block; see connectors/"+ch.cfg.Kind+"/README.md")
			continue
		}
		r.ok(what, "credentials accepted")
	}
}
