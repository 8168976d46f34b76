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
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

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
	if code, done := f.parse(fs, args); done {
		return code
	}
	if _, err := demo.ParseAmazonPlan(f.amazonPlan); err != nil {
		fmt.Fprintf(stderr, "demo: --amazon-plan: %v\n", err)
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

func demoMain(ctx context.Context, f demoFlags, stdout, stderr io.Writer) int {
	start := time.Now()
	// With --json, stdout carries the summary only; the banner goes to stderr.
	banner := stdout
	if f.json {
		banner = stderr
	}
	say := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(banner, format, a...)
		}
	}
	plan, _ := demo.ParseAmazonPlan(f.amazonPlan) // checked by runDemo
	fakes := demo.StartFakes(f.latency, plan)
	defer fakes.Close()

	addr, prefix, cleanPrefix := f.redis, f.keyPrefix, false
	if addr == "" {
		m, err := miniredis.Run()
		if err != nil {
			fmt.Fprintf(stderr, "demo: starting the embedded Redis: %v\n", err)
			return 1
		}
		defer m.Close()
		addr, prefix = m.Addr(), "shelfsync:"
	} else if prefix == "" {
		prefix, cleanPrefix = freshPrefix("demo"), true
	}
	listen, moved, err := freeListen(f.listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	if moved {
		say("%s is taken; listening on %s instead\n", f.listen, listen)
	}
	cfg, err := simConfig(fakes, f.simFlags, addr, prefix, listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	log, err := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 2
	}
	w, code := wire(cfg, log, connectors.New, stderr)
	if w == nil {
		return code
	}
	defer w.rdb.Close()
	if cleanPrefix {
		defer cleanSimPrefix(w, prefix)
	}
	eng, err := prepare(w) // the daemon's own engine, admin API included
	if err != nil {
		log.Error().Err(err).Msg("starting")
		return 1
	}

	cat, err := seedCatalog(ctx, eng, fakes, cfg, f.simFlags)
	if err != nil {
		log.Error().Err(err).Msg("demo: cannot start")
		return 1
	}
	base := "http://" + w.srv.Addr().String()
	store := "embedded Redis (miniredis)"
	if f.redis != "" {
		store = fmt.Sprintf("Redis at %s, key prefix %q", f.redis, prefix)
	}
	say("shelfsync demo: %d SKUs at 2 locations, %s; fakes: Shopify, eBay, Amazon with %s API latency\n",
		f.skus, store, f.latency)
	say("  rate limits: Shopify Plus (1000 cost points/s); eBay unthrottled;\n  %s\n", amazonPlanLines(plan))
	say("  metrics:   %s/metrics\n", base)
	say("  admin API: curl -H 'Authorization: Bearer %s' %s/api/v1/channels\n", cfg.HTTP.AdminToken.Value(), base)
	say("  webhooks:  %s/webhooks/{shopify,ebay}; Amazon notifications go through its SQS fake\n", base)
	say("  ready in %s; %.0f orders/s", time.Since(start).Round(time.Millisecond), f.rate)
	if f.duration > 0 {
		say(" for %s\n", f.duration)
	} else {
		say(" until Ctrl-C\n")
	}

	// The daemon runs on its own context: after the orders stop (Ctrl-C
	// or --duration) it keeps working until the channels converge.
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDaemon()
	g, gctx := startParts(dctx, w, eng)

	orders, stopOrders := ordersContext(ctx, f.duration)
	defer stopOrders()
	gen := newOrders(fakes, cat, f.simFlags, base, log)
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		_ = gen.Run(orders)
	}()

	live := newLiveLines(w.reg, time.Now()) // t= counts from the first order
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failed := false
loop:
	for {
		select {
		case <-genDone:
			break loop
		case <-gctx.Done():
			failed = true
			stopOrders()
			<-genDone
			break loop
		case <-tick.C:
			if line, err := live.next(gen); err == nil && !f.quiet && !f.json {
				fmt.Fprintln(stdout, line)
			}
		}
	}
	elapsed := time.Since(start)
	var conv demo.Convergence
	var oc demo.OrderCheck
	if !failed {
		bound := convergeBound + fakes.AmazonDrain(f.skus)
		say("orders stopped; waiting up to %s for every channel to converge\n", bound)
		conv, err = demo.WaitConverged(gctx, eng.Ledger(), cfg, fakes, cat.SKUs(), bound)
		if err != nil && gctx.Err() == nil {
			log.Error().Err(err).Msg("demo: checking convergence")
		}
		// Orders whose notification was dropped reach the ledger by a poll.
		oc, err = demo.WaitOrders(gctx, eng.Ledger(), gen.Placed(), 2*f.poll)
		if err != nil && gctx.Err() == nil {
			log.Error().Err(err).Msg("demo: checking orders")
		}
	}
	figs, _ := demo.Gather(w.reg)
	stopDaemon()
	derr := waitBounded(g, cfg.ShutdownTimeout)
	if derr != nil && !errors.Is(derr, context.Canceled) {
		log.Error().Err(derr).Msg("the daemon stopped on an error")
		failed = true
	}
	sum := demo.Summarize(elapsed, f.rate, f.latency, figs, gen.Counts(), conv).WithOrders(oc)
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
