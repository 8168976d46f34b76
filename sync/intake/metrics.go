package intake

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shelfsync/shelfsync/connectors"
)

// Metrics of the intake.
type Metrics struct {
	Received     *prometheus.CounterVec // channel, kind
	Duplicate    *prometheus.CounterVec // channel, kind
	Failures     *prometheus.CounterVec // channel, kind
	DeadLettered prometheus.Counter
	Reclaimed    prometheus.Counter
	Backlog      prometheus.Gauge
	Lag          prometheus.Histogram
}

// Init exports channel's series at 0, every event kind, so the first
// failure is an increase rules see.
func (m *Metrics) Init(channel string) {
	for _, k := range []connectors.EventKind{connectors.EventOrder, connectors.EventOrderChanged, connectors.EventReturn, connectors.EventStockChanged} {
		m.Received.WithLabelValues(channel, string(k))
		m.Duplicate.WithLabelValues(channel, string(k))
		m.Failures.WithLabelValues(channel, string(k))
	}
}

// NewMetrics registers the intake's metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_events_received_total",
			Help: "Channel events taken onto the durable intake, by channel and kind.",
		}, []string{"channel", "kind"}),
		Duplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_events_duplicate_total",
			Help: "Channel deliveries dropped at the intake as repeats of an id already taken.",
		}, []string{"channel", "kind"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_events_failed_total",
			Help: "Attempts to handle an event that failed and will be retried.",
		}, []string{"channel", "kind"}),
		DeadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_events_dead_lettered_total",
			Help: "Events moved to the dead-letter stream after their last attempt.",
		}),
		Reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_intake_reclaimed_total",
			Help: "Events reclaimed from a worker that left them pending too long.",
		}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shelfsync_intake_backlog",
			Help: "Events on the intake stream not yet fully handled.",
		}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shelfsync_intake_lag_seconds",
			Help:    "Time from an event's arrival to the end of its handling.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.Duplicate, m.Failures, m.DeadLettered, m.Reclaimed, m.Backlog, m.Lag)
	}
	return m
}
