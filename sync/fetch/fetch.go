// Package fetch resolves "order changed, fetch it" events, one durable
// queue per channel, outside the shared intake workers: the marketplace
// reads they need (Amazon's getOrder at 0.5 requests a second, eBay's
// getOrder) are paced by that channel's own limiter and concurrency, so one
// channel's quota can never delay another channel's sales.
//
// A queue is an intake (a Redis Stream with a consumer group, reclaim,
// attempts and dead letters) named "fetch:<channel>", in Coalesce mode:
// while a fetch of an order waits, further notifications of that order
// cost nothing; one that arrives after the fetch started queues a new one,
// so no later state is lost. A fetched order goes onto the main intake as
// a whole-order event, and only then is the fetch acknowledged: a crash
// anywhere leaves the fetch pending, to be done again.
//
// It never applies anything to the ledger itself.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/intake"
)

// Options configures one channel's queue.
type Options struct {
	Channel string
	Conn    connectors.OrderFetcher
	// Sink takes the fetched orders (the main intake).
	Sink connectors.EventSink
	// Concurrency is how many fetches of this channel run at once; default 2.
	Concurrency int
	// Queue configures the underlying intake (Prefix, Consumer,
	// MaxAttempts, ClaimIdle, DedupTTL, Logger); Name, Coalesce and
	// Workers are set here.
	Queue   intake.Options
	Metrics *Metrics
	Logger  zerolog.Logger
}

// Queue is one channel's fetch queue.
type Queue struct {
	o  Options
	in *intake.Intake
}

var _ connectors.EventSink = (*Queue)(nil)

// New builds a channel's fetch queue. No I/O.
func New(rdb redis.UniversalClient, o Options) *Queue {
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	qo := o.Queue
	qo.Name = "fetch:" + o.Channel
	qo.Coalesce = true
	qo.Workers = 1 // one reader; the handler fans out to Concurrency fetches
	if qo.Metrics == nil {
		qo.Metrics = intake.NewMetrics(nil)
	}
	return &Queue{o: o, in: intake.New(rdb, qo)}
}

// Put queues events that name an order to fetch (EventOrderChanged, or
// EventReturn whose order carries its returns). Each is keyed by its order:
// while one fetch of an order waits, another is not queued.
func (q *Queue) Put(ctx context.Context, events []connectors.Event) error {
	keyed := make([]connectors.Event, len(events))
	for i, e := range events {
		id := orderOf(e)
		if id == "" {
			return fmt.Errorf("fetch %s: event without an order id", q.o.Channel)
		}
		e.ID = "order:" + id
		e.Channel = q.o.Channel
		keyed[i] = e
	}
	if err := q.in.Put(ctx, keyed); err != nil {
		return fmt.Errorf("queueing order fetches of %s: %w", q.o.Channel, err)
	}
	return nil
}

// Run fetches until ctx ends.
func (q *Queue) Run(ctx context.Context) error { return q.in.Run(ctx, q.handle) }

// Backlog is how many fetches are queued or in progress.
func (q *Queue) Backlog(ctx context.Context) (int64, error) { return q.in.Backlog(ctx) }

func orderOf(e connectors.Event) string {
	if e.Kind == connectors.EventReturn && e.Return != nil {
		return e.Return.OrderID
	}
	return e.OrderID
}

// handle fetches the orders of a batch, Concurrency at a time, and puts
// them on the main intake in one call.
func (q *Queue) handle(ctx context.Context, events []connectors.Event) []error {
	errs := make([]error, len(events))
	orders := make([]*connectors.Order, len(events))
	sem := make(chan struct{}, q.o.Concurrency)
	var wg sync.WaitGroup
	for i, e := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			orders[i], errs[i] = q.fetch(ctx, e)
		}()
	}
	wg.Wait()
	var out []connectors.Event
	var idx []int
	for i, o := range orders {
		if o == nil || errs[i] != nil {
			continue
		}
		if o.Channel == "" {
			o.Channel = q.o.Channel
		}
		e := events[i]
		out = append(out, connectors.Event{Kind: connectors.EventOrder, Channel: q.o.Channel, Topic: e.Topic, ReceivedAt: e.ReceivedAt, Order: o})
		idx = append(idx, i)
	}
	if err := q.o.Sink.Put(ctx, out); err != nil {
		for _, i := range idx {
			errs[i] = fmt.Errorf("putting fetched order on the intake: %w", err)
		}
	}
	return errs
}

// fetch reads one order; (nil, nil) when it can never be read (counted).
func (q *Queue) fetch(ctx context.Context, e connectors.Event) (*connectors.Order, error) {
	id := orderOf(e)
	o, err := q.o.Conn.FetchOrder(ctx, id)
	switch {
	case errors.Is(err, connectors.ErrNotFound):
		q.o.Metrics.Fetches.WithLabelValues(q.o.Channel, "not_found").Inc()
		q.o.Logger.Warn().Str("order", id).Msg("order to fetch not found on the channel; dropped")
		return nil, nil
	case err != nil:
		q.o.Metrics.Fetches.WithLabelValues(q.o.Channel, "error").Inc()
		return nil, fmt.Errorf("fetching order %s/%s: %w", q.o.Channel, id, err)
	}
	q.o.Metrics.Fetches.WithLabelValues(q.o.Channel, "ok").Inc()
	return o, nil
}

// Metrics of the fetch queues.
type Metrics struct {
	Fetches *prometheus.CounterVec // channel, outcome
}

// Init exports channel's series at 0, every outcome.
func (m *Metrics) Init(channel string) {
	for _, o := range []string{"ok", "not_found", "error"} {
		m.Fetches.WithLabelValues(channel, o)
	}
}

// NewMetrics registers the fetch queues' metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_order_fetches_total",
			Help: "Orders read from a channel for \"order changed\" events, by outcome: ok, not_found (dropped), error (retried).",
		}, []string{"channel", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.Fetches)
	}
	return m
}
