// Package engine joins the connectors to the ledger: it owns the durable
// intake (what webhooks, pollers and queue readers hand in), the ingest
// workers, the propagation of every ledger change to each channel's outbox
// (the allocation rules decide the quantity), one pusher per channel, the
// scheduled polls and reconciliations, and the downstream publication.
//
// Nothing here lives only in memory: the intake, the ledger's push intents
// and the outboxes are in Redis, so a crash at any point loses no order, no
// stock movement and no pending push; on start the engine resumes from
// them. Every step may run twice without changing the result.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/downstream"
	"github.com/shelfsync/shelfsync/sync/fetch"
	"github.com/shelfsync/shelfsync/sync/ingest"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/propagate"
	"github.com/shelfsync/shelfsync/sync/push"
	"github.com/shelfsync/shelfsync/sync/schedule"
	"github.com/shelfsync/shelfsync/sync/shadow"
	"github.com/shelfsync/shelfsync/sync/shipments"
	"github.com/shelfsync/shelfsync/sync/signals"
	"github.com/shelfsync/shelfsync/sync/status"
	"github.com/shelfsync/shelfsync/sync/store"
)

// Options configures an Engine.
type Options struct {
	Config     *config.Config
	Redis      redis.UniversalClient
	Connectors map[string]connectors.Connector // by channel name
	Registry   prometheus.Registerer
	Logger     zerolog.Logger
	// Holder names this replica in leases and consumer groups (host:pid when empty).
	Holder string
	// DownstreamHTTP posts to downstream.webhook.url; nil builds a default.
	DownstreamHTTP *http.Client
	// InitialLookback is how far back the first poll of a channel reaches
	// when no cursor is stored and its channels[].poll_lookback is unset
	// (a config not from config.Load); default 24h.
	InitialLookback time.Duration
	// Health gets every poll, push and reconcile outcome the status board
	// records (the daemon's /readyz); nil: none.
	Health *status.Health
}

// Engine is the running core of the daemon.
type Engine struct {
	o         Options
	cfg       *config.Config
	log       zerolog.Logger
	ledger    *inventory.Ledger
	catalog   *catalog.Catalog
	intake    *intake.Intake
	ingest    *ingest.Ingester
	parking   *ingest.Parking
	publisher *downstream.Publisher
	forwarder *downstream.Forwarder
	prop      *propagate.Propagator
	sweeper   *propagate.Sweeper
	signals   *signals.Sweeper // stock signals to the downstream stream
	leases    *lease.Manager
	sched     *schedule.Scheduler
	board     *status.Board
	shadow    *shadow.Recorder
	shipments *shipments.Service
	inbound   *shipments.Inbound
	channels  map[string]*channel
	names     []string
	m         *metrics

	staleMu       sync.Mutex
	lastStalePoll map[string]time.Time
}

// channel is one channel's share of the engine.
type channel struct {
	cfg    config.Channel
	conn   connectors.Connector
	outbox *outbox.Outbox
	pusher *push.Pusher // nil when the connector can not push
	fetch  *fetch.Queue // nil when the connector can not fetch orders
	echoes bool         // the channel's own sales lower its listing (connectors.SaleEchoer)
}

// fetchConcurrency is how many order fetches of one channel run at once:
// the channel's limiter paces them; more would only queue on it.
const fetchConcurrency = 4

// fetchDedupBound bounds how long a waiting fetch's order id is kept when
// it could not be forgotten as the fetch began (see intake.Options.Coalesce).
const fetchDedupBound = 10 * time.Minute

// New builds the engine. No I/O.
func New(o Options) (*Engine, error) {
	cfg := o.Config
	if o.InitialLookback == 0 {
		o.InitialLookback = 24 * time.Hour
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	prefix := cfg.Redis.KeyPrefix
	e := &Engine{o: o, cfg: cfg, log: o.Logger.With().Str("component", "engine").Logger(), channels: map[string]*channel{}, lastStalePoll: map[string]time.Time{}}
	e.leases = lease.NewManager(o.Redis, prefix, o.Holder)
	e.board = status.New(o.Redis, prefix).Feed(o.Health)
	e.shadow = shadow.New(o.Redis, prefix, 0)
	e.m = newMetrics(reg)
	e.ledger = inventory.New(o.Redis, inventory.Options{
		Prefix: prefix, OperationTTL: cfg.Ledger.OperationTTL, LineTTL: cfg.Ledger.LineTTL, JournalMaxLen: cfg.Ledger.JournalMaxLen,
		MinReplicas: cfg.Redis.MinReplicasAcked, ReplicaTimeout: cfg.Redis.MinReplicasTimeout,
	})
	e.catalog = catalog.New(o.Redis, prefix)
	e.intake = intake.New(o.Redis, intake.Options{
		Prefix: prefix, Consumer: e.leases.Holder(), Workers: cfg.Sync.Workers, MaxAttempts: cfg.Sync.MaxAttempts,
		ClaimIdle: cfg.Sync.ClaimIdle, DedupTTL: cfg.Sync.DedupTTL, Durability: durability(cfg.Redis),
		Partitions: cfg.Redis.StreamPartitions,
		// The batch's catalog version, read with its events (ingest's
		// Resolve then needs no round trip for it).
		AfterRead: e.catalog.AfterRead,
		Logger:    o.Logger.With().Str("component", "intake").Logger(), Metrics: e.m.intake,
	})
	e.publisher = downstream.NewPartitionedPublisher(o.Redis, prefix, cfg.Downstream.Stream, cfg.Redis.StreamPartitions,
		cfg.Downstream.StreamMaxLen, cfg.Sync.DedupTTL, reg)
	e.forwarder = e.newForwarder(reg)
	e.sched = schedule.New(e.leases, cfg.Sync.LeaseTTL, o.Logger.With().Str("component", "scheduler").Logger(), schedule.NewMetrics(reg))
	fetchers, err := e.addChannels(reg)
	if err != nil {
		return nil, err
	}
	e.newShipments(reg)
	e.prop = propagate.New(o.Redis, e.ledger, e.propagateChannels()).WithCatalog(e.catalog)
	if err := e.sched.Add(schedule.Job{Channel: ledgerJobs, Kind: "prune_order_index", Spec: pruneOrderIndexEvery,
		Run: e.pruneOrderIndex}); err != nil {
		return nil, err
	}
	e.parking = ingest.NewParking(o.Redis, prefix)
	e.ingest = ingest.New(ingest.Options{
		Ledger: e.ledger, Parking: e.parking, Publisher: e.publisher, Propagator: e.prop, Catalog: e.catalog,
		Channels: cfg.Channels, Locations: cfg.Locations, Routing: cfg.Routing, Connectors: o.Connectors, Fetchers: fetchers,
		Returns: ingest.NewReturnBook(o.Redis, prefix, cfg.Ledger.LineTTL), LineTTL: cfg.Ledger.LineTTL,
		Metrics: e.m.ingest, Logger: o.Logger.With().Str("component", "ingest").Logger(),
	})
	e.sweeper = &propagate.Sweeper{Intents: e.ledger, Catalog: e.catalog, Unparker: e.ingest, P: e.prop, Swept: e.m.intentsSwept,
		Logger: o.Logger.With().Str("component", "sweeper").Logger()}
	e.signals = &signals.Sweeper{Source: e.ledger, Sink: e.publisher, Logger: o.Logger.With().Str("component", "signals").Logger()}
	e.signals.Register(reg)
	return e, nil
}

// newForwarder is the downstream webhook forwarder, nil when none is configured.
func (e *Engine) newForwarder(reg prometheus.Registerer) *downstream.Forwarder {
	wh := e.cfg.Downstream.Webhook
	if wh.URL == "" {
		return nil
	}
	client := e.o.DownstreamHTTP
	if client == nil {
		client = connectors.NewHTTPClient(connectors.HTTPOptions{
			Channel: "downstream", Timeout: wh.Timeout, MaxRetries: wh.MaxAttempts, Logger: e.o.Logger,
		})
	}
	return downstream.NewPublisherForwarder(e.o.Redis, e.publisher, e.leases.Holder(), wh.URL,
		[]byte(wh.Secret.Value()), client, e.o.Logger.With().Str("component", "downstream").Logger(), reg)
}

// addChannels builds every channel's part (outbox, pusher, fetch queue,
// jobs) and returns the fetch queues by channel.
func (e *Engine) addChannels(reg prometheus.Registerer) (map[string]connectors.EventSink, error) {
	pushMetrics, fetchMetrics := push.NewMetrics(reg), fetch.NewMetrics(reg)
	pushMetrics.LeaseHeld = e.m.leaseHolder // one lease_held metric for every lease
	fetchers := map[string]connectors.EventSink{}
	for _, cc := range e.cfg.Channels {
		conn, ok := e.o.Connectors[cc.Name]
		if !ok {
			return nil, fmt.Errorf("channel %s has no connector", cc.Name)
		}
		if err := checkStockMode(cc, conn); err != nil {
			return nil, err
		}
		ch := &channel{cfg: cc, conn: conn, outbox: outbox.NewPartitioned(e.o.Redis, e.cfg.Redis.KeyPrefix, cc.Name, e.cfg.Redis.OutboxPartitions)}
		// A SKU two outbox layouts queued with different wants during a
		// rolling outbox_partitions change is recomputed from the ledger.
		ch.outbox.SetIntents(e.ledger)
		e.m.init(cc.Name)
		if p, ok := conn.(connectors.QuantityPusher); ok {
			ch.pusher = e.newPusher(ch, p, pushMetrics)
			pushMetrics.Init(cc.Name)
		}
		if se, ok := conn.(connectors.SaleEchoer); ok && ch.pusher != nil {
			ch.echoes = se.EchoesSales()
		}
		if f, ok := conn.(connectors.OrderFetcher); ok {
			ch.fetch = e.newFetchQueue(cc.Name, f, fetchMetrics)
			fetchMetrics.Init(cc.Name)
			fetchers[cc.Name] = ch.fetch
		}
		e.channels[cc.Name] = ch
		e.names = append(e.names, cc.Name)
		if err := e.addJobs(ch); err != nil {
			return nil, err
		}
	}
	sort.Strings(e.names)
	return fetchers, nil
}

// checkStockMode refuses a per_location channel whose connector can not
// push per location (connectors.LocationPusher).
func checkStockMode(cc config.Channel, conn connectors.Connector) error {
	if !cc.PerLocation() {
		return nil
	}
	if lp, ok := conn.(connectors.LocationPusher); !ok || !lp.PushesPerLocation() {
		return fmt.Errorf("channel %s: stock_mode per_location is not supported by kind %s", cc.Name, cc.Kind)
	}
	return nil
}

func (e *Engine) newPusher(ch *channel, p connectors.QuantityPusher, m *push.Metrics) *push.Pusher {
	cfg := e.cfg
	return push.New(push.Options{
		Channel: ch.cfg.Name, Conn: p, Outbox: ch.outbox, Leases: e.leases, LeaseTTL: cfg.Sync.PushLeaseTTL,
		BatchSize: ch.cfg.BatchSize, Window: cfg.Sync.CoalesceWindow, MaxAttempts: cfg.Sync.MaxAttempts,
		OnStale: e.onStale, Status: e.board, Metrics: m, Shadow: e.shadowFor(ch.cfg), PerLocation: ch.cfg.PerLocation(),
		Logger: e.o.Logger.With().Str("component", "push").Str("channel", ch.cfg.Name).Logger(),
	})
}

func (e *Engine) newFetchQueue(name string, f connectors.OrderFetcher, m *fetch.Metrics) *fetch.Queue {
	log := e.o.Logger.With().Str("component", "fetch").Str("channel", name).Logger()
	return fetch.New(e.o.Redis, fetch.Options{
		Channel: name, Conn: f, Sink: e.intake, Concurrency: fetchConcurrency, Metrics: m, Logger: log,
		Queue: intake.Options{
			Prefix: e.cfg.Redis.KeyPrefix, Consumer: e.leases.Holder(), MaxAttempts: e.cfg.Sync.MaxAttempts,
			ClaimIdle: e.cfg.Sync.ClaimIdle, DedupTTL: fetchDedupBound, Durability: durability(e.cfg.Redis), Logger: log,
		},
	})
}

// durability is how many replicas confirm an acknowledged enqueue
// (redis.min_replicas_acked).
func durability(r config.Redis) store.Durability {
	return store.Durability{Replicas: r.MinReplicasAcked, Timeout: r.MinReplicasTimeout}
}

// propagateChannels is every channel as propagation sees it, by name.
func (e *Engine) propagateChannels() []propagate.Channel {
	out := make([]propagate.Channel, 0, len(e.names))
	for _, name := range e.names {
		ch := e.channels[name]
		pc := propagate.Channel{Name: name, Locations: ch.cfg.Locations, Allocation: propagate.Allocation(ch.cfg.Allocation), Outbox: ch.outbox, Echoes: ch.echoes,
			PerLocation: ch.cfg.PerLocation()}
		if ch.pusher != nil {
			pc.Wake = ch.pusher.Wake
		}
		out = append(out, pc)
	}
	return out
}

// Propagator computes and queues every channel's quantities.
func (e *Engine) Propagator() *propagate.Propagator { return e.prop }

// SetReported records what a channel lists before shelfsync pushed to it
// (tools that seed a channel: the demo).
func (e *Engine) SetReported(ctx context.Context, ch, sku string, qty int64) error {
	return e.prop.SetReported(ctx, ch, sku, qty)
}

// ATS returns sku's stock and what each channel lists for it now.
func (e *Engine) ATS(ctx context.Context, sku string) (inventory.SKUStock, map[string]int64, error) {
	return e.prop.ATS(ctx, sku)
}

// Sink is the durable intake: webhook receivers and connector runners put
// events here.
func (e *Engine) Sink() connectors.EventSink { return e.intake }

// Intake is the durable intake (for the admin API's dead letters).
func (e *Engine) Intake() *intake.Intake { return e.intake }

// Catalog is the catalog the engine translates orders and pushes through.
func (e *Engine) Catalog() *catalog.Catalog { return e.catalog }

// Ledger is the stock ledger the engine writes.
func (e *Engine) Ledger() *inventory.Ledger { return e.ledger }

// Publisher is the downstream publisher.
func (e *Engine) Publisher() *downstream.Publisher { return e.publisher }

// Channels lists the channel names, sorted.
func (e *Engine) Channels() []string { return e.names }

// Run runs every part until ctx ends and returns when all have stopped.
// Connectors that are Runners (Amazon's queue reader) are run by the
// caller, with Sink as their sink.
func (e *Engine) Run(ctx context.Context) error {
	if ss := e.publisher.Streams(); len(ss) > 1 {
		e.log.Info().Strs("streams", ss).Msg("the downstream order stream is partitioned: its consumers read each of these streams")
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { e.loadFunctions(ctx); return nil })
	g.Go(func() error { return e.intake.Run(ctx, e.ingest.HandleBatch) })
	g.Go(func() error { return e.sweeper.Run(ctx) })
	g.Go(func() error { return e.signals.Run(ctx) })
	g.Go(func() error { return e.sched.Run(ctx) })
	g.Go(func() error { return e.gauges(ctx) })
	g.Go(func() error { return e.shipments.Run(ctx) })
	g.Go(func() error { return e.inbound.Run(ctx) })
	if e.forwarder != nil {
		g.Go(func() error { return e.forwarder.Run(ctx) })
	}
	for _, name := range e.names {
		ch := e.channels[name]
		if ch.pusher != nil {
			g.Go(func() error { return ch.pusher.Run(ctx) })
		}
		if ch.fetch != nil {
			g.Go(func() error { return ch.fetch.Run(ctx) })
		}
	}
	return g.Wait()
}

// loadFunctions loads the ledger's Redis Function libraries at start, so
// the first order line does not wait for it, and says once when Redis will
// not hold them (the ledger then runs the same code as scripts).
func (e *Engine) loadFunctions(ctx context.Context) {
	err := e.ledger.LoadFunctions(ctx)
	switch {
	case err == nil:
		e.log.Debug().Msg("the ledger's Redis Functions are loaded")
	case errors.Is(err, inventory.ErrNoFunctions):
		e.log.Info().Err(err).Msg("the ledger runs its order-line code as a script (EVALSHA): Redis 7 Functions would cost Redis less per line (README, Redis)")
	case ctx.Err() == nil:
		e.log.Warn().Err(err).Msg("loading the ledger's Redis Functions failed: the first order line loads them")
	}
}

// staleRepoll is the least time between two order polls that stale
// compares of one channel trigger: a burst of sales on a busy channel must
// not turn into back-to-back polls that eat the channel's API budget (the
// webhook of a sale normally arrives first anyway; the poll is the backstop).
const staleRepoll = 10 * time.Second

// onStale: a channel refused a compare-and-set because it sold something
// the ledger has not seen: catch up on its orders.
func (e *Engine) onStale(ch string) {
	e.staleMu.Lock()
	last := e.lastStalePoll[ch]
	now := time.Now()
	if now.Sub(last) < staleRepoll {
		e.staleMu.Unlock()
		return
	}
	e.lastStalePoll[ch] = now
	e.staleMu.Unlock()
	e.sched.Trigger(ch, "poll")
}

// TriggerReconcile asks for channel's reconciliation now.
func (e *Engine) TriggerReconcile(ch string) bool { return e.sched.Trigger(ch, "reconcile") }

// TriggerPoll asks for channel's order poll now.
func (e *Engine) TriggerPoll(ch string) bool { return e.sched.Trigger(ch, "poll") }
