package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all" // every channel kind run and validate can build
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/server"
	"github.com/shelfsync/shelfsync/sync/status"
	"github.com/shelfsync/shelfsync/sync/store"
	"github.com/shelfsync/shelfsync/sync/webhook"
)

func init() {
	commands["run"] = command{
		summary: "run the daemon (run --config FILE)",
		run: func(ctx context.Context, args []string, _, stderr io.Writer) int {
			return runDaemon(ctx, args, stderr, connectors.New)
		},
	}
}

// wiring is what the daemon's parts are built from; newEngine gets it whole.
type wiring struct {
	cfg      *config.Config
	log      zerolog.Logger
	reg      *prometheus.Registry
	rdb      redis.UniversalClient
	srv      *server.Server
	channels []*channel
	// health is each channel's readiness, fed by the engine's status
	// board and the access checks at start.
	health *status.Health
	// accessRetry is the first wait before an access check is retried.
	accessRetry time.Duration
}

// runDaemon is `shelfsync run`. Everything that can be checked is checked
// before anything starts (config, connectors, the listener): a failure
// there exits 2 (config) or 1 with nothing running. Then the parts run as a
// group: the HTTP server, the engine, and every connector that is a
// Runner. When ctx ends (SIGINT/SIGTERM) or one part fails, all stop; the
// drain is bounded by shutdown_timeout. Exit 0 after a clean drain.
func runDaemon(ctx context.Context, args []string, stderr io.Writer, newConnector connectorFactory) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (required)")
	logFormat := fs.String("log-format", "", "json or console (overrides log.format)")
	logLevel := fs.String("log-level", "", "trace, debug, info, warn, error (overrides log.level)")
	shutdown := fs.Duration("shutdown-timeout", 0, "drain bound after SIGINT/SIGTERM (overrides shutdown_timeout)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "run: --config is required")
		fs.Usage()
		return 2
	}
	if *shutdown < 0 {
		fmt.Fprintln(stderr, "run: --shutdown-timeout must not be negative")
		return 2
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if *shutdown > 0 {
		cfg.ShutdownTimeout = *shutdown
	}
	log, err := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 2
	}

	w, code := wire(cfg, log, newConnector, stderr)
	if w == nil {
		return code
	}
	defer w.rdb.Close()
	eng, err := prepare(w)
	if err != nil {
		log.Error().Err(err).Msg("starting")
		return 1
	}

	b := buildInfo()
	log.Info().Str("version", b.Version).Str("revision", b.Revision).Int("channels", len(w.channels)).
		Str("config", *path).Msg("shelfsync starting")
	g, gctx := startParts(ctx, w, eng)
	return wait(ctx, gctx, g, cfg.ShutdownTimeout, log)
}

// prepare builds the engine (and the admin API), mounts the webhook
// receivers on it and opens the listener: everything that can fail before
// the parts run.
func prepare(w *wiring) (*syncengine.Engine, error) {
	eng, err := newEngine(w)
	if err != nil {
		return nil, fmt.Errorf("building the engine: %w", err)
	}
	if err := mountWebhooks(w, eng.Sink()); err != nil {
		return nil, fmt.Errorf("mounting webhook receivers: %w", err)
	}
	if err := w.srv.Listen(); err != nil {
		return nil, fmt.Errorf("cannot listen: %w", err)
	}
	return eng, nil
}

// startParts runs the daemon's parts as one group on ctx: the HTTP server,
// the engine, and every connector that is a Runner (Amazon's queue
// reader), with the engine's intake as its sink. The group's context ends
// when ctx does or any part fails. Each channel's access check runs
// beside them until it passes (readiness), outside the group: a channel
// refusing its credentials must not stop the daemon.
func startParts(ctx context.Context, w *wiring, eng engine) (*errgroup.Group, context.Context) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.srv.Serve(gctx) })
	startAccessChecks(gctx, w)
	g.Go(func() error {
		if err := eng.Run(gctx); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
		return nil
	})
	for _, ch := range w.channels {
		r, ok := ch.conn.(connectors.Runner)
		if !ok {
			continue
		}
		g.Go(func() error {
			ch.log.Info().Msg("connector loop starting")
			if err := r.Run(gctx, eng.Sink()); err != nil {
				return fmt.Errorf("channel %s: %w", ch.cfg.Name, err)
			}
			return nil
		})
	}
	return g, gctx
}

// wire builds the parts that need no listener yet: registry, Redis
// client, connectors, HTTP server with its readiness checks (addChecks). nil and the
// exit code when something is wrong; it has printed why.
func wire(cfg *config.Config, log zerolog.Logger, newConnector connectorFactory, stderr io.Writer) (*wiring, int) {
	reg := prometheus.NewRegistry()
	// go-redis's own lines (pool dials, retries) go through the daemon's
	// logger, so --log-format json stays JSON.
	store.SetLogger(log)
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return nil, 2
	}
	chans, errs := buildChannels(cfg, newDepsBuilder(cfg, log, reg, rdb), newConnector)
	if len(errs) > 0 {
		rdb.Close()
		for _, err := range errs {
			fmt.Fprintf(stderr, "run: %v\n", err)
		}
		return nil, 2
	}
	srv, err := server.New(server.Options{
		HTTP: cfg.HTTP, Registry: reg, Logger: log.With().Str("component", "http").Logger(),
		Build: buildInfo(), ShutdownTimeout: cfg.ShutdownTimeout,
	})
	if err != nil {
		rdb.Close()
		fmt.Fprintf(stderr, "run: %v\n", err)
		return nil, 1
	}
	names := make([]string, len(chans))
	for i, ch := range chans {
		names[i] = ch.cfg.Name
	}
	w := &wiring{cfg: cfg, log: log, reg: reg, rdb: rdb, srv: srv, channels: chans,
		health: status.NewHealth(cfg.HTTP.ReadyFailingAfter, nil, names...), accessRetry: accessFirstRetry}
	addChecks(w)
	return w, 0
}

// mountWebhooks puts a receiver at /webhooks/{name} for every channel whose
// connector verifies webhooks, unless the config turned it off.
func mountWebhooks(w *wiring, sink connectors.EventSink) error {
	m, err := webhook.NewMetrics(w.reg)
	if err != nil {
		return err
	}
	for _, ch := range w.channels {
		v, ok := ch.conn.(connectors.WebhookVerifier)
		if !ok || ch.cfg.Webhook.Disabled {
			continue
		}
		challenger, _ := ch.conn.(connectors.WebhookChallenger)
		h, err := webhook.New(webhook.Options{
			Channel: ch.cfg.Name, Verifier: v, Challenger: challenger, Sink: sink,
			BodyLimit: w.cfg.HTTP.BodyLimit, Logger: ch.log.With().Str("component", "webhook").Logger(), Metrics: m,
		})
		if err != nil {
			return err
		}
		path := "/webhooks/" + ch.cfg.Name
		w.srv.Mount("POST "+path, h)
		w.srv.Mount("GET "+path, h)
		ch.log.Info().Str("path", path).Msg("webhook receiver mounted")
	}
	return nil
}

// wait blocks until the group ends. Once ctx (the signal) or gctx (a part
// failed) is done, the parts get timeout to drain, then the process gives
// up on them.
func wait(ctx, gctx context.Context, g *errgroup.Group, timeout time.Duration, log zerolog.Logger) int {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-gctx.Done():
		if ctx.Err() != nil {
			log.Info().Stringer("timeout", timeout).Msg("shutting down: draining in-flight work")
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case err = <-done:
		case <-t.C:
			log.Error().Stringer("timeout", timeout).Msg("drain timed out; exiting with work in flight")
			return 1
		}
	}
	if err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		log.Error().Err(err).Msg("shelfsync stopped on an error")
		return 1
	}
	log.Info().Msg("shelfsync stopped")
	return 0
}
