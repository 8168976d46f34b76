//go:build !nosim

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/demo"
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
)

func init() {
	commands["demo"] = command{
		summary: "run the daemon against simulated Shopify, eBay and Amazon (no setup needed)",
		run:     runDemo,
	}
}

// The simulator seeds the daemon's own engine.
var _ demo.Engine = (*syncengine.Engine)(nil)

// convergeBound is how long the demo waits, after the orders stop, for
// every channel to list what the ledger says, on top of the time the
// Amazon channel may need to patch every SKU at its plan (AmazonDrain:
// 44s for the default 200 SKUs at Amazon's published 5 a second).
const convergeBound = 60 * time.Second

type demoFlags struct {
	simFlags
	quiet      bool
	json       bool
	cpuprof    string
	amazonPlan string
	channels   string
	shipShare  float64
	shipAfter  time.Duration
}

// amazonPlanUsage words --amazon-plan for demo and fakes.
const amazonPlanUsage = "the fake Amazon's usage plans: published (Amazon's defaults: getOrder 0.5/s, searchOrders 0.0056/s, " +
	"patchListingsItem 5/s...) or raised (a large seller's: getOrder 50/s, patchListingsItem 200/s...); enforced with 429s"

// amazonPlanLines describes the fake Amazon's plan in the banner.
func amazonPlanLines(p demo.AmazonPlan) string {
	if p == demo.AmazonRaised {
		return "Amazon raised to a large seller's plan (--amazon-plan raised: getOrder 50/s, patchListingsItem 200/s;\n" +
			"  Amazon's published defaults are 0.5/s and 5/s)"
	}
	return "Amazon at its published default plans (--amazon-plan published: patchListingsItem 5/s,\n" +
		"  getOrder 0.5/s, searchOrders 0.0056/s; ORDER_CHANGE notifications carry the orders, no call per sale)"
}

// runDemo is `shelfsync demo`: the daemon's own wiring and engine, with a
// configuration built in code that points every channel at a fake
// marketplace, Redis embedded (miniredis) unless --redis names one, a
// generated catalogue and a stream of orders. It prints a live line each
// second and a summary at the end; exit 1 when the channels did not
// converge to the ledger.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f demoFlags
	fs := newSimFlagSet("demo", stderr, &f.simFlags, simPlaces{
		listen:    "the daemon's HTTP address (a free port is taken if it is busy)",
		redis:     "a real Redis (host:port) instead of the embedded one",
		keyPrefix: "key prefix on --redis (default: a fresh one, deleted at the end)",
	})
	fs.BoolVar(&f.quiet, "quiet", false, "print the summary only")
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON on stdout (no live lines; the banner goes to stderr)")
	fs.StringVar(&f.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run to this file (to find bottlenecks)")
	fs.StringVar(&f.amazonPlan, "amazon-plan", string(demo.AmazonPublished), amazonPlanUsage)
	fs.StringVar(&f.channels, "channels", "", "comma-separated simulated channels to run, with --rate 0 only (loadgen runs; default: all)")
	fs.Float64Var(&f.shipShare, "ship-share", 0.3, "share of the orders (plain SKUs, not cancelled or refunded) shipped through POST /api/v1/shipments, confirmed on the channels")
	fs.DurationVar(&f.shipAfter, "ship-after", 2*time.Second, "time from an order's notification to its shipment")
	if code, done := f.parse(fs, args); done {
		return code
	}
	if f.shipShare < 0 || f.shipShare > 1 || f.shipAfter < 0 {
		fmt.Fprintln(stderr, "demo: --ship-share is a share between 0 and 1, --ship-after must not be negative")
		return 2
	}
	if _, err := demo.ParseAmazonPlan(f.amazonPlan); err != nil {
		fmt.Fprintf(stderr, "demo: --amazon-plan: %v\n", err)
		return 2
	}
	if f.channels != "" && f.rate != 0 {
		// The generator sells on every simulated channel.
		fmt.Fprintln(stderr, "demo: --channels needs --rate 0 (orders from loadgen)")
		return 2
	}
	if f.cpuprof != "" {
		pf, err := os.Create(f.cpuprof)
		if err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 2
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	return demoMain(ctx, f, stdout, stderr)
}

// startFakes starts the simulated channels, those of --channels only when
// it is given; nil (said on stderr) when --channels names an unknown one.
func startFakes(f demoFlags, plan demo.AmazonPlan, stderr io.Writer) *demo.Fakes {
	fakes := demo.StartFakes(f.latency, plan)
	if f.channels == "" {
		return fakes
	}
	if err := fakes.Keep(strings.Split(f.channels, ",")); err != nil {
		fakes.Close()
		fmt.Fprintf(stderr, "demo: --channels: %v\n", err)
		return nil
	}
	return fakes
}

func demoMain(ctx context.Context, f demoFlags, stdout, stderr io.Writer) int {
	d := &demoRun{f: f, start: time.Now(), stdout: stdout, stderr: stderr, banner: stdout}
	if f.json {
		d.banner = stderr // stdout carries the summary only
	}
	plan, _ := demo.ParseAmazonPlan(f.amazonPlan) // checked by runDemo
	if d.fakes = startFakes(f, plan, stderr); d.fakes == nil {
		return 2
	}
	defer d.fakes.Close()
	addr, prefix, closeStore, err := d.store()
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer closeStore()
	eng, code := d.startDaemon(ctx, addr, prefix)
	if eng == nil {
		return code
	}
	defer d.w.rdb.Close()
	if d.cleanPrefix {
		defer cleanSimPrefix(d.w, prefix)
	}
	d.printBanner(plan, prefix)

	// The daemon runs on its own context: after the orders stop (Ctrl-C
	// or --duration) it keeps working until the channels converge.
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDaemon()
	g, gctx := startParts(dctx, d.w, eng)
	gen := newOrders(d.fakes, d.cat, f.simFlags, d.base, d.log, d.shipOptions())
	failed := d.runOrders(ctx, gctx, gen)
	elapsed := time.Since(d.start)
	var conv demo.Convergence
	var oc demo.OrderCheck
	var sc demo.ShipCheck
	if !failed {
		conv, oc, sc = d.check(gctx, eng, gen)
	}
	figs, _ := demo.Gather(d.w.reg)
	stopDaemon()
	if derr := waitBounded(g, d.cfg.ShutdownTimeout); derr != nil && !errors.Is(derr, context.Canceled) {
		d.log.Error().Err(derr).Msg("the daemon stopped on an error")
		failed = true
	}
	sum := demo.Summarize(elapsed, f.rate, f.latency, figs, gen.Counts(), conv).WithOrders(oc).WithShipments(sc)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
	} else {
		sum.Print(stdout)
	}
	if failed || !sum.Converged {
		return 1
	}
	return 0
}

// demoRun is one run of the demo: its flags, outputs and parts.
type demoRun struct {
	f                      demoFlags
	start                  time.Time
	stdout, stderr, banner io.Writer
	fakes                  *demo.Fakes
	cleanPrefix            bool
	cfg                    *config.Config
	log                    zerolog.Logger
	w                      *wiring
	cat                    *demo.Catalog
	base                   string
}

// say prints to the banner's writer unless --quiet.
func (d *demoRun) say(format string, a ...any) {
	if !d.f.quiet {
		fmt.Fprintf(d.banner, format, a...)
	}
}

// store is the Redis the demo runs on: the embedded one unless --redis
// names one (then under a fresh key prefix unless --key-prefix names one).
func (d *demoRun) store() (addr, prefix string, closeStore func(), err error) {
	addr, prefix = d.f.redis, d.f.keyPrefix
	if addr != "" {
		if prefix == "" {
			prefix, d.cleanPrefix = freshPrefix("demo"), true
		}
		return addr, prefix, func() {}, nil
	}
	m, err := miniredis.Run()
	if err != nil {
		return "", "", nil, fmt.Errorf("starting the embedded Redis: %w", err)
	}
	stop := expireInRealTime(m, ttlTick)
	return m.Addr(), "shelfsync:", func() { stop(); m.Close() }, nil
}

// ttlTick is how often the embedded Redis's TTLs are moved on.
const ttlTick = 100 * time.Millisecond

// expireInRealTime makes m's TTLs run down with the wall clock, as a real
// Redis's do: miniredis only moves them on FastForward (its ClockTTL would
// do it on every command, sorting every key each time). The daemon relies
// on keys expiring: a scheduled job's period claim (SET NX PX) that never
// expired would skip every later poll, losing the orders and cancels only
// a poll finds. Expiry is late by up to tick. stop ends it.
func expireInRealTime(m *miniredis.Miniredis, tick time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return func() { close(done); <-finished }
}

// startDaemon wires the daemon for the fakes and seeds the catalogue; a
// nil engine means the demo can not go on, with the exit code.
func (d *demoRun) startDaemon(ctx context.Context, addr, prefix string) (*syncengine.Engine, int) {
	listen, moved, err := freeListen(d.f.listen)
	if err != nil {
		fmt.Fprintf(d.stderr, "demo: %v\n", err)
		return nil, 1
	}
	if moved {
		d.say("%s is taken; listening on %s instead\n", d.f.listen, listen)
	}
	if d.cfg, err = simConfig(d.fakes, d.f.simFlags, addr, prefix, listen); err != nil {
		fmt.Fprintf(d.stderr, "demo: %v\n", err)
		return nil, 1
	}
	if d.log, err = newLogger(d.stderr, d.cfg.Log.Level, d.cfg.Log.Format); err != nil {
		fmt.Fprintf(d.stderr, "demo: %v\n", err)
		return nil, 2
	}
	w, code := wire(d.cfg, d.log, connectors.New, d.stderr)
	if w == nil {
		return nil, code
	}
	d.w = w
	eng, err := prepare(w) // the daemon's own engine, admin API included
	if err == nil {
		d.cat, err = seedCatalog(ctx, eng, d.fakes, d.cfg, d.f.simFlags)
	}
	if err != nil {
		d.log.Error().Err(err).Msg("demo: cannot start")
		w.rdb.Close()
		return nil, 1
	}
	d.base = "http://" + w.srv.Addr().String()
	return eng, 0
}

func (d *demoRun) printBanner(plan demo.AmazonPlan, prefix string) {
	store := "embedded Redis (miniredis)"
	if d.f.redis != "" {
		store = fmt.Sprintf("Redis at %s, key prefix %q", d.f.redis, prefix)
	}
	d.say("shelfsync demo: %d SKUs at 2 locations, %s; fakes: %s with %s API latency\n",
		d.f.skus, store, strings.Join(d.fakes.Names(), ", "), d.f.latency)
	d.say("  rate limits: Shopify Plus (1000 cost points/s); eBay unthrottled;\n  %s\n", amazonPlanLines(plan))
	d.say("  metrics:   %s/metrics\n", d.base)
	d.say("  admin API: curl -H 'Authorization: Bearer %s' %s/api/v1/channels\n", d.cfg.HTTP.AdminToken.Value(), d.base)
	d.say("  webhooks:  %s/webhooks/{channel}; Amazon notifications go through its SQS fake\n", d.base)
	d.say("  ready in %s; %.0f orders/s", time.Since(d.start).Round(time.Millisecond), d.f.rate)
	if d.f.duration > 0 {
		d.say(" for %s\n", d.f.duration)
	} else {
		d.say(" until Ctrl-C\n")
	}
}

// runOrders places orders until Ctrl-C or --duration, printing the live
// line each second; failed when the daemon stopped first.
func (d *demoRun) runOrders(ctx, daemon context.Context, gen *demo.Generator) (failed bool) {
	orders, stopOrders := ordersContext(ctx, d.f.duration)
	defer stopOrders()
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		_ = gen.Run(orders)
	}()
	live := newLiveLines(d.w.reg, time.Now()) // t= counts from the first order
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-genDone:
			return false
		case <-daemon.Done():
			stopOrders()
			<-genDone
			return true
		case <-tick.C:
			if line, err := live.next(gen); err == nil && !d.f.quiet && !d.f.json {
				fmt.Fprintln(d.stdout, line)
			}
		}
	}
}

// shipOptions ships --ship-share of the orders on the channels whose
// connector confirms shipments.
func (d *demoRun) shipOptions() demo.ShipOptions {
	o := demo.ShipOptions{Share: d.f.shipShare, After: d.f.shipAfter, AdminToken: d.cfg.HTTP.AdminToken.Value()}
	for _, ch := range d.w.channels {
		if _, ok := ch.conn.(connectors.ShipmentConfirmer); ok {
			o.Channels = append(o.Channels, ch.cfg.Name)
		}
	}
	return o
}

// check waits for every channel to converge, every placed order to be in
// the ledger as placed and every shipment to be confirmed on its fake.
func (d *demoRun) check(ctx context.Context, eng *syncengine.Engine, gen *demo.Generator) (demo.Convergence, demo.OrderCheck, demo.ShipCheck) {
	bound := convergeBound + d.fakes.Drain(d.f.skus)
	d.say("orders stopped; waiting up to %s for every channel to converge (Ctrl-C again to quit now)\n", bound)
	conv, err := d.cat.WaitConverged(ctx, eng.Ledger(), d.cfg, d.fakes, bound)
	if err != nil && ctx.Err() == nil {
		d.log.Error().Err(err).Msg("demo: checking convergence")
	}
	// Orders whose notification was dropped reach the ledger by a poll.
	placed := gen.Placed()
	oc, err := demo.WaitOrders(ctx, eng.Ledger(), placed, 2*d.f.poll)
	if err != nil && ctx.Err() == nil {
		d.log.Error().Err(err).Msg("demo: checking orders")
	}
	counts := gen.Counts()
	var shipped int64
	for _, c := range counts {
		shipped += c.Shipped
	}
	sc := demo.WaitShipments(ctx, d.fakes, d.shipOptions(), placed, counts, demo.ShipBound(int(shipped)))
	return conv, oc, sc
}

// liveLines keeps the readings the live line compares with.
type liveLines struct {
	start  time.Time
	gather func() (demo.Figures, error)
	prev   demo.Figures
	window []demo.Figures // the last ten readings, for the p50/p99 window
}

func newLiveLines(reg prometheus.Gatherer, start time.Time) *liveLines {
	l := &liveLines{start: start, gather: func() (demo.Figures, error) { return demo.Gather(reg) }}
	if f, err := l.gather(); err == nil {
		l.prev = f
		l.window = []demo.Figures{f}
	}
	return l
}

func (l *liveLines) next(gen *demo.Generator) (string, error) {
	now, err := l.gather()
	if err != nil {
		return "", err
	}
	var units int64
	for _, c := range gen.Counts() {
		units += c.Units
	}
	line := demo.LiveLine(time.Since(l.start), now, l.prev, l.window[0], units)
	l.prev = now
	l.window = append(l.window, now)
	if len(l.window) > 10 {
		l.window = l.window[1:]
	}
	return line, nil
}

// waitBounded waits for the group at most timeout.
func waitBounded(g *errgroup.Group, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("the daemon did not stop within %s", timeout)
	}
}

// freeListen returns addr if it can be listened on, else a free port on
// the same host (moved true).
func freeListen(addr string) (string, bool, error) {
	ln, err := net.Listen("tcp", addr)
	moved := false
	if err != nil {
		host, _, serr := net.SplitHostPort(addr)
		if serr != nil {
			return "", false, fmt.Errorf("--listen %q: %w", addr, serr)
		}
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return "", false, fmt.Errorf("no free port on %s: %w", host, err)
		}
		moved = true
	}
	got := ln.Addr().String()
	ln.Close()
	return got, moved, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
