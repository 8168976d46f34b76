package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
	if err := e.addReturnsJob(ch); err != nil {
		return err
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

// lookback is how far back ch's first poll reaches: its poll_lookback
// (0: from now), else Options.InitialLookback.
func (e *Engine) lookback(ch *channel) time.Duration {
	if ch.cfg.PollLookback != nil {
		return *ch.cfg.PollLookback
	}
	return e.o.InitialLookback
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
	since := time.Now().Add(-e.lookback(ch))
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

// reconcileChunk is how many ledger SKUs one reconcile step takes, and
// how many listings one read asks the channel for.
const reconcileChunk = 100

// drift is what a reconcile found: listings the channel lists wrong
// although no push of them is due (see reconcileChunk), and by how many
// units. seen holds the listings already compared in this reconcile: a
// kit's listing is reached from each of its components, a mapped listing
// from its SKU and from its own name.
type drift struct {
	units, skus int64
	checked     int
	seen        map[string]bool
	// unmapped counts the levels above zero at channel locations no
	// shelfsync location maps to (per-location channels, perloc.go).
	unmapped     int64
	seenUnmapped map[string]bool
	// locations is the state of each channel location, read once at the
	// start (nil when the connector does not read them or the read
	// failed); disabledLevels counts the unmapped levels at disabled ones
	// (in unmapped too), mappedProblems the shelfsync locations mapped to
	// a disabled or missing channel location.
	locations      map[string]connectors.LocationState
	disabledLevels int64
	mappedProblems []connectors.ChannelLocation
}

// reconcile reads the channel's live quantities of every listing the
// ledger's SKUs stand behind on it (their own names, the listings mapped
// to them, the kits they are in: Propagator.Listed), compares them with
// what propagation would list, exports the drift and queues a correction
// for every listing that differs. Only the replica that ran the last
// reconcile of a channel exports its drift (dropStaleDrift).
func (e *Engine) reconcile(ctx context.Context, ch *channel) error {
	d := drift{seen: map[string]bool{}, seenUnmapped: map[string]bool{}}
	e.readChannelLocations(ctx, ch, &d)
	err := e.ledger.SKUs(ctx, func(page []string) error {
		for start := 0; start < len(page); start += reconcileChunk {
			if err := e.reconcileChunk(ctx, ch, page[start:min(start+reconcileChunk, len(page))], &d); err != nil {
				return err
			}
		}
		return nil
	})
	extra := map[string]any{"reconcile_checked": d.checked, "drift_units": strconv.FormatInt(d.units, 10), "drift_skus": d.skus}
	if err == nil {
		e.m.driftUnits.WithLabelValues(ch.cfg.Name).Set(float64(d.units))
		e.m.driftSKUs.WithLabelValues(ch.cfg.Name).Set(float64(d.skus))
		if ch.cfg.PerLocation() {
			e.m.unmappedLevels.WithLabelValues(ch.cfg.Name).Set(float64(d.unmapped))
			extra["unmapped_location_levels"] = d.unmapped
			e.exportLocationStates(ch.cfg.Name, &d, extra)
		}
		extra[reconcileByField] = e.leases.Holder()
	}
	if rerr := e.board.Record(context.WithoutCancel(ctx), ch.cfg.Name, "reconcile", err, extra); rerr != nil {
		e.log.Debug().Err(rerr).Msg("recording reconcile status")
	}
	if err != nil {
		return fmt.Errorf("reconciling %s: %w", ch.cfg.Name, err)
	}
	if d.skus > 0 {
		e.log.Info().Str("channel", ch.cfg.Name).Int64("drift_skus", d.skus).Int64("drift_units", d.units).Msg("reconcile found drift; corrections queued")
	}
	return nil
}

// reconcileChunk compares the listings a chunk of ledger SKUs stand
// behind on ch and queues a forced correction of each that drifted, per
// listing as propagation queues them. Drift is "still wrong after the
// pushes that were due": a listing with a push queued or on the wire
// (outbox.Pending) is not drift, its push is about to set it; and a
// listing is counted only when a second read, after the first found it
// wrong, finds it wrong again with no push due (a sale and its push may
// land between reading the channel and reading the ledger). The second
// read asks the channel first and the ledger after, so a push that lands
// between them is seen as pending or as already right, never undone.
func (e *Engine) reconcileChunk(ctx context.Context, ch *channel, chunk []string, d *drift) error {
	want, err := e.wanted(ctx, ch, chunk)
	if err != nil {
		return err
	}
	live, err := e.readLive(ctx, ch, d.unseen(want))
	if err != nil {
		return err
	}
	if err := e.unmappedLevels(ctx, ch, live, d); err != nil {
		return err
	}
	first, checked, err := e.differing(ctx, ch, live, want)
	d.checked += checked
	if err != nil || len(first) == 0 {
		return err
	}
	if live, err = e.readLive(ctx, ch, sortedKeys(first)); err != nil {
		return err
	}
	if want, err = e.wanted(ctx, ch, chunk); err != nil {
		return err
	}
	second, _, err := e.differing(ctx, ch, live, want)
	if err != nil {
		return err
	}
	return e.correct(ctx, ch, second, d)
}

// correct counts the drifted listings and queues a forced correction of
// each, after recording what the channel lists as its reported quantity.
func (e *Engine) correct(ctx context.Context, ch *channel, drifted map[string]listing, d *drift) error {
	fixes := make([]outbox.Want, 0, len(drifted))
	for _, id := range sortedKeys(drifted) {
		q := drifted[id]
		d.units += abs(q.live - q.want)
		d.skus++
		if err := ch.outbox.SetReported(ctx, id, q.live); err != nil {
			return err
		}
		fixes = append(fixes, outbox.Want{SKU: id, Quantity: q.want, Force: true})
	}
	if len(fixes) == 0 {
		return nil
	}
	if _, err := ch.outbox.Enqueue(ctx, fixes); err != nil {
		return err
	}
	if ch.pusher != nil {
		ch.pusher.Wake()
	}
	return nil
}

// unseen returns the listings of want not compared yet in this reconcile,
// sorted, and marks them seen.
func (d *drift) unseen(want map[string]int64) []string {
	ids := make([]string, 0, len(want))
	for _, id := range sortedKeys(want) {
		if !d.seen[id] {
			d.seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// wanted is what ch should list, by listing id, of everything skus stand
// behind: the same computation propagation queues (Propagator.Listed).
func (e *Engine) wanted(ctx context.Context, ch *channel, skus []string) (map[string]int64, error) {
	want, err := e.prop.ListedOn(ctx, ch.cfg.Name, skus...)
	if err != nil {
		return nil, fmt.Errorf("computing what %s should list: %w", ch.cfg.Name, err)
	}
	return want, nil
}

// readLive asks ch's read role what it lists of the listings ids,
// reconcileChunk at a time; a listing the channel does not have is left
// out.
func (e *Engine) readLive(ctx context.Context, ch *channel, ids []string) (map[string]int64, error) {
	if ch.cfg.PerLocation() {
		return e.readLiveLocations(ctx, ch, ids)
	}
	r := ch.conn.(connectors.QuantityReader)
	out := make(map[string]int64, len(ids))
	for start := 0; start < len(ids); start += reconcileChunk {
		live, err := r.ReadQuantities(ctx, ids[start:min(start+reconcileChunk, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("reading %s quantities: %w", ch.cfg.Name, err)
		}
		for _, lq := range live {
			out[lq.SKU] = lq.Quantity
		}
	}
	return out, nil
}

// listing is what a channel lists of a listing and what it should.
type listing struct{ live, want int64 }

// differing returns the listings live shows differently from want,
// leaving out those with a push queued or in flight; checked counts the
// listings compared.
func (e *Engine) differing(ctx context.Context, ch *channel, live, want map[string]int64) (map[string]listing, int, error) {
	out := map[string]listing{}
	checked := 0
	for id, q := range live {
		w, ok := want[id]
		if !ok {
			continue
		}
		checked++
		if q != w {
			out[id] = listing{live: q, want: w}
		}
	}
	pending, err := ch.outbox.Pending(ctx, sortedKeys(out))
	if err != nil {
		return nil, 0, err
	}
	for id := range pending {
		delete(out, id)
	}
	return out, checked, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
