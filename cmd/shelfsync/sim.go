//go:build !nosim

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/sync/demo"
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
)

// simFlags are the settings `demo` and `fakes` share: the fakes, the
// catalogue, the order stream and the daemon's configuration for them.
type simFlags struct {
	duration  time.Duration
	rate      float64
	skus      int
	latency   time.Duration
	listen    string
	redis     string
	keyPrefix string
	logLevel  string
	seed      uint64
	workers   int
	poll      time.Duration
	reconcile time.Duration
	immediate float64
	drop      float64
}

// simPlaces words --listen, --redis and --key-prefix, whose meaning
// differs between the commands.
type simPlaces struct {
	listen, redisDefault, redis, keyPrefix string
}

// newSimFlagSet is cmd's flag set with the shared flags on f; the command
// adds its own, then calls f.parse.
func newSimFlagSet(cmd string, stderr io.Writer, f *simFlags, p simPlaces) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&f.duration, "duration", 0, "how long orders flow (0: until Ctrl-C)")
	fs.Float64Var(&f.rate, "rate", 20, "orders per second over all channels (0: none, for loadgen runs)")
	fs.IntVar(&f.skus, "skus", 200, "SKUs in the generated catalogue")
	fs.DurationVar(&f.latency, "latency", 50*time.Millisecond, "API latency of the fake marketplaces")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", p.listen)
	fs.StringVar(&f.redis, "redis", p.redisDefault, p.redis)
	fs.StringVar(&f.keyPrefix, "key-prefix", "", p.keyPrefix)
	fs.StringVar(&f.logLevel, "log-level", "warn", "the daemon's log level (logs go to stderr)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the catalogue and the order stream")
	fs.DurationVar(&f.poll, "poll", 15*time.Second, "every channel's order poll interval")
	fs.DurationVar(&f.reconcile, "reconcile", 30*time.Second, "every channel's reconcile interval")
	fs.IntVar(&f.workers, "workers", 16, "the daemon's intake workers (sync.workers)")
	fs.Float64Var(&f.immediate, "immediate-cancels", 0.5, "share of cancels made within the sale's second (same Shopify updated_at)")
	fs.Float64Var(&f.drop, "drop", 0.02, "share of Shopify and eBay webhook notifications never delivered (found by polls)")
	return fs
}

// parse parses args into fs and checks the shared flags; done (with the
// exit code) when the command must not go on.
func (f *simFlags) parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if code, done := parseFlags(fs, args); done {
		return code, true
	}
	if f.immediate < 0 || f.immediate > 1 || f.drop < 0 || f.drop > 1 {
		fmt.Fprintf(fs.Output(), "%s: --immediate-cancels and --drop are shares between 0 and 1\n", fs.Name())
		return 2, true
	}
	if f.duration < 0 || f.rate < 0 || f.skus < 1 || f.latency < 0 || f.workers < 1 || f.poll < time.Second || f.reconcile < time.Second {
		fmt.Fprintf(fs.Output(), "%s: --duration, --rate and --latency must not be negative, --skus and --workers must be at least 1, --poll and --reconcile at least 1s\n", fs.Name())
		return 2, true
	}
	return 0, false
}

// freshPrefix is a key prefix no earlier run used; the command that made
// it up deletes its keys at the end.
func freshPrefix(cmd string) string { return "shelfsync-" + cmd + "-" + randomHex(4) + ":" }

// simConfig is the daemon's configuration for the fakes, with a fresh
// admin token, on the Redis at addr under prefix, listening on listen.
func simConfig(fakes *demo.Fakes, f simFlags, addr, prefix, listen string) (*config.Config, error) {
	return demo.Config(fakes, demo.ConfigOptions{
		RedisAddr: addr, KeyPrefix: prefix, Listen: listen, AdminToken: randomHex(16), LogLevel: f.logLevel,
		Workers: f.workers, Poll: f.poll, Reconcile: f.reconcile,
	})
}

// seedCatalog generates the catalogue and seeds it as the demo does: the
// listings on the fakes, what the channels report, the ledger's stock.
func seedCatalog(ctx context.Context, eng *syncengine.Engine, fakes *demo.Fakes, cfg *config.Config, f simFlags) (*demo.Catalog, error) {
	cat := demo.NewCatalog(f.skus, f.seed)
	if err := demo.Seed(ctx, eng, fakes, cfg, cat); err != nil {
		return nil, fmt.Errorf("seeding the catalogue: %w", err)
	}
	return cat, nil
}

// newOrders is the order stream at f.rate, delivered to the daemon at base
// (http://host:port).
// ship ships a share of the orders through the daemon's admin API (zero:
// none).
func newOrders(fakes *demo.Fakes, cat *demo.Catalog, f simFlags, base string, log zerolog.Logger, ship demo.ShipOptions) *demo.Generator {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return demo.NewGenerator(fakes, cat, demo.GeneratorOptions{
		Rate: f.rate, Target: base, Client: client, Seed: f.seed, Logger: log,
		ImmediateCancels: f.immediate, Drop: f.drop, Ship: ship,
	})
}

// ordersContext ends after duration (0: with ctx only).
func ordersContext(ctx context.Context, duration time.Duration) (context.Context, context.CancelFunc) {
	if duration > 0 {
		return context.WithTimeout(ctx, duration)
	}
	return context.WithCancel(ctx)
}

// cleanSimPrefix deletes the keys under a prefix the command made up.
func cleanSimPrefix(w *wiring, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := demo.CleanPrefix(ctx, w.rdb, prefix); err != nil {
		w.log.Warn().Err(err).Msg("cleaning up the simulation's keys")
	}
}
