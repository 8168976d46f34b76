package webhook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the receiver's counters, shared by every channel's Handler
// (the channel is a label), registered once per registry.
type Metrics struct {
	deliveries *prometheus.CounterVec
	failures   *prometheus.CounterVec
}

// NewMetrics registers the webhook metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_webhooks_total",
			Help: "Webhook deliveries received, by channel and outcome (accepted, ignored, rejected, error).",
		}, []string{"channel", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_webhook_verification_failures_total",
			Help: "Webhook deliveries refused for failed authentication (401/412), by channel and reason.",
		}, []string{"channel", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) count(channel, result string) {
	m.deliveries.WithLabelValues(channel, result).Inc()
}
