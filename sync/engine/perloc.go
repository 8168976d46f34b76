package engine

import (
	"context"
	"fmt"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Reconcile of a per-location channel (stock_mode per_location): what
// propagation wants is keyed "<listing>@<location>" (outbox.LocationKey);
// the channel's read role gives every channel location's level of each
// listing, those at mapped locations compared under the same keys, those
// at channel locations no shelfsync location maps to keyed
// outbox.UnmappedKey. The channel sells the sum of them all, so a level
// above zero at an unmapped location is sold on top of what shelfsync
// lists: reconcile counts it (shelfsync_unmapped_location_levels), logs
// it, and, with zero_unmapped_locations, queues a forced zero of it
// (compared against the level it read).
//
// Where the connector reads its channel's locations
// (connectors.LocationReader: eBay's inventory locations), reconcile reads
// them once, first: a level at a channel location the channel reports
// disabled is counted and logged as the others (the channel still sells
// it) and also in shelfsync_disabled_location_levels, and is never queued
// for zeroing (the channel refuses stock changes there: each cycle would
// make a failed entry and a call), and a zero queued before the location
// was disabled is dropped from the outbox (outbox.Withdraw); a shelfsync location mapped to a
// disabled or missing channel location is logged once per reconcile and
// exported (shelfsync_mapped_location_problems), since every push of it
// will be refused. When the read fails, reconcile goes on as without it
// (every unmapped level is zeroed as configured) and logs why.

// unmappedLogMax bounds the log lines of one reconcile's unmapped levels
// (the count is logged and exported whatever their number).
const unmappedLogMax = 20

// readLiveLocations is readLive for a per-location channel: ids are
// outbox keys; the SKUs behind them are read, and every level the channel
// gives is returned under its key, unmapped locations' included.
func (e *Engine) readLiveLocations(ctx context.Context, ch *channel, ids []string) (map[string]int64, error) {
	r := ch.conn.(connectors.QuantityReader)
	var skus []string
	seen := map[string]bool{}
	for _, id := range ids {
		sku, _, _ := outbox.SplitLocationKey(id)
		if !seen[sku] {
			seen[sku] = true
			skus = append(skus, sku)
		}
	}
	out := make(map[string]int64, len(ids))
	for start := 0; start < len(skus); start += reconcileChunk {
		live, err := r.ReadQuantities(ctx, skus[start:min(start+reconcileChunk, len(skus))])
		if err != nil {
			return nil, fmt.Errorf("reading %s quantities: %w", ch.cfg.Name, err)
		}
		for _, lq := range live {
			switch {
			case lq.Location != "":
				out[outbox.LocationKey(lq.SKU, lq.Location)] = lq.Quantity
			case lq.ChannelLocation != "":
				out[outbox.UnmappedKey(lq.SKU, lq.ChannelLocation)] = lq.Quantity
			}
		}
	}
	return out, nil
}

// unmappedLevels reports the levels above zero at unmapped channel
// locations among live (a per-location channel's read), once per
// reconcile each, and queues a forced zero of each when the channel is
// configured to.
func (e *Engine) unmappedLevels(ctx context.Context, ch *channel, live map[string]int64, d *drift) error {
	if !ch.cfg.PerLocation() {
		return nil
	}
	var zero []outbox.Want
	var refused []string // at disabled locations: a zero queued before is dropped
	for _, id := range sortedKeys(live) {
		sku, _, chLoc := outbox.SplitLocationKey(id)
		if chLoc == "" {
			continue
		}
		disabled := d.locations[chLoc] == connectors.LocationDisabled
		if disabled {
			refused = append(refused, id)
		}
		if live[id] <= 0 || d.seenUnmapped[id] {
			continue
		}
		d.seenUnmapped[id] = true
		d.unmapped++
		if disabled {
			d.disabledLevels++
		}
		if d.unmapped <= unmappedLogMax {
			msg := "a channel location no shelfsync location maps to holds stock the channel sells"
			if disabled {
				msg = "a disabled channel location no shelfsync location maps to holds stock the channel sells; the channel refuses changes there, so it is not zeroed (enable the location on the channel, or empty it there)"
			}
			e.log.Warn().Str("channel", ch.cfg.Name).Str("sku", sku).Str("channel_location", chLoc).Int64("quantity", live[id]).
				Bool("disabled", disabled).Bool("zeroing", ch.cfg.ZeroUnmappedLocations && !disabled).Msg(msg)
		}
		if !ch.cfg.ZeroUnmappedLocations || disabled {
			continue
		}
		if err := ch.outbox.SetReported(ctx, id, live[id]); err != nil {
			return err
		}
		zero = append(zero, outbox.Want{SKU: id, Quantity: 0, Force: true})
	}
	if err := e.withdrawRefused(ctx, ch, refused); err != nil {
		return err
	}
	if len(zero) == 0 {
		return nil
	}
	if _, err := ch.outbox.Enqueue(ctx, zero); err != nil {
		return err
	}
	if ch.pusher != nil {
		ch.pusher.Wake()
	}
	return nil
}

// withdrawRefused drops the zeroes queued (by a reconcile before the
// location was disabled) of keys at disabled unmapped channel locations:
// the channel refuses them (eBay: 25709), so each would fail every push
// cycle. Only a want of zero goes (an unmapped key is wanted only by
// reconcile's zeroing), and not while its push is on the wire.
func (e *Engine) withdrawRefused(ctx context.Context, ch *channel, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	n, err := ch.outbox.Withdraw(ctx, keys, 0)
	if err != nil {
		return err
	}
	if n > 0 {
		e.log.Info().Str("channel", ch.cfg.Name).Int("items", n).
			Msg("dropped queued zeroes of levels at disabled channel locations (the channel refuses changes there)")
	}
	return nil
}

// readChannelLocations reads ch's locations once for a reconcile (a
// per-location channel whose connector is a connectors.LocationReader)
// into d: the state of each, and the shelfsync locations mapped to a
// disabled or missing one, logged once here. A failed read is logged and
// leaves d as without it.
func (e *Engine) readChannelLocations(ctx context.Context, ch *channel, d *drift) {
	lr, ok := ch.conn.(connectors.LocationReader)
	if !ok || !ch.cfg.PerLocation() {
		return
	}
	locs, err := lr.ReadLocations(ctx)
	if err != nil {
		e.log.Warn().Err(err).Str("channel", ch.cfg.Name).
			Msg("reading the channel's locations failed: reconcile goes on without their states (unmapped levels are zeroed as configured, mapped locations are not checked)")
		return
	}
	d.locations = make(map[string]connectors.LocationState, len(locs))
	for _, l := range locs {
		d.locations[l.ID] = l.State
		if l.Location == "" || l.State == connectors.LocationEnabled {
			continue
		}
		d.mappedProblems = append(d.mappedProblems, l)
		e.log.Error().Str("channel", ch.cfg.Name).Str("location", l.Location).Str("channel_location", l.ID).Str("state", string(l.State)).
			Msg("a shelfsync location is mapped to a channel location the channel reports disabled or does not have: its pushes will be refused until the location is enabled or the mapping fixed")
	}
}

// locationKeyReader reads a per-location channel's levels under outbox
// keys ("<sku>@<location>"), for readers of outbox items such as the
// shadow report: the channel is asked for the SKUs behind the keys.
type locationKeyReader struct {
	e  *Engine
	ch *channel
}

// ReadQuantities implements connectors.QuantityReader over outbox keys.
func (r locationKeyReader) ReadQuantities(ctx context.Context, keys []string) ([]connectors.LiveQuantity, error) {
	live, err := r.e.readLiveLocations(ctx, r.ch, keys)
	if err != nil {
		return nil, err
	}
	out := make([]connectors.LiveQuantity, 0, len(keys))
	for _, k := range keys {
		if q, ok := live[k]; ok {
			out = append(out, connectors.LiveQuantity{SKU: k, Quantity: q})
		}
	}
	return out, nil
}
