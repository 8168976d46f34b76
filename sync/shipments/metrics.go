package shipments

import "github.com/prometheus/client_golang/prometheus"

// Outcomes counted by shelfsync_shipments_total.
var outcomes = []string{"accepted", "duplicate", "invalid", "confirmed", "retry", "refused", "gave_up"}

// Metrics of shipments, by channel.
type Metrics struct {
	// Total counts shipments in (accepted, duplicate, invalid) and
	// confirmation attempts out (confirmed, retry, refused; gave_up: parked
	// after max attempts), each attempt under one outcome.
	Total *prometheus.CounterVec
	// Parked is the shipments parked (refused, or given up): each needs a
	// person.
	Parked *prometheus.GaugeVec
	// Queued is the shipments waiting for confirmation (pending, retrying).
	Queued *prometheus.GaugeVec
	// Unapplied is the stored shipments not on the ledger yet, older than
	// the sweeper's age (the apply backlog): their units still count as
	// reserved, not shipped.
	Unapplied *prometheus.GaugeVec
	// Latency is from a shipment's arrival to the channel's acceptance.
	Latency *prometheus.HistogramVec
}

// NewMetrics registers the metrics on reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_shipments_total",
			Help: "Shipments in (accepted, duplicate, invalid) and confirmation attempts out (confirmed, retry, refused, gave_up), by channel.",
		}, []string{"channel", "outcome"}),
		Parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_shipments_parked",
			Help: "Shipments whose confirmation the channel refused or that were given up after max attempts; each needs a person.",
		}, []string{"channel"}),
		Queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_shipments_queued",
			Help: "Shipments waiting for their confirmation on the channel (pending or retrying).",
		}, []string{"channel"}),
		Unapplied: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_shipments_unapplied",
			Help: "Stored shipments not yet applied to the ledger, older than the sweeper's age (the apply backlog).",
		}, []string{"channel"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shelfsync_shipment_confirm_seconds",
			Help:    "Time from a shipment's arrival to the channel's acceptance of its confirmation.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600},
		}, []string{"channel"}),
	}
	if reg != nil {
		reg.MustRegister(m.Total, m.Parked, m.Queued, m.Unapplied, m.Latency)
	}
	return m
}

// Init sets a channel's series at 0.
func (m *Metrics) Init(channel string) {
	for _, o := range outcomes {
		m.Total.WithLabelValues(channel, o)
	}
	m.Parked.WithLabelValues(channel)
	m.Queued.WithLabelValues(channel)
	m.Unapplied.WithLabelValues(channel)
	m.Latency.WithLabelValues(channel)
}
