package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/ingest"
	"github.com/shelfsync/shelfsync/sync/schedule"
	"github.com/shelfsync/shelfsync/sync/shipments"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// newShipments builds the shipments service (every channel; confirmations
// for connectors that are ShipmentConfirmers) and its inbound stream.
func (e *Engine) newShipments(reg prometheus.Registerer) {
	cfg := e.cfg
	chans := make([]shipments.Channel, 0, len(e.names))
	for _, name := range e.names {
		ch := e.channels[name]
		sc := shipments.Channel{Name: name}
		if c, ok := ch.conn.(connectors.ShipmentConfirmer); ok {
			sc.Confirmer = c
			sc.Carriers = shipments.Carriers(c.Carriers(), ch.cfg.Carriers)
		}
		chans = append(chans, sc)
	}
	locs := make([]string, len(cfg.Locations))
	for i, l := range cfg.Locations {
		locs[i] = l.ID
	}
	log := e.o.Logger.With().Str("component", "shipments").Logger()
	e.shipments = shipments.New(shipments.Options{
		Redis: e.o.Redis, Prefix: cfg.Redis.KeyPrefix, Ledger: e.ledger, Lines: e.catalog, Publisher: e.publisher, Channels: chans,
		Locations: locs, Durability: durability(cfg.Redis), MaxAttempts: cfg.Shipments.MaxAttempts,
		Retention: cfg.Shipments.Retention, Workers: cfg.Shipments.Workers, Claim: cfg.Shipments.Claim, Metrics: shipments.NewMetrics(reg), Logger: log,
	})
	e.inbound = e.shipments.NewInbound(e.o.Redis, stream.Options{
		Stream: shipments.StreamKey(cfg.Redis.KeyPrefix, cfg.Shipments.Stream), Consumer: e.leases.Holder(),
		MaxAttempts: cfg.Sync.MaxAttempts, ClaimIdle: cfg.Sync.ClaimIdle, Logger: log,
	})
}

// Shipments is the shipments service (admin API, CLI through the API).
func (e *Engine) Shipments() *shipments.Service { return e.shipments }

// Inbound is the inbound shipments stream consumer.
func (e *Engine) Inbound() *shipments.Inbound { return e.inbound }

// addReturnsJob schedules ch's return poll on its poll schedule, when its
// connector reads returns outside orders.
func (e *Engine) addReturnsJob(ch *channel) error {
	if _, ok := ch.conn.(connectors.ReturnPoller); !ok {
		return nil
	}
	return e.sched.Add(schedule.Job{Channel: ch.cfg.Name, Kind: "returns", Spec: ch.cfg.Poll,
		Run: func(ctx context.Context) error { return e.pollReturns(ctx, ch) }})
}

func (e *Engine) returnsCursorKey(ch string) string {
	return e.cfg.Redis.KeyPrefix + "cursor:returns:" + ch
}

// pollReturns puts the returns the channel recorded since the stored
// cursor (minus the overlap) on the intake as return events (topic
// ingest.TopicPolledReturn: ingest books them by the channel's returns
// policy, once per return, line and unit), and advances the cursor only
// after every page is taken in, as poll does for orders.
func (e *Engine) pollReturns(ctx context.Context, ch *channel) error {
	p := ch.conn.(connectors.ReturnPoller)
	since := time.Now().Add(-e.lookback(ch))
	var cursor time.Time
	if ms, err := e.o.Redis.Get(ctx, e.returnsCursorKey(ch.cfg.Name)).Int64(); err == nil {
		cursor = time.UnixMilli(ms)
		since = cursor.Add(-e.cfg.Sync.PollOverlap)
	} else if !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading returns cursor: %w", err)
	}
	n := 0
	through, err := p.PollReturns(ctx, since, func(ctx context.Context, page []connectors.Return) error {
		events := make([]connectors.Event, len(page))
		now := time.Now()
		for i := range page {
			r := page[i]
			events[i] = connectors.Event{Kind: connectors.EventReturn, Channel: ch.cfg.Name, Topic: ingest.TopicPolledReturn,
				ReceivedAt: now, OrderID: r.OrderID, Return: &r}
		}
		n += len(page)
		return e.intake.Put(ctx, events)
	})
	if err == nil && through.After(cursor) {
		err = e.o.Redis.Set(ctx, e.returnsCursorKey(ch.cfg.Name), through.UnixMilli(), 0).Err()
	}
	if rerr := e.board.Record(context.WithoutCancel(ctx), ch.cfg.Name, "returns", err, map[string]any{"returns_polled": n}); rerr != nil {
		e.log.Debug().Err(rerr).Msg("recording returns poll status")
	}
	if err != nil {
		return fmt.Errorf("polling returns of %s: %w", ch.cfg.Name, err)
	}
	return nil
}
