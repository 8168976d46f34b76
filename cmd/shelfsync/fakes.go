//go:build !nosim

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/demo"
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/store"
)

func init() {
	commands["fakes"] = command{
		summary: "run the fake Shopify, eBay and Amazon for a separate `shelfsync run` (writes its config)",
		run:     runFakes,
	}
}

type fakesFlags struct {
	simFlags
	writeConfig string
	amazonPlan  string
	converge    time.Duration
	linger      time.Duration
}

// runFakes is `shelfsync fakes`: the demo's fake marketplaces and order
// stream in a process of their own, so that the daemon runs alone, as in
// production, with `shelfsync run --config FILE`. It starts the fakes on
// loopback, seeds the catalogue exactly as the demo does (listings on the
// fakes, the channels' reported quantities and the ledger's stock in
// Redis), writes the daemon's config for the fakes to --write-config
// (with the fakes' secrets, mode 0600), and once the daemon at --listen
// answers /readyz places orders at --rate and delivers their
// notifications to it, until SIGINT/SIGTERM or --duration. Then it
// prints what it placed per channel and stops the fakes: stop the daemon
// first.
func runFakes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f fakesFlags
	fs := newSimFlagSet("fakes", stderr, &f.simFlags, simPlaces{
		listen:       "the daemon's HTTP address, written as its http.listen; notifications go there",
		redisDefault: "127.0.0.1:6379",
		redis:        "the daemon's Redis (host:port); the catalogue's stock is seeded there",
		keyPrefix:    "the daemon's key prefix; it must hold no keys yet (default: a fresh one, deleted when the fakes stop)",
	})
	fs.StringVar(&f.writeConfig, "write-config", "", "write the daemon's config to this file (required; it holds the fakes' secrets, mode 0600)")
	fs.StringVar(&f.amazonPlan, "amazon-plan", string(demo.AmazonPublished), amazonPlanUsage)
	fs.DurationVar(&f.converge, "converge", 0, "after the orders stop, wait up to this long for every channel to list the ledger's ATS "+
		"and every placed order to be in the ledger as placed; exit 1 if not (0: do not check; failed deliveries then exit 1)")
	fs.DurationVar(&f.linger, "linger", 0, "keep the fakes serving this long after the orders (and --converge) ended, for a look at the quiet daemon")
	if code, done := f.parse(fs, args); done {
		return code
	}
	if _, err := demo.ParseAmazonPlan(f.amazonPlan); err != nil {
		fmt.Fprintf(stderr, "fakes: --amazon-plan: %v\n", err)
		return 2
	}
	if f.writeConfig == "" {
		fmt.Fprintln(stderr, "fakes: --write-config is required")
		fs.Usage()
		return 2
	}
	return fakesMain(ctx, f, stdout, stderr)
}

func fakesMain(ctx context.Context, f fakesFlags, stdout, stderr io.Writer) int {
	plan, _ := demo.ParseAmazonPlan(f.amazonPlan) // checked by runFakes
	fakes := demo.StartFakes(f.latency, plan)
	defer fakes.Close()
	prefix, fresh := f.keyPrefix, f.keyPrefix == ""
	if fresh {
		prefix = freshPrefix("fakes")
	}
	w, eng, code := fakesDaemon(ctx, f, fakes, prefix, fresh, stderr)
	if w == nil {
		return code
	}
	defer w.rdb.Close()
	if fresh {
		defer cleanSimPrefix(w, prefix)
	}
	cfg, log := w.cfg, w.log
	start := time.Now()
	cat, err := seedCatalog(ctx, eng, fakes, cfg, f.simFlags)
	if err == nil {
		err = writeConfigFile(f.writeConfig, cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fakes: %v\n", err)
		return 1
	}
	printFakes(stdout, fakes, f.latency, plan)
	fmt.Fprintf(stdout, "  seeded %d SKUs at 2 locations in %s: Redis %s, key prefix %q\n",
		f.skus, time.Since(start).Round(time.Millisecond), f.redis, prefix)
	fmt.Fprintf(stdout, "  config written to %s (admin token inside); start the daemon:\n    shelfsync run --config %s\n",
		f.writeConfig, f.writeConfig)
	base := "http://" + f.listen
	if err := announceOrders(ctx, f, base, stdout); err != nil {
		fmt.Fprintf(stderr, "fakes: %v\n", err)
		return 1
	}
	orders, stop := ordersContext(ctx, f.duration)
	defer stop()
	gen := newOrders(fakes, cat, f.simFlags, base, log, demo.ShipOptions{}) // the daemon runs elsewhere: no shipments
	_ = gen.Run(orders)                                                     // returns once the orders stop and the deliveries under way are done
	failed := printPlaced(gen, stdout)
	exit := 0
	switch {
	case f.converge > 0:
		exit = fakesConverge(ctx, eng, cfg, fakes, cat, gen, f.converge, stdout, stderr)
	case failed > 0:
		exit = 1
	}
	if f.linger > 0 {
		fmt.Fprintf(stdout, "  the fakes keep serving for %s\n", f.linger)
		_ = connectors.WaitContext(ctx, f.linger)
	}
	return exit
}

// fakesDaemon is the daemon's own wiring and engine for the fakes, never
// run: the seeding writes the ledger and the outboxes exactly as the
// daemon will read them. A nil wiring means fakes can not go on, with the
// exit code.
func fakesDaemon(ctx context.Context, f fakesFlags, fakes *demo.Fakes, prefix string, fresh bool, stderr io.Writer) (*wiring, *syncengine.Engine, int) {
	cfg, err := simConfig(fakes, f.simFlags, f.redis, prefix, f.listen)
	if err != nil {
		fmt.Fprintf(stderr, "fakes: %v\n", err)
		return nil, nil, 2
	}
	log, err := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(stderr, "fakes: %v\n", err)
		return nil, nil, 2
	}
	w, code := wire(cfg, log, connectors.New, stderr)
	if w == nil {
		return nil, nil, code
	}
	if !fresh {
		if err := refuseUsedPrefix(ctx, w.rdb, prefix); err != nil {
			w.rdb.Close()
			fmt.Fprintf(stderr, "fakes: %v\n", err)
			return nil, nil, 2
		}
	}
	eng, err := newEngine(w)
	if err != nil {
		w.rdb.Close()
		fmt.Fprintf(stderr, "fakes: %v\n", err)
		return nil, nil, 1
	}
	return w, eng, 0
}

// announceOrders waits for the daemon to be ready when orders will flow,
// and says what will happen.
func announceOrders(ctx context.Context, f fakesFlags, base string, stdout io.Writer) error {
	if f.rate > 0 {
		fmt.Fprintf(stdout, "  waiting for the daemon at %s/readyz\n", base)
		if err := awaitReady(ctx, base+"/readyz"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  the daemon is ready; %.0f orders/s", f.rate)
	} else {
		fmt.Fprint(stdout, "  no orders (--rate 0)")
	}
	if f.duration > 0 {
		fmt.Fprintf(stdout, " for %s\n", f.duration)
	} else {
		fmt.Fprintln(stdout, " until Ctrl-C")
	}
	return nil
}

// printPlaced says what the generator did per channel and returns how many
// deliveries failed.
func printPlaced(gen *demo.Generator, stdout io.Writer) int64 {
	failed, counts := int64(0), gen.Counts()
	for _, ch := range demo.ChannelNames() {
		c := counts[ch]
		failed += c.Failed
		fmt.Fprintf(stdout, "%-8s orders %d units %d cancels %d (within the second %d) refunds %d duplicates %d dropped %d statuses %s failed %d\n",
			ch, c.Orders, c.Units, c.Cancels, c.Immediate, c.Refunds, c.Duplicates, c.Dropped, statusText(c.Statuses), c.Failed)
	}
	return failed
}

// fakesConverge waits until every channel lists the ledger's ATS and every
// placed order is in the ledger as placed, and says so (exit 1 if not
// within bound). Deliveries that failed while the daemon was down are
// expected here: the daemon's polls must find those orders.
func fakesConverge(ctx context.Context, eng *syncengine.Engine, cfg *config.Config, fakes *demo.Fakes, cat *demo.Catalog,
	gen *demo.Generator, bound time.Duration, stdout, stderr io.Writer) int {
	start := time.Now()
	conv, err := cat.WaitConverged(ctx, eng.Ledger(), cfg, fakes, bound)
	if err != nil {
		fmt.Fprintf(stderr, "fakes: checking convergence: %v\n", err)
		return 1
	}
	oc, err := demo.WaitOrders(ctx, eng.Ledger(), gen.Placed(), max(bound-time.Since(start), time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "fakes: checking orders: %v\n", err)
		return 1
	}
	word := "converged"
	if !conv.Converged() || !oc.OK() {
		word = "NOT converged"
	}
	fmt.Fprintf(stdout, "%s after %s: %d/%d SKUs match the ledger's ATS on every channel; %d/%d orders are in the ledger as placed (lost %d, doubled %d, wrong %d)\n",
		word, time.Since(start).Round(100*time.Millisecond), conv.Matching, conv.SKUs, oc.Matching, oc.Orders, oc.Lost, oc.Doubled, oc.Wrong)
	for _, m := range conv.Sample {
		fmt.Fprintf(stdout, "  %s %s lists %d, ATS %d\n", m.Channel, m.SKU, m.Listed, m.ATS)
	}
	for _, m := range oc.Sample {
		fmt.Fprintf(stdout, "  order %s/%s (%s ×%d, open %d): ledger has %d lines, ordered %d, reserved %d\n",
			m.Order.Channel, m.Order.OrderID, m.Order.SKU, m.Order.Units, m.Order.Open, m.Lines, m.Ordered, m.Reserved)
	}
	if word != "converged" {
		return 1
	}
	return 0
}

// refuseUsedPrefix makes sure the fakes' stock does not land in a ledger
// already in use (a real merchant's, or an earlier run's): on a Redis
// Cluster, on any primary.
func refuseUsedPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	used, err := store.AnyKey(ctx, rdb, prefix+"*")
	if err != nil {
		return fmt.Errorf("checking key prefix %q: %w", prefix, err)
	}
	if used {
		return fmt.Errorf("key prefix %q already holds keys: pick another --key-prefix (or leave it out for a fresh one)", prefix)
	}
	return nil
}

// writeConfigFile writes cfg, secrets included, readable by its owner
// only; it appears whole (written aside, then renamed), so a script may
// wait for it.
func writeConfigFile(path string, cfg *config.Config) error {
	text, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".shelfsync-config-*")
	if err != nil {
		return fmt.Errorf("writing the config: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the config: %w", err)
	}
	return nil
}

// awaitReady waits until url answers 200: orders placed before the
// daemon listens would be refused deliveries.
func awaitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("waiting for the daemon: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("stopped while waiting for the daemon to be ready")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// printFakes says where every fake listens.
func printFakes(stdout io.Writer, fakes *demo.Fakes, latency time.Duration, plan demo.AmazonPlan) {
	fmt.Fprint(stdout, "shelfsync fakes:")
	for i, ch := range demo.ChannelNames() {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(stdout, "%s %s %s", sep, ch, fakes.Channel(ch).URL())
	}
	fmt.Fprintf(stdout, " (%s API latency; Amazon's %s plan)\n", latency, plan)
}
