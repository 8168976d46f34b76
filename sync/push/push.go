// Package push drains a channel's outbox into the channel: one pusher per
// channel (across every replica: it holds the channel's push lease), taking
// up to the channel's batch of due items, urgent ones first, after a short
// coalescing window; each item's own result is recorded, failed items are
// retried with backoff and parked after a bounded number of attempts
// without holding up the rest, and a stale compare-and-set (the channel
// sold meanwhile) triggers an order poll of that channel before the item is
// pushed again.
//
// The pusher never computes quantities: it pushes what the outbox wants.
package push

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/lease"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/shadow"
	"github.com/shelfsync/shelfsync/sync/status"
)

// Options configures a Pusher.
type Options struct {
	Channel     string
	Conn        connectors.QuantityPusher
	Outbox      *outbox.Outbox
	Leases      *lease.Manager
	LeaseTTL    time.Duration
	BatchSize   int           // 0: the connector's MaxBatch
	Window      time.Duration // coalescing window
	MaxAttempts int
	// OnStale is called (non-blocking) when the channel refused a
	// compare-and-set: the caller polls the channel's orders.
	OnStale func(channel string)
	Status  *status.Board
	Metrics *Metrics
	Logger  zerolog.Logger
	// Shadow, when set, is shadow mode (sync.mode: shadow): nothing is
	// written to the channel; each due item is recorded here and held in
	// the outbox (outbox.Release makes it due again in live mode).
	Shadow *shadow.Recorder
	// PerLocation: the channel is pushed per location (stock_mode
	// per_location): each item's key is outbox.LocationKey (or
	// UnmappedKey), split into the update's SKU and location.
	PerLocation bool
}

// Pusher pushes one channel's outbox.
type Pusher struct {
	o    Options
	wake chan struct{}
	// wait is the coalescing wait (connectors.WaitContext; tests stand
	// in for the clock with it).
	wait func(context.Context, time.Duration) error
}

// New builds a Pusher. No I/O.
func New(o Options) *Pusher {
	if o.BatchSize <= 0 || o.BatchSize > o.Conn.MaxBatch() {
		o.BatchSize = o.Conn.MaxBatch()
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Pusher{o: o, wake: make(chan struct{}, 1), wait: connectors.WaitContext}
}

// Wake tells the pusher that its outbox has new items. It never blocks.
func (p *Pusher) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run pushes until ctx ends. Without the channel's push lease it waits and
// tries again, so another replica's pusher works meanwhile.
func (p *Pusher) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := p.o.Leases.HoldKeys(ctx, p.o.Outbox.LeaseKeys(), p.o.LeaseTTL, p.loop)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, lease.ErrHeld):
			p.leaseHeld(0)
			// Try again when the holder's lease would expire (a dead
			// holder's does then), at the latest after a renewal period.
			_ = connectors.WaitContext(ctx, lease.RetryAfter(err, p.o.LeaseTTL/3))
		case err != nil:
			p.leaseHeld(0)
			p.o.Logger.Warn().Err(err).Msg("pusher stopped; restarting")
			_ = connectors.WaitContext(ctx, time.Second)
		}
	}
	return nil
}

// idle is the longest the loop sleeps without a wake: another replica's
// ingest may have filled the outbox.
const idle = 250 * time.Millisecond

func (p *Pusher) loop(ctx context.Context, l *lease.Lease) error {
	p.leaseHeld(1)
	defer p.dropHolderGauges()
	if err := p.migrate(ctx, true); err != nil {
		return err
	}
	if err := p.releaseHeld(ctx); err != nil {
		return err
	}
	lastStats := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastStats) > time.Second {
			p.recordStats(ctx)
			if err := p.migrate(ctx, false); err != nil {
				return err
			}
			lastStats = time.Now()
		}
		items, next, ok, err := p.o.Outbox.Poll(ctx, p.o.BatchSize, time.Now())
		if err != nil {
			return err
		}
		if len(items) == 0 {
			p.sleep(ctx, next, ok)
			continue
		}
		if items, err = p.coalesce(ctx, items); err != nil || ctx.Err() != nil {
			return err
		}
		if len(items) == 0 {
			continue
		}
		if err := p.send(ctx, l.Value(), items); err != nil {
			return err
		}
	}
	return nil
}

// coalesce: a batch that is not full waits until its oldest new change
// is a window old, then is taken again, so a burst of sales costs one call
// and no change is held back longer than the window.
//
// With several outbox partitions that is not enough: one enqueue (a
// propagation of many SKUs) writes each partition by a script of its own,
// so a poll between them sees only part of it; and its changes arrived
// before the propagation read the ledger, often more than a window before
// (the sweeper's 1,000 SKUs), so that part would go at once and the rest
// cost one more call. So a batch that is not full looks again a whole
// window after this look (not after its oldest change's arrival, so even
// when that window is over), and goes on looking, a window at a
// time (at most settleRounds), while the new look finds more items of
// an enqueue it had items of (one that was still landing; see landing).
// A batch holding an urgent item (a drop to zero or a decrease: it
// closes an oversell) is never held for that: it waits only for its own
// window, as with one partition. An error only from the outbox; ctx
// ending returns the items as they are.
func (p *Pusher) coalesce(ctx context.Context, items []outbox.Item) ([]outbox.Item, error) {
	if len(items) >= p.o.BatchSize || p.o.Window <= 0 {
		return items, nil
	}
	oldest, fresh, urgent := scanBatch(items)
	var wait time.Duration
	if !oldest.IsZero() {
		wait = p.o.Window - time.Since(oldest)
	}
	settle := fresh && !urgent && p.o.Outbox.Partitions() > 1
	if settle {
		wait = p.o.Window
	}
	if wait <= 0 {
		return items, nil
	}
	for round := 0; ; round++ {
		if err := p.wait(ctx, min(wait, p.o.Window)); err != nil {
			return items, nil
		}
		more, err := p.o.Outbox.Due(ctx, p.o.BatchSize, time.Now())
		if err != nil || !settle || len(more) >= p.o.BatchSize || round+1 >= settleRounds || !landing(items, more) {
			return more, err
		}
		items, wait = more, p.o.Window
	}
}

// scanBatch reads what coalesce needs of a batch: the arrival of its
// oldest change not tried yet (zero: none known), whether it holds a
// change not tried yet (its enqueue may still be landing), and whether it
// holds an urgent item (a drop is never held for an enqueue still
// landing).
func scanBatch(items []outbox.Item) (oldest time.Time, fresh, urgent bool) {
	for _, it := range items {
		fresh = fresh || it.Attempts == 0
		urgent = urgent || it.Urgent
		if it.Attempts == 0 && !it.Cause.IsZero() && (oldest.IsZero() || it.Cause.Before(oldest)) {
			oldest = it.Cause
		}
	}
	return oldest, fresh, urgent
}

// settleRounds bounds how many windows a batch that is not full waits for
// an enqueue still landing in the outbox's partitions.
const settleRounds = 8

// landing says whether now holds a change not tried yet that was not in
// before and came from an enqueue that before has changes of: that
// enqueue was still writing its partitions at the first look. It compares
// enqueue ids (outbox.Item.Enqueue), not due times: those are each
// enqueuer's own clock, so a replica whose clock is behind would make
// every change it queues look older than the pusher's newest and hold a
// batch all settleRounds; a later enqueue (a steady trickle) is never
// taken for one still landing.
func landing(before, now []outbox.Item) bool {
	seen := make(map[string]bool, len(before))
	enqueues := make(map[string]bool)
	for _, it := range before {
		seen[it.SKU] = true
		if e := it.Enqueue(); it.Attempts == 0 && e != "" {
			enqueues[e] = true
		}
	}
	for _, it := range now {
		if !seen[it.SKU] && it.Attempts == 0 && enqueues[it.Enqueue()] {
			return true
		}
	}
	return false
}

// releaseHeld, in live mode, makes what shadow mode held due (a channel
// switched to live pushes what is due).
func (p *Pusher) releaseHeld(ctx context.Context) error {
	if p.o.Shadow != nil {
		return nil
	}
	n, err := p.o.Outbox.Release(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		p.o.Logger.Info().Int("items", n).Msg("items held in shadow mode are due")
	}
	return nil
}

// migrate moves into the outbox's partitions what another layout of it
// still holds (redis.outbox_partitions changed, or the outbox of before
// partitions): when the lease is taken, everything the recorded layouts
// hold, then this layout is recorded (outbox.Relayout); else what a
// replica still on another layout queued meanwhile (a rolling change:
// outbox.MigrateLeftover, one read per partition of the other layouts).
func (p *Pusher) migrate(ctx context.Context, always bool) error {
	var n int
	var err error
	if always {
		n, err = p.o.Outbox.Relayout(ctx)
	} else {
		n, err = p.o.Outbox.MigrateLeftover(ctx)
	}
	if err != nil {
		return err
	}
	if n > 0 {
		p.o.Logger.Info().Int("items", n).Int("partitions", p.o.Outbox.Partitions()).
			Msg("moved items from another outbox layout into its partitions")
	}
	return nil
}

// sleep waits for a wake, at most until next (when ok: the earliest
// queued item falls due) and at most idle.
func (p *Pusher) sleep(ctx context.Context, next time.Time, ok bool) {
	d := idle
	if ok {
		if w := time.Until(next); w < d {
			d = max(w, 5*time.Millisecond)
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-p.wake:
	case <-t.C:
	}
}

// send pushes the batch, or in shadow mode records and holds it. A
// connectors.PushPacer's small batch goes in chunks, each recorded as it
// returns (see chunks).
func (p *Pusher) send(ctx context.Context, fence string, items []outbox.Item) error {
	if p.o.Shadow != nil {
		return p.hold(ctx, fence, items)
	}
	for _, chunk := range p.chunks(items) {
		if err := p.push(ctx, fence, chunk); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil // the rest stays due
		}
	}
	return nil
}

// chunks splits a batch that a connectors.PushPacer sends one paced call
// per item into the chunks it takes at once: what the channel accepted
// first is recorded (and counted) then, not after the whole batch; the
// price is one more outbox round trip per chunk.
func (p *Pusher) chunks(items []outbox.Item) [][]outbox.Item {
	pacer, ok := p.o.Conn.(connectors.PushPacer)
	if !ok {
		return [][]outbox.Item{items}
	}
	size, threshold := pacer.PushChunks()
	if size <= 0 || len(items) >= threshold {
		return [][]outbox.Item{items}
	}
	var out [][]outbox.Item
	for len(items) > size {
		out = append(out, items[:size])
		items = items[size:]
	}
	return append(out, items)
}

// push sends one batch and records its outcomes under the lease value
// fence. It returns an error only when the lease was lost (the outcomes
// were not recorded: the new holder pushes the items again).
func (p *Pusher) push(ctx context.Context, fence string, items []outbox.Item) error {
	ch := p.o.Channel
	updates := make([]connectors.QuantityUpdate, len(items))
	for i, it := range items {
		updates[i] = connectors.QuantityUpdate{SKU: it.SKU, Quantity: it.Quantity, Previous: it.Previous, Attempt: it.Attempt}
		if p.o.PerLocation {
			updates[i].SKU, updates[i].Location, updates[i].ChannelLocation = outbox.SplitLocationKey(it.SKU)
		}
	}
	p.o.Metrics.Calls.WithLabelValues(ch).Inc()
	p.o.Metrics.BatchSize.WithLabelValues(ch).Observe(float64(len(items)))
	results, err := p.o.Conn.PushQuantities(ctx, updates)
	if err == nil && len(results) != len(items) {
		err = errors.New("connector returned a result count that does not match the batch")
	}
	now := time.Now()
	outcomes := make([]outbox.Outcome, len(items))
	stale := false
	for i, it := range items {
		r := connectors.PushResult{SKU: it.SKU, Status: connectors.PushRetry}
		if err != nil {
			r.Reason = err.Error()
		} else {
			r = results[i]
		}
		p.o.Metrics.Items.WithLabelValues(ch, string(r.Status)).Inc()
		outcomes[i] = p.outcome(it, r, now)
		stale = stale || outcomes[i].Stale
	}
	if err := p.record(ctx, fence, outcomes, now); err != nil {
		return err
	}
	if p.o.Status != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if serr := p.o.Status.Record(sctx, ch, "push", err, map[string]any{"push_items": len(items)}); serr != nil {
			p.o.Logger.Debug().Err(serr).Msg("recording push status")
		}
		cancel()
	}
	if err != nil {
		p.o.Logger.Warn().Err(err).Int("items", len(items)).Msg("push failed; items will be retried")
	}
	if stale && p.o.OnStale != nil {
		p.o.OnStale(ch)
	}
	return nil
}

// hold is push in shadow mode: the items are recorded as would-be pushes
// and held in the outbox; the connector is not called. It returns an
// error only when the lease was lost.
func (p *Pusher) hold(ctx context.Context, fence string, items []outbox.Item) error {
	now := time.Now()
	entries := make([]shadow.Entry, len(items))
	outcomes := make([]outbox.Outcome, len(items))
	for i, it := range items {
		entries[i] = shadow.Entry{SKU: it.SKU, Quantity: it.Quantity, At: now}
		outcomes[i] = outbox.Outcome{SKU: it.SKU, Quantity: it.Quantity, Held: true, RetryAt: now}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.o.Shadow.Record(cctx, p.o.Channel, entries); err != nil {
		// Not held: the items stay due and are recorded on the next turn.
		p.o.Logger.Warn().Err(err).Int("items", len(items)).Msg("recording shadow pushes")
		_ = connectors.WaitContext(ctx, time.Second)
		return nil
	}
	p.o.Metrics.Shadowed.WithLabelValues(p.o.Channel).Add(float64(len(items)))
	if _, err := p.o.Outbox.Complete(cctx, fence, outcomes); err != nil {
		if errors.Is(err, outbox.ErrFenced) {
			return err
		}
		p.o.Logger.Error().Err(err).Msg("holding shadow pushes; they will be recorded again")
	}
	return nil
}

// outcome decides what one item's result means for the outbox.
func (p *Pusher) outcome(it outbox.Item, r connectors.PushResult, now time.Time) outbox.Outcome {
	oc := outbox.Outcome{SKU: it.SKU, Quantity: it.Quantity}
	switch r.Status {
	case connectors.PushAccepted:
		oc.Accepted = true
	case connectors.PushStale:
		oc.Reported = r.ChannelQuantity
		if r.ChannelQuantity != nil && *r.ChannelQuantity == it.Quantity {
			// The channel sold the units we were about to take off: it
			// already lists what we want.
			oc.Accepted = true
			break
		}
		// The channel moved since our last push: its own sales (whose
		// webhooks may still be on their way) or an edit. Give the ledger
		// staleHold to catch up (a new value makes the item due at once),
		// then push against the channel's figure; an order poll is
		// triggered as the backstop for a missed webhook.
		oc.Stale = true
		oc.Reason = "stale compare: " + r.Reason
		oc.RetryAt = now.Add(staleHold)
	case connectors.PushUnknownSKU:
		oc.Park, oc.Reason = true, "unknown on channel: "+r.Reason
	case connectors.PushFailed:
		// The channel refused this value: retry a few times (it may be a
		// passing state on the channel's side), then park it until a
		// different value is wanted or a reconcile forces it.
		oc.Reason = string(r.Status) + ": " + r.Reason
		if it.Attempts+1 >= int64(p.o.MaxAttempts) {
			oc.Park = true
		} else {
			oc.RetryAt = now.Add(p.backoff(it.Attempts))
		}
	default: // retry, or the whole call failed: never parked, backoff capped
		oc.Reason = string(r.Status) + ": " + r.Reason
		oc.RetryAt = now.Add(p.backoff(it.Attempts))
	}
	if oc.Park {
		p.o.Metrics.Parked.WithLabelValues(p.o.Channel).Inc()
		p.o.Logger.Warn().Str("sku", it.SKU).Str("reason", oc.Reason).Msg("push item parked")
	}
	return oc
}

// record completes the outcomes in the outbox, even if ctx ended mid-push
// (what the channel accepted must not be pushed again), and observes the
// latency of what was accepted. Only a lost lease is an error.
func (p *Pusher) record(ctx context.Context, fence string, outcomes []outbox.Outcome, now time.Time) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	causes, err := p.o.Outbox.Complete(cctx, fence, outcomes)
	if errors.Is(err, outbox.ErrFenced) {
		return err
	}
	if err != nil {
		p.o.Logger.Error().Err(err).Msg("recording push results; the items will be pushed again")
	}
	for _, c := range causes {
		if !c.IsZero() {
			p.o.Metrics.Propagation.WithLabelValues(p.o.Channel).Observe(now.Sub(c).Seconds())
		}
	}
	return nil
}

// staleHold is how long an item refused by a stale compare waits for the
// ledger to catch up before it is pushed against the channel's figure: a
// sale's webhook normally arrives and applies well within it. Stale
// retries are not failures: they never park an item.
const staleHold = time.Second

// backoff after attempt n (0-based): 1s·2^n with jitter, at most 5 minutes.
func (p *Pusher) backoff(n int64) time.Duration {
	d := time.Second << min(n, 8)
	d = min(d, 5*time.Minute)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (p *Pusher) recordStats(ctx context.Context) {
	s, err := p.o.Outbox.Stats(ctx)
	if err != nil {
		return
	}
	ch := p.o.Channel
	p.o.Metrics.Backlog.WithLabelValues(ch).Set(float64(s.Backlog))
	p.o.Metrics.ParkedItems.WithLabelValues(ch).Set(float64(s.Parked))
	p.o.Metrics.OldestAge.WithLabelValues(ch).Set(s.OldestAgeSec)
}

// dropHolderGauges runs when the pusher stops holding the lease: the
// outbox gauges only the holder updates (backlog, oldest age, parked items)
// lose their series here, so a replica that lost the lease does not go on
// exporting the value it last saw while the new holder exports the truth.
func (p *Pusher) dropHolderGauges() {
	ch := p.o.Channel
	p.leaseHeld(0)
	p.o.Metrics.Backlog.DeleteLabelValues(ch)
	p.o.Metrics.ParkedItems.DeleteLabelValues(ch)
	p.o.Metrics.OldestAge.DeleteLabelValues(ch)
}

// leaseHeld sets the push lease's series of Metrics.LeaseHeld, if any.
func (p *Pusher) leaseHeld(v float64) {
	if p.o.Metrics.LeaseHeld != nil {
		p.o.Metrics.LeaseHeld.WithLabelValues("push:" + p.o.Channel).Set(v)
	}
}

// Metrics of the pushers. Backlog, ParkedItems and OldestAge exist only on
// the replica holding the channel's push lease.
type Metrics struct {
	Calls       *prometheus.CounterVec   // channel
	Items       *prometheus.CounterVec   // channel, outcome
	BatchSize   *prometheus.HistogramVec // channel
	Propagation *prometheus.HistogramVec // channel
	Parked      *prometheus.CounterVec   // channel
	Shadowed    *prometheus.CounterVec   // channel
	ParkedItems *prometheus.GaugeVec     // channel
	Backlog     *prometheus.GaugeVec     // channel
	OldestAge   *prometheus.GaugeVec     // channel
	// LeaseHeld is shelfsync_lease_held (label lease, "push:<channel>"),
	// which the engine owns with its other leases' series and shares here;
	// nil: not exported. NewMetrics leaves it nil.
	LeaseHeld *prometheus.GaugeVec
}

// Init exports channel's counters and histograms at 0 before the first
// push (every outcome), so the first parked item is an increase rules see.
// The outbox gauges are left to the lease holder.
func (m *Metrics) Init(channel string) {
	m.Calls.WithLabelValues(channel)
	for _, s := range []connectors.PushStatus{connectors.PushAccepted, connectors.PushStale, connectors.PushRetry, connectors.PushFailed, connectors.PushUnknownSKU} {
		m.Items.WithLabelValues(channel, string(s))
	}
	m.BatchSize.WithLabelValues(channel)
	m.Propagation.WithLabelValues(channel)
	m.Parked.WithLabelValues(channel)
	m.Shadowed.WithLabelValues(channel)
}

// NewMetrics registers the push metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_push_batches_total", Help: "Push calls (batches) made to a channel's connector.",
		}, []string{"channel"}),
		Items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_push_items_total", Help: "Pushed quantities by the channel's per-item outcome (accepted, stale, retry, failed, unknown_sku).",
		}, []string{"channel", "outcome"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shelfsync_push_batch_items", Help: "Items per push batch.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000, 25000},
		}, []string{"channel"}),
		Propagation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shelfsync_propagation_seconds",
			Help:    "From the arrival of the change (a sale's webhook or poll) to the channel accepting the new quantity.",
			Buckets: []float64{.025, .05, .1, .15, .2, .3, .4, .5, .75, 1, 1.5, 2, 3, 5, 10, 20, 30, 45, 60, 90, 120, 300},
		}, []string{"channel"}),
		Parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_push_parked_total", Help: "Push items parked after their last attempt or as unknown on the channel.",
		}, []string{"channel"}),
		Shadowed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_push_shadowed_total", Help: "Quantities recorded instead of pushed (sync mode shadow).",
		}, []string{"channel"}),
		ParkedItems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_push_parked_items", Help: "Push items parked now.",
		}, []string{"channel"}),
		Backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_outbox_backlog", Help: "SKUs waiting in a channel's outbox.",
		}, []string{"channel"}),
		OldestAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_outbox_oldest_age_seconds", Help: "Age of the oldest change waiting in a channel's outbox.",
		}, []string{"channel"}),
	}
	if reg != nil {
		reg.MustRegister(m.Calls, m.Items, m.BatchSize, m.Propagation, m.Parked, m.Shadowed, m.ParkedItems, m.Backlog, m.OldestAge)
	}
	return m
}
