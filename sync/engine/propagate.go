package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/ingest"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Propagate recomputes the listed quantity of skus on every channel from
// the ledger and the channel's allocation rules, and queues it in the
// channel's outbox (latest value wins; unchanged values are not queued).
// cause is when the change arrived, for the latency metric.
func (e *Engine) Propagate(ctx context.Context, skus []string, cause time.Time) error {
	return e.PropagateSales(ctx, skus, cause, nil)
}

// PropagateSales is Propagate after new sales: sold gives, per channel and
// SKU, the units the channel's own orders newly reserved. A channel that
// takes its sales off its own listing and pushes by compare-and-set
// (connectors.SaleEchoer) then has its next push compare from that much
// less, so the push compares right.
func (e *Engine) PropagateSales(ctx context.Context, skus []string, cause time.Time, sold ingest.Sold) error {
	if len(skus) == 0 || len(e.names) == 0 {
		return nil
	}
	stock, err := e.ledger.StockMany(ctx, skus)
	if err != nil {
		return fmt.Errorf("reading stock to propagate: %w", err)
	}
	var batches []outbox.Batch
	var pushers []*channel
	for _, name := range e.names {
		ch := e.channels[name]
		if ch.pusher == nil {
			continue
		}
		wants := make([]outbox.Want, 0, len(skus))
		for _, sku := range skus {
			st, ok := stock[sku]
			if !ok {
				continue // not in the ledger: nothing to list
			}
			w := outbox.Want{SKU: sku, Quantity: e.ats(ch, st), Cause: cause}
			if ch.echoes {
				w.Echo = sold[name][sku]
			}
			wants = append(wants, w)
		}
		batches = append(batches, outbox.Batch{Outbox: ch.outbox, Wants: wants})
		pushers = append(pushers, ch)
	}
	queued, err := outbox.EnqueueAll(ctx, e.o.Redis, batches)
	if err != nil {
		return err
	}
	for i, n := range queued {
		if n > 0 {
			pushers[i].pusher.Wake()
		}
	}
	return nil
}

// ats is the quantity channel ch lists for a SKU with stock st.
func (e *Engine) ats(ch *channel, st inventory.SKUStock) int64 {
	return inventory.ATS(st.Available(), ch.cfg.Locations, ch.cfg.Allocation)
}

// ATS returns the quantity each channel lists for sku now, by channel name.
func (e *Engine) ATS(ctx context.Context, sku string) (inventory.SKUStock, map[string]int64, error) {
	st, err := e.ledger.Stock(ctx, sku)
	if err != nil {
		return st, nil, err
	}
	out := make(map[string]int64, len(e.names))
	for _, name := range e.names {
		out[name] = e.ats(e.channels[name], st)
	}
	return st, out, nil
}

// sweepEvery is how often the intent sweeper looks. An intent is handled
// only once it was seen unchanged by two sweeps: by then the write it
// announced has happened (the mark is sent just before the ledger script),
// and the ingest's own propagation has normally made it redundant.
const sweepEvery = time.Second

// sweepIntents is the crash-safe half of the hand-off from the ledger to
// the outboxes: the ledger marks a push intent for every SKU before it
// changes it; here every intent older than a sweep is applied (parked
// lines of a SKU that now exists, then propagation) and cleared. A crash
// between a ledger write and its propagation leaves the intent, so the
// push is never lost; writes by other tools (`shelfsync stock`) reach the
// channels the same way.
func (e *Engine) sweepIntents(ctx context.Context) error {
	seen := map[string]float64{}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next := map[string]float64{}
		for ctx.Err() == nil {
			intents, err := e.ledger.PendingIntents(ctx, 1000)
			if err != nil {
				e.log.Warn().Err(err).Msg("reading push intents")
				break
			}
			var ripe []inventory.Intent
			for _, in := range intents {
				if s, ok := seen[in.SKU]; ok && s == in.Seq {
					ripe = append(ripe, in)
				} else {
					next[in.SKU] = in.Seq
				}
			}
			if len(ripe) == 0 {
				break
			}
			if err := e.applyIntents(ctx, ripe); err != nil {
				e.log.Warn().Err(err).Msg("applying push intents; will retry")
				break
			}
			if len(intents) < 1000 {
				break
			}
		}
		seen = next
	}
}

func (e *Engine) applyIntents(ctx context.Context, ripe []inventory.Intent) error {
	skus := make([]string, len(ripe))
	for i, in := range ripe {
		skus[i] = in.SKU
	}
	if _, err := e.ingest.Unpark(ctx, skus); err != nil {
		return err
	}
	if err := e.Propagate(ctx, skus, time.Now()); err != nil {
		return err
	}
	for _, in := range ripe {
		if err := e.ledger.ClearIntent(ctx, in); err != nil {
			return err
		}
	}
	e.m.intentsSwept.Add(float64(len(ripe)))
	return nil
}
