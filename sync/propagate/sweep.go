package propagate

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// Intents is what the Sweeper needs of the ledger's push intents.
type Intents interface {
	PendingIntents(ctx context.Context, max int64) ([]inventory.Intent, error)
	ClearIntent(ctx context.Context, in inventory.Intent) error
}

// Unparker applies the order lines parked for SKUs that now exist (ingest).
type Unparker interface {
	Unpark(ctx context.Context, skus []string) (int, error)
}

// SweepEvery is how often the Sweeper looks. An intent is handled only
// once it was seen unchanged by two sweeps: by then the write it announced
// has happened (the mark is sent just before the ledger script), and the
// ingest's own propagation has normally made it redundant.
const SweepEvery = time.Second

// Sweeper is the crash-safe half of the hand-off from the ledger to the
// outboxes: the ledger marks a push intent for every SKU before it changes
// it; the Sweeper applies every intent older than a sweep (parked lines of
// a SKU that now exists, then propagation) and clears it. A crash between
// a ledger write and its propagation leaves the intent, so the push is
// never lost; writes by other tools (`shelfsync stock`, the admin API)
// reach the channels the same way.
type Sweeper struct {
	Intents Intents
	// Catalog, when set, is swept the same way: the names a catalog change
	// moved (a new mapping applies the lines parked under its listing id;
	// a kit or a mapping is pushed).
	Catalog  Intents
	Unparker Unparker
	P        *Propagator
	Swept    prometheus.Counter // intents applied; may be nil
	Logger   zerolog.Logger
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	sources := []Intents{s.Intents}
	if s.Catalog != nil {
		sources = append(sources, s.Catalog)
	}
	seen := make([]map[string]float64, len(sources))
	t := time.NewTicker(SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for i, src := range sources {
			seen[i] = s.sweep(ctx, src, seen[i])
		}
	}
}

// sweep applies the intents seen unchanged since the last sweep, and
// returns the ones to look at again next time.
func (s *Sweeper) sweep(ctx context.Context, src Intents, seen map[string]float64) map[string]float64 {
	next := map[string]float64{}
	for ctx.Err() == nil {
		intents, err := src.PendingIntents(ctx, 1000)
		if err != nil {
			s.Logger.Warn().Err(err).Msg("reading push intents")
			break
		}
		var ripe []inventory.Intent
		for _, in := range intents {
			if q, ok := seen[in.SKU]; ok && q == in.Seq {
				ripe = append(ripe, in)
			} else {
				next[in.SKU] = in.Seq
			}
		}
		if len(ripe) == 0 {
			break
		}
		if err := s.apply(ctx, src, ripe); err != nil {
			s.Logger.Warn().Err(err).Msg("applying push intents; will retry")
			break
		}
		if len(intents) < 1000 {
			break
		}
	}
	return next
}

func (s *Sweeper) apply(ctx context.Context, src Intents, ripe []inventory.Intent) error {
	skus := make([]string, len(ripe))
	for i, in := range ripe {
		skus[i] = in.SKU
	}
	if _, err := s.Unparker.Unpark(ctx, skus); err != nil {
		return err
	}
	if err := s.P.Propagate(ctx, skus, time.Now(), nil, catalog.Version{}); err != nil {
		return err
	}
	for _, in := range ripe {
		if err := src.ClearIntent(ctx, in); err != nil {
			return err
		}
	}
	if s.Swept != nil {
		s.Swept.Add(float64(len(ripe)))
	}
	return nil
}
