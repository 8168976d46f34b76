package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics counts every request by the pattern it matched: a bounded
// label, unlike the path (/webhooks/{channel} is one series per pattern).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"handler", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shelfsync_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"handler"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shelfsync_http_requests_in_flight",
			Help: "HTTP requests being answered now.",
		}),
	}
}

func (m *httpMetrics) instrument(pattern string, h http.Handler) http.Handler {
	l := prometheus.Labels{"handler": pattern}
	return promhttp.InstrumentHandlerInFlight(m.inFlight,
		promhttp.InstrumentHandlerDuration(m.duration.MustCurryWith(l),
			promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(l), h)))
}
