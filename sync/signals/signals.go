// Package signals moves the ledger's stock signal events (stock.low,
// stock.out, stock.back; see inventory/signals.go) to the downstream
// stream, and from there to the signed downstream webhook if one is
// configured.
//
// The ledger decides each event inside the script that changed the stock
// and keeps it in the SKU's pending list (the SKU's Cluster slot; the
// stream lives in another). The Sweeper finds SKUs with pending events
// (SCAN, every Every), publishes each event (downstream.Publisher, which
// publishes a SKU's sequence number once), then removes the events it
// moved. A crash between publishing and removing moves them again: the
// publisher skips what it already published, and every event carries its
// id (SKU:seq) as delivery_id, so a consumer that might see a delivery
// twice (the stream and webhook are at least once) de-duplicates by it.
// TestSweeperSurvivesACrash shows this in one process;
// TestKill9ConvergesAgainstStrictFakes (sync/e2e) with the daemon killed
// by SIGKILL mid-load and restarted: every crossing each SKU's journal
// implies is on the downstream stream exactly once.
//
// A SKU a run left unevaluated (its replica's copy of the default reorder
// points was older than the SKU's, or unreadable) is marked like one with
// events; each sweep first has the ledger evaluate such SKUs of its page
// with the defaults read then (Source.EvaluateMarked), so their crossing
// moves in the same sweep, and keeps the page's marks while that fails.
package signals

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/inventory"
)

// Source is what the Sweeper needs of the ledger.
type Source interface {
	SignalMarks(ctx context.Context, max int64) ([]inventory.Intent, error)
	ClearSignalMark(ctx context.Context, in inventory.Intent) error
	PendingSignals(ctx context.Context, sku string, max int64) ([]inventory.SignalEvent, error)
	RecordSignalState(ctx context.Context, sku string, seq int64, state string) error
	AckSignals(ctx context.Context, sku string, seq int64) error
	SignalCounts(ctx context.Context) (below, out int64, err error)
	RecoverSignals(ctx context.Context) (int, error)
	// ReevaluateIfDue runs the re-evaluation of every SKU that a change
	// of the default reorder points recorded, once it is due.
	ReevaluateIfDue(ctx context.Context) (ran bool, n int, err error)
	// EvaluateMarked evaluates again, with the default reorder points
	// read now, those of the marked SKUs that a run left to the sweeper
	// (its copy of the defaults was older than the SKU's, or unknown).
	EvaluateMarked(ctx context.Context, skus []string) error
}

// Sink publishes one event (downstream.Publisher).
type Sink interface {
	PublishSignal(ctx context.Context, ev inventory.SignalEvent) (bool, error)
}

// DefaultEvery is how often the Sweeper looks for pending events.
const DefaultEvery = 2 * time.Second

// DefaultCountEvery is how often the Sweeper counts the SKUs at or below
// their reorder point and out of stock (two SCARDs of the index).
const DefaultCountEvery = 30 * time.Second

// batch is how many of a SKU's events are read at a time.
const batch = 100

// marksPage is how many marked SKUs a sweep reads at a time, and
// maxPages how many pages one sweep takes at most (SKUs marked again
// while it runs are left to the next).
const (
	marksPage = 1000
	maxPages  = 100
)

// Sweeper moves pending signal events downstream.
type Sweeper struct {
	Source Source
	Sink   Sink
	Every  time.Duration // default DefaultEvery
	// CountEvery is how often the gauges are recounted; default
	// DefaultCountEvery.
	CountEvery time.Duration
	Logger     zerolog.Logger
	m          *metrics
}

type metrics struct {
	published *prometheus.CounterVec
	below     prometheus.Gauge
	out       prometheus.Gauge
}

// Register registers the Sweeper's metrics on reg (nil: none).
func (s *Sweeper) Register(reg prometheus.Registerer) {
	s.m = &metrics{published: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shelfsync_stock_signals_published_total",
		Help: "Stock signal events published downstream, by type (stock.low, stock.out, stock.back).",
	}, []string{"type"})}
	s.m.below = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shelfsync_stock_below_reorder_point_skus",
		Help: "SKUs whose available stock (summed over locations) is at or below their reorder point, out of stock included; counted every 30 s.",
	})
	s.m.out = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "shelfsync_stock_out_of_stock_skus",
		Help: "SKUs with a reorder point whose available stock (summed over locations) is zero or below; counted every 30 s.",
	})
	if reg != nil {
		reg.MustRegister(s.m.published, s.m.below, s.m.out)
	}
}

// Run sweeps until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = DefaultEvery
	}
	countEvery := s.CountEvery
	if countEvery <= 0 {
		countEvery = DefaultCountEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var counted time.Time
	// The start-up scan (of the whole keyspace) runs beside the sweeps, so
	// what is marked moves at once; what it marks moves at the next sweep.
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		for !s.recover(ctx) && sleep(ctx, every) {
		}
	}()
	for {
		s.reevaluate(ctx)
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn().Err(err).Msg("moving stock signals downstream; will retry")
		}
		if time.Since(counted) >= countEvery {
			counted = time.Now()
			if err := s.Count(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Warn().Err(err).Msg("counting SKUs below their reorder point")
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sleep waits d, or less when ctx ends; it reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reevaluate runs a re-evaluation a change of the default reorder points
// left due (one HMGET when none is): the events of the SKUs the change
// moved are then marked, and this sweep moves them. Every replica's
// sweeper may run the same pass; a second finds every state settled.
func (s *Sweeper) reevaluate(ctx context.Context) {
	ran, n, err := s.Source.ReevaluateIfDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.Warn().Err(err).Msg("re-evaluating stock signals after a change of the default reorder points; will retry")
		}
		return
	}
	if ran {
		s.Logger.Info().Int("skus", n).Msg("stock signals re-evaluated after a change of the default reorder points")
	}
}

// recover runs the ledger's one scan for events whose mark was lost; the
// next sweep moves them. It reports whether it completed.
func (s *Sweeper) recover(ctx context.Context) bool {
	n, err := s.Source.RecoverSignals(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.Warn().Err(err).Msg("recovering the pending stock signals index; will retry")
		}
		return false
	}
	if n > 0 {
		s.Logger.Info().Int("skus", n).Msg("stock signals pending at start")
	}
	return true
}

// Sweep evaluates the marked SKUs a run left unevaluated
// (Source.EvaluateMarked), moves every pending event of the marked SKUs
// once and returns how many it published.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	n := 0
	for page := 0; page < maxPages; page++ {
		marks, err := s.Source.SignalMarks(ctx, marksPage)
		if err != nil {
			return n, err
		}
		// A SKU a replica with stale default reorder points left
		// unevaluated is evaluated first, so its events move now. When
		// that fails (the defaults unreadable), the events there still
		// move, but no mark of the page is cleared: the SKUs left
		// unevaluated are tried again at the next sweep.
		skus := make([]string, len(marks))
		for i, m := range marks {
			skus[i] = m.SKU
		}
		evalErr := s.Source.EvaluateMarked(ctx, skus)
		for _, m := range marks {
			k, err := s.sweepSKU(ctx, m.SKU)
			n += k
			if err != nil {
				return n, err
			}
			if evalErr != nil {
				continue
			}
			if err := s.Source.ClearSignalMark(ctx, m); err != nil {
				return n, err
			}
		}
		if evalErr != nil {
			return n, fmt.Errorf("marks kept: %w", evalErr)
		}
		if len(marks) < marksPage {
			return n, nil
		}
	}
	return n, nil
}

// sweepSKU publishes the SKU's pending events in order, then removes them.
func (s *Sweeper) sweepSKU(ctx context.Context, sku string) (int, error) {
	n := 0
	for {
		evs, err := s.Source.PendingSignals(ctx, sku, batch)
		if err != nil || len(evs) == 0 {
			return n, err
		}
		for _, ev := range evs {
			if ev.Type == inventory.SignalRearm {
				continue // kept for the state recorded below, never published
			}
			done, err := s.Sink.PublishSignal(ctx, ev)
			if err != nil {
				return n, fmt.Errorf("signal %s: %w", ev.ID, err)
			}
			if done {
				n++
				if s.m != nil {
					s.m.published.WithLabelValues(ev.Type).Inc()
				}
			}
		}
		last := evs[len(evs)-1]
		if err := s.Source.RecordSignalState(ctx, sku, last.Seq, last.State); err != nil {
			return n, err
		}
		if err := s.Source.AckSignals(ctx, sku, last.Seq); err != nil {
			return n, err
		}
		if len(evs) < batch {
			return n, nil
		}
	}
}

// Count sets the gauges from the states the Sweeper recorded: the SKUs at
// or below their reorder point and out of stock.
func (s *Sweeper) Count(ctx context.Context) error {
	below, out, err := s.Source.SignalCounts(ctx)
	if err != nil {
		return err
	}
	if s.m != nil {
		s.m.below.Set(float64(below))
		s.m.out.Set(float64(out))
	}
	return nil
}
