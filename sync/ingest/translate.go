package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// Catalog translates listings into ledger SKUs (inventory/catalog).
type Catalog interface {
	// Resolve also returns the catalog version it read under, which the
	// batch's propagation reads under (catalog.Lookup's at).
	Resolve(ctx context.Context, refs []catalog.Ref) (map[catalog.Ref]catalog.Resolution, catalog.Version, error)
	// RecordLines keeps how order lines were translated, for shipments
	// and returns that name the channel's line (catalog.LineMap).
	RecordLines(ctx context.Context, maps []catalog.LineMap, ttl time.Duration) error
	// LineMaps reads an order's recorded translations (channel line id →
	// map): a polled return of a kit's or a pack's line names the
	// channel's line.
	LineMaps(ctx context.Context, channel, orderID string) (map[string]catalog.LineMap, error)
}

// expansion is a batch of order line states as the channels name them
// (raw), translated into the ledger lines they stand for: a mapped
// listing's SKU and multiplied quantities, a kit's components.
type expansion struct {
	states []inventory.LineState // ledger lines
	from   []int                 // states[k] came from raw[from[k]]
	skus   []string              // ledger SKUs touched, each once
	maps   []catalog.LineMap     // the raw lines that were translated
	at     catalog.Version       // the catalog version of the translation
}

// expand translates raw line states through the catalog, in one round
// trip. Without a catalog every line stands for its same-named SKU.
func (g *Ingester) expand(ctx context.Context, raw []inventory.LineState) (expansion, error) {
	var res map[catalog.Ref]catalog.Resolution
	var at catalog.Version
	if g.o.Catalog != nil {
		refs := make([]catalog.Ref, len(raw))
		for i, s := range raw {
			refs[i] = catalog.Ref{Channel: s.Channel, SKU: s.SKU}
		}
		var err error
		if res, at, err = g.o.Catalog.Resolve(ctx, refs); err != nil {
			return expansion{}, fmt.Errorf("translating %d order lines: %w", len(raw), err)
		}
	}
	x := expansion{states: make([]inventory.LineState, 0, len(raw)), from: make([]int, 0, len(raw)), at: at}
	seen := make(map[string]bool, len(raw))
	var one [1]inventory.LineState
	for i, s := range raw {
		r := res[catalog.Ref{Channel: s.Channel, SKU: s.SKU}]
		// A listing that is its own SKU (most) stands for itself: no
		// translation to record, no slice of ledger lines to build.
		sts := one[:]
		if one[0] = s; !catalog.Unchanged(s, r) {
			if m, ok := catalog.Translation(s, r); ok {
				x.maps = append(x.maps, m)
			}
			sts = catalog.ExpandLine(s, r)
		}
		for _, st := range sts {
			if err := st.Validate(); err != nil {
				// Only a translation can make a line the ledger refuses
				// (figures times a multiplier past its maximum): one such
				// line must not fail the whole batch for ever.
				g.o.Metrics.Dropped.WithLabelValues(s.Channel, string(connectors.EventOrder)).Inc()
				g.o.Logger.Warn().Err(err).Str("channel", s.Channel).Str("order", s.OrderID).Str("line", s.LineID).
					Str("sku", st.SKU).Msg("translated order line refused by the ledger; skipped")
				continue
			}
			x.states = append(x.states, st)
			x.from = append(x.from, i)
			if !seen[st.SKU] {
				seen[st.SKU] = true
				x.skus = append(x.skus, st.SKU)
			}
		}
	}
	if err := g.record(ctx, x.maps); err != nil {
		return expansion{}, err
	}
	if g.o.Returns != nil {
		// A line's refunds and its booked returns may be the same units:
		// the state returns only those its returns did not book.
		if err := g.o.Returns.ShareRefunds(ctx, x.states); err != nil {
			return expansion{}, err
		}
	}
	return x, nil
}

// record keeps the translations of the lines about to be applied, before
// they are: a shipment that names a kit's or a pack's channel line never
// finds its ledger lines without their map.
func (g *Ingester) record(ctx context.Context, maps []catalog.LineMap) error {
	if len(maps) == 0 || g.o.Catalog == nil {
		return nil
	}
	ttl := g.o.LineTTL
	if ttl <= 0 {
		ttl = config.DefaultLineTTL
	}
	return g.o.Catalog.RecordLines(ctx, maps, ttl)
}

// settle counts what each ledger line did and returns the raw lines to
// park: those of which any ledger line's SKU is unknown (the whole line
// is parked as the channel named it, and translated again when it
// applies, so a mapping that arrives meanwhile is used). A raw line whose
// ledger lines are new is a new sale of the channel's own listing (sold).
func (g *Ingester) settle(orders []*connectors.Order, owner []int, raw []inventory.LineState, x expansion, res []inventory.LineResult, sold propagate.Sold) []inventory.LineState {
	unknown := make([]bool, len(raw))
	fresh := make([]bool, len(raw))
	for k, r := range res {
		i := x.from[k]
		g.count(orders[owner[i]], x.states[k], r)
		unknown[i] = unknown[i] || r.Ignored == inventory.IgnoredUnknownSKU
		fresh[i] = fresh[i] || r.Applied && r.New
	}
	var park []inventory.LineState
	placed := map[int]bool{}
	for i, s := range raw {
		if unknown[i] {
			park = append(park, s)
			continue
		}
		// The channel took a new sale's units off its own listing
		// (shipped ones too: they left at the sale).
		if n := s.Ordered - s.Cancelled; fresh[i] && n > 0 {
			sold.Add(s.Channel, s.SKU, n)
			g.o.Metrics.UnitsSold.WithLabelValues(s.Channel).Add(float64(n))
			if !placed[owner[i]] {
				placed[owner[i]] = true
				g.o.Metrics.OrdersPlaced.WithLabelValues(s.Channel).Inc()
			}
			if s.Location != "" {
				// A per-location channel's item of the line's location.
				sold.Add(s.Channel, outbox.LocationKey(s.SKU, s.Location), n)
			}
		}
	}
	return park
}
