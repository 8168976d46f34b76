package shipments

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
)

// apply sets the shipment's lines to their locally shipped totals on the
// ledger (on hand leaves, the reservation is released), publishes the
// order downstream as its new state, and then takes the shipment off the
// channel's apply set. Every step is idempotent (totals, not deltas; the
// downstream stream publishes a state once), so a crash anywhere in
// between is repaired by doing it all again (the sweeper).
func (s *Service) apply(ctx context.Context, channel, id string) error {
	rec, _, err := s.load(ctx, channel, id)
	if err != nil {
		return err
	}
	k := s.keys(channel)
	if rec == nil { // expired or removed: nothing left to apply
		return s.o.Redis.ZRem(ctx, k.apply(), id).Err()
	}
	lines := ledgerLines(rec)
	ships := make([]inventory.LocalShipment, 0, len(lines))
	for _, l := range lines {
		total, ok := rec.Totals[l.LineID]
		if !ok {
			return fmt.Errorf("shipment %s: no total stored for line %s", id, l.LineID)
		}
		ships = append(ships, inventory.LocalShipment{Channel: channel, OrderID: rec.OrderID, LineID: l.LineID,
			SKU: l.SKU, Location: rec.Locations[l.LineID], Shipped: total})
	}
	res, err := s.o.Ledger.ShipLines(ctx, ships)
	if err != nil {
		return fmt.Errorf("applying shipment %s to the ledger: %w", id, err)
	}
	for i, r := range res {
		if r.Ignored == inventory.IgnoredRefused || r.Ignored == inventory.IgnoredUnknownSKU {
			// The line left the ledger between the check and now (pruned
			// long after it closed): nothing to move.
			s.o.Logger.Warn().Str("channel", channel).Str("shipment", id).Str("line", ships[i].LineID).
				Msg("shipment line no longer on the ledger; nothing moved for it")
		}
	}
	if err := s.publish(ctx, channel, rec.OrderID); err != nil {
		return err
	}
	return s.applied(ctx, k, rec)
}

// applied takes the shipment off the apply set; a shipment that will not
// be confirmed is done, and expires after the retention.
func (s *Service) applied(ctx context.Context, k keys, rec *Record) error {
	_, err := s.o.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, k.apply(), rec.ID)
		if s.channels[rec.Channel].Confirmer == nil {
			p.PExpire(ctx, k.ship(rec.ID), s.o.Retention)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording shipment %s applied: %w", rec.ID, err)
	}
	return nil
}

// publish puts the order, as the ledger now holds it, on the downstream
// stream: its version stays the channel's, its progress (units shipped)
// grew, so it is published as that version's later state.
func (s *Service) publish(ctx context.Context, channel, orderID string) error {
	if s.o.Publisher == nil {
		return nil
	}
	recs, err := s.o.Ledger.Lines(ctx, channel, orderID)
	if err != nil {
		return fmt.Errorf("reading order %s/%s to publish: %w", channel, orderID, err)
	}
	if len(recs) == 0 {
		return nil
	}
	if _, err := s.o.Publisher.PublishMany(ctx, []*connectors.Order{OrderOf(channel, orderID, recs)}); err != nil {
		return fmt.Errorf("publishing order %s/%s: %w", channel, orderID, err)
	}
	return nil
}

// OrderOf is the canonical order the ledger's lines describe: lines
// under their ledger SKUs, the newest line version as the order's.
func OrderOf(channel, orderID string, recs []inventory.LineRecord) *connectors.Order {
	o := &connectors.Order{Channel: channel, OrderID: orderID}
	var ver int64
	var open, shipped, live int64
	for _, r := range recs {
		ver = max(ver, r.Version)
		o.Lines = append(o.Lines, connectors.Line{LineID: r.LineID, SKU: r.SKU, Quantity: r.Ordered, Shipped: r.Shipped,
			Cancelled: r.Cancelled, Returned: r.Restocked + r.WrittenOff, Restock: r.Restocked > 0})
		open += r.Reserved
		shipped += r.Shipped
		live += r.Ordered - r.Cancelled
		if o.Location == "" {
			o.Location = r.Location
		}
	}
	o.UpdatedAt = versionTime(ver)
	switch {
	case live == 0:
		o.Status = connectors.StatusCancelled
	case open == 0:
		o.Status = connectors.StatusShipped
	case shipped > 0:
		o.Status = connectors.StatusPartiallyShipped
	default:
		o.Status = connectors.StatusOpen
	}
	return o
}

// versionTime reads a line version (unix ms, or ns for channels whose
// versions are finer) as a time.
func versionTime(v int64) time.Time {
	if len(strconv.FormatInt(v, 10)) > 16 {
		return time.Unix(0, v).UTC()
	}
	return time.UnixMilli(v).UTC()
}

// sweepAge is how long a stored shipment may wait for its ledger apply
// before the sweeper applies it (the request that stored it normally did
// at once).
const sweepAge = 5 * time.Second

// sweep applies every shipment of every channel stored longer than
// sweepAge ago and still not applied (a crash or an error between the
// store and the apply).
func (s *Service) sweep(ctx context.Context) {
	cutoff := strconv.FormatInt(s.o.Now().Add(-sweepAge).UnixMilli(), 10)
	for _, name := range s.names {
		ids, err := s.o.Redis.ZRangeByScore(ctx, s.keys(name).apply(), &redis.ZRangeBy{Min: "-inf", Max: cutoff, Count: 100}).Result()
		if err != nil {
			s.o.Logger.Warn().Err(err).Str("channel", name).Msg("reading shipments to apply")
			continue
		}
		for _, id := range ids {
			if err := s.apply(ctx, name, id); err != nil {
				s.o.Logger.Warn().Err(err).Str("channel", name).Str("shipment", id).Msg("applying a stored shipment")
			}
		}
	}
}
