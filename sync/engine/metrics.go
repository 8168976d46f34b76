package engine

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shelfsync/shelfsync/sync/ingest"
	"github.com/shelfsync/shelfsync/sync/intake"
)

type metrics struct {
	driftUnits *prometheus.GaugeVec
	driftSKUs  *prometheus.GaugeVec
	// unmappedLevels: per-location channels (perloc.go).
	unmappedLevels *prometheus.GaugeVec
	// disabledLevels and mappedProblems: channels whose locations are read
	// (connectors.LocationReader, perloc.go).
	disabledLevels *prometheus.GaugeVec
	mappedProblems *prometheus.GaugeVec
	polledOrders   *prometheus.CounterVec
	pollSkipped    *prometheus.CounterVec
	intentsSwept   prometheus.Counter
	intents        prometheus.Gauge
	parkedSKUs     prometheus.Gauge
	leaseHolder    *prometheus.GaugeVec
	intake         *intake.Metrics
	ingest         *ingest.Metrics
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		driftUnits: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_drift_units", Help: "Units by which a channel's listed quantities differed from the ledger's at the last reconcile (sum over the SKUs of shelfsync_drift_skus); exported by the replica that ran it.",
		}, []string{"channel"}),
		driftSKUs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_drift_skus", Help: "SKUs a channel listed wrong at the last reconcile with no push of them queued or in flight, on two reads (corrections were queued); exported by the replica that ran it.",
		}, []string{"channel"}),
		unmappedLevels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_unmapped_location_levels", Help: "Levels above zero a per-location channel held, at the last reconcile, at channel locations no shelfsync location maps to (the channel sells them on top of what shelfsync lists; zeroed with zero_unmapped_locations); exported by the replica that ran it.",
		}, []string{"channel"}),
		disabledLevels: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_disabled_location_levels", Help: "Of shelfsync_unmapped_location_levels, those at channel locations the channel reports disabled (eBay: merchantLocationStatus DISABLED): the channel still sells them but refuses changes there, so they are never zeroed; exported by the replica that ran the last reconcile.",
		}, []string{"channel"}),
		mappedProblems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_mapped_location_problems", Help: "1 for each shelfsync location of a per-location channel mapped to a channel location the channel reported, at the last reconcile, disabled or not at all (state): its pushes are refused; exported by the replica that ran it.",
		}, []string{"channel", "location", "state"}),
		polledOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_polled_orders_total", Help: "Orders taken in by scheduled polls.",
		}, []string{"channel"}),
		pollSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_poll_orders_skipped_total", Help: "Orders a poll read again whose state was already handled (the overlap window); not taken in.",
		}, []string{"channel"}),
		intentsSwept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_push_intents_swept_total", Help: "Ledger push intents applied by the sweeper (crash recovery and writes by other tools).",
		}),
		intents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shelfsync_push_intents_pending", Help: "Ledger push intents not yet cleared.",
		}),
		parkedSKUs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shelfsync_parked_skus", Help: "SKUs with order lines parked because the ledger does not know them.",
		}),
		leaseHolder: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_lease_held", Help: "1 when this replica holds the lease (job:channel): the push lease as the pusher takes and loses it, the others at the last look.",
		}, []string{"lease"}),
	}
	reg.MustRegister(m.driftUnits, m.driftSKUs, m.unmappedLevels, m.disabledLevels, m.mappedProblems, m.polledOrders, m.pollSkipped, m.intentsSwept, m.intents, m.parkedSKUs, m.leaseHolder)
	m.intake, m.ingest = intake.NewMetrics(reg), ingest.NewMetrics(reg)
	return m
}

// init exports a configured channel's series at 0 from the start (the
// pusher's and fetch queue's are the engine's to init when it has them):
// a counter that appeared only at its first increment would hide that
// event from increase() (the first oversell after a restart). The drift
// gauges are left to the replica that reconciles.
func (m *metrics) init(channel string) {
	m.polledOrders.WithLabelValues(channel)
	m.pollSkipped.WithLabelValues(channel)
	m.intake.Init(channel)
	m.ingest.Init(channel)
}

// gauges refreshes the gauges that reflect state in Redis.
func (e *Engine) gauges(ctx context.Context) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if n, err := e.parking.Count(ctx); err == nil {
			e.m.parkedSKUs.Set(float64(n))
		}
		if n, err := e.ledger.PendingCount(ctx); err == nil {
			e.m.intents.Set(float64(n))
		}
		for _, name := range e.names {
			e.leaseGauges(ctx, name)
			e.dropStaleDrift(ctx, name)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// leaseGauges samples who holds channel name's poll and reconcile leases
// (the pusher sets its own push lease's series when it takes or loses it).
func (e *Engine) leaseGauges(ctx context.Context, name string) {
	for _, job := range []string{"poll", "reconcile"} {
		h, err := e.leaseHolder(ctx, job, name)
		if err != nil {
			continue
		}
		v := 0.0
		if h == e.leases.Holder() {
			v = 1
		}
		e.m.leaseHolder.WithLabelValues(job + ":" + name).Set(v)
	}
}

// reconcileByField is the status board field naming the replica that ran
// a channel's last successful reconcile.
const reconcileByField = "reconcile_by"

// dropStaleDrift removes channel name's drift series once another replica
// has run a later reconcile: the drift gauges are the last reconcile's
// finding, and only the replica that ran it exports them, so a replica
// whose reconcile lease went elsewhere does not go on exporting a value
// the other replica has since replaced (sum over replicas stays right).
func (e *Engine) dropStaleDrift(ctx context.Context, name string) {
	rec, err := e.board.Get(ctx, name)
	if err != nil {
		return
	}
	if by := rec[reconcileByField]; by != "" && by != e.leases.Holder() {
		e.m.driftUnits.DeleteLabelValues(name)
		e.m.driftSKUs.DeleteLabelValues(name)
		e.m.unmappedLevels.DeleteLabelValues(name)
		e.m.disabledLevels.DeleteLabelValues(name)
		e.m.mappedProblems.DeletePartialMatch(prometheus.Labels{"channel": name})
	}
}

// exportLocationStates exports what a reconcile found of the channel's
// locations (when it read them): the unmapped levels at disabled ones and
// the shelfsync locations mapped to a disabled or missing one, the last
// reconcile's only.
func (e *Engine) exportLocationStates(name string, d *drift, extra map[string]any) {
	e.m.mappedProblems.DeletePartialMatch(prometheus.Labels{"channel": name})
	if d.locations == nil {
		e.m.disabledLevels.DeleteLabelValues(name)
		return
	}
	e.m.disabledLevels.WithLabelValues(name).Set(float64(d.disabledLevels))
	extra["disabled_location_levels"] = d.disabledLevels
	probs := make([]string, 0, len(d.mappedProblems))
	for _, p := range d.mappedProblems {
		e.m.mappedProblems.WithLabelValues(name, p.Location, string(p.State)).Set(1)
		probs = append(probs, p.Location+"→"+p.ID+" "+string(p.State))
	}
	extra["mapped_location_problems"] = strings.Join(probs, ", ")
}
