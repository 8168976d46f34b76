package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/schedule"
)

// addJobs schedules ch's poll and reconcile. A job with no schedule can
// still be triggered (a stale push triggers a poll).
func (e *Engine) addJobs(ch *channel) error {
	if _, ok := ch.conn.(connectors.OrderPoller); ok {
		err := e.sched.Add(schedule.Job{Channel: ch.cfg.Name, Kind: "poll", Spec: ch.cfg.Poll,
			Run: func(ctx context.Context) error { return e.poll(ctx, ch) }})
		if err != nil {
			return err
		}
	}
	if _, ok := ch.conn.(connectors.QuantityReader); ok && ch.pusher != nil {
		err := e.sched.Add(schedule.Job{Channel: ch.cfg.Name, Kind: "reconcile", Spec: ch.cfg.Reconcile,
			Run: func(ctx context.Context) error { return e.reconcile(ctx, ch) }})
		if err != nil {
			return err
		}
	}
	return nil
}

// The ledger's own upkeep runs as a scheduled job under a lease like the
// channels' jobs, labelled with this channel name.
const (
	ledgerJobs           = "ledger"
	pruneOrderIndexEvery = "@every 1h"
)

// pruneOrderIndex deletes the order index of orders not written for
// ledger.line_ttl (the index keys carry no TTL of their own).
func (e *Engine) pruneOrderIndex(ctx context.Context) error {
	n, err := e.ledger.PruneOrderIndex(ctx)
	if err != nil {
		return fmt.Errorf("pruning the order index: %w", err)
	}
	e.log.Debug().Int("deleted", n).Msg("order index pruned")
	return nil
}

func (e *Engine) cursorKey(ch string) string { return e.cfg.Redis.KeyPrefix + "cursor:" + ch }

// poll pulls the channel's orders changed since the stored cursor (minus
// the overlap window) onto the intake, page by page, and advances the
// cursor only after every page is durably taken in. The cursor only ever
// moves forward: to the channel's own "as of" time of a complete poll
// (connectors.OrderPoller), never back, so a quiet channel's window stays
// the overlap. Orders whose state was already handled (the overlap re-reads
// them) are not taken in again: they are counted as skipped.
func (e *Engine) poll(ctx context.Context, ch *channel) error {
	p := ch.conn.(connectors.OrderPoller)
	since := time.Now().Add(-e.o.InitialLookback)
	var cursor time.Time
	if ms, err := e.o.Redis.Get(ctx, e.cursorKey(ch.cfg.Name)).Int64(); err == nil {
		cursor = time.UnixMilli(ms)
		since = cursor.Add(-e.cfg.Sync.PollOverlap)
	} else if !errors.Is(err, redis.Nil) {
		return fmt.Errorf("reading poll cursor: %w", err)
	}
	orders, skipped := 0, 0
	through, err := p.PollOrders(ctx, since, func(ctx context.Context, page []connectors.Order) error {
		fresh, err := e.unhandled(ctx, ch.cfg.Name, page)
		if err != nil {
			return err
		}
		skipped += len(page) - len(fresh)
		if len(fresh) == 0 {
			return nil
		}
		events := make([]connectors.Event, len(fresh))
		now := time.Now()
		for i, o := range fresh {
			events[i] = connectors.Event{Kind: connectors.EventOrder, Channel: ch.cfg.Name, Topic: "poll", ReceivedAt: now, Order: o}
		}
		orders += len(fresh)
		return e.intake.Put(ctx, events)
	})
	if through.Before(cursor) {
		through = cursor
	}
	if err == nil && through.After(cursor) {
		err = e.o.Redis.Set(ctx, e.cursorKey(ch.cfg.Name), through.UnixMilli(), 0).Err()
	}
	e.m.polledOrders.WithLabelValues(ch.cfg.Name).Add(float64(orders))
	e.m.pollSkipped.WithLabelValues(ch.cfg.Name).Add(float64(skipped))
	if rerr := e.board.Record(context.WithoutCancel(ctx), ch.cfg.Name, "poll", err,
		map[string]any{"poll_orders": orders, "poll_skipped": skipped, "poll_cursor": through.UTC().Format(time.RFC3339)}); rerr != nil {
		e.log.Debug().Err(rerr).Msg("recording poll status")
	}
	if err != nil {
		return fmt.Errorf("polling %s: %w", ch.cfg.Name, err)
	}
	return nil
}

// unhandled returns the orders of a polled page whose state was not
// handled yet (downstream.Publisher.Handled), with their channel set.
func (e *Engine) unhandled(ctx context.Context, channel string, page []connectors.Order) ([]*connectors.Order, error) {
	orders := make([]*connectors.Order, len(page))
	for i := range page {
		o := page[i]
		if o.Channel == "" {
			o.Channel = channel
		}
		orders[i] = &o
	}
	handled, err := e.publisher.Handled(ctx, orders)
	if err != nil {
		return nil, err
	}
	fresh := orders[:0]
	for i, o := range orders {
		if !handled[i] {
			fresh = append(fresh, o)
		}
	}
	return fresh, nil
}

// reconcileChunk is how many SKUs one reconcile read asks the channel for.
const reconcileChunk = 100

// reconcile reads the channel's live quantities of every SKU in the
// ledger, compares them with what the channel should list, exports the
// drift and queues a correction for every SKU that differs.
func (e *Engine) reconcile(ctx context.Context, ch *channel) error {
	r := ch.conn.(connectors.QuantityReader)
	pc, _ := e.prop.Channel(ch.cfg.Name)
	var units, skus int64
	var checked int
	err := e.ledger.SKUs(ctx, func(page []string) error {
		for start := 0; start < len(page); start += reconcileChunk {
			chunk := page[start:min(start+reconcileChunk, len(page))]
			live, err := r.ReadQuantities(ctx, chunk)
			if err != nil {
				return fmt.Errorf("reading %s quantities: %w", ch.cfg.Name, err)
			}
			stock, err := e.ledger.StockMany(ctx, chunk)
			if err != nil {
				return err
			}
			var fixes []outbox.Want
			for _, lq := range live {
				st, ok := stock[lq.SKU]
				if !ok {
					continue
				}
				checked++
				want := pc.ATS(st)
				if lq.Quantity == want {
					continue
				}
				units += abs(lq.Quantity - want)
				skus++
				if err := ch.outbox.SetReported(ctx, lq.SKU, lq.Quantity); err != nil {
					return err
				}
				fixes = append(fixes, outbox.Want{SKU: lq.SKU, Quantity: want, Force: true})
			}
			if _, err := ch.outbox.Enqueue(ctx, fixes); err != nil {
				return err
			}
			if len(fixes) > 0 && ch.pusher != nil {
				ch.pusher.Wake()
			}
		}
		return nil
	})
	if err == nil {
		e.m.driftUnits.WithLabelValues(ch.cfg.Name).Set(float64(units))
		e.m.driftSKUs.WithLabelValues(ch.cfg.Name).Set(float64(skus))
	}
	extra := map[string]any{"reconcile_checked": checked, "drift_units": strconv.FormatInt(units, 10), "drift_skus": skus}
	if rerr := e.board.Record(context.WithoutCancel(ctx), ch.cfg.Name, "reconcile", err, extra); rerr != nil {
		e.log.Debug().Err(rerr).Msg("recording reconcile status")
	}
	if err != nil {
		return fmt.Errorf("reconciling %s: %w", ch.cfg.Name, err)
	}
	if skus > 0 {
		e.log.Info().Str("channel", ch.cfg.Name).Int64("drift_skus", skus).Int64("drift_units", units).Msg("reconcile found drift; corrections queued")
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
