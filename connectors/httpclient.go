package connectors

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// APIMetrics counts every call every connector makes, by channel. The
// framework makes one set per registry and hands each connector's client
// its channel's share.
type APIMetrics struct {
	Requests  *prometheus.CounterVec   // channel, code
	Duration  *prometheus.HistogramVec // channel
	Throttled *prometheus.CounterVec   // channel: 429 answers and Deps.Throttled
	Errors    *prometheus.CounterVec   // channel: transport errors and 5xx
	Waits     *prometheus.CounterVec   // channel: seconds spent waiting on the limiter
}

// NewAPIMetrics registers the API metrics on reg.
func NewAPIMetrics(reg prometheus.Registerer) *APIMetrics {
	m := &APIMetrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_channel_api_requests_total",
			Help: "HTTP requests made to a channel's API (each retry counts), by status code (\"error\" for transport failures).",
		}, []string{"channel", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shelfsync_channel_api_request_duration_seconds",
			Help:    "Duration of one HTTP request to a channel's API.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"channel"}),
		Throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_channel_api_throttled_total",
			Help: "Requests a channel throttled: answered with 429 Too Many Requests, or with its own throttle signal in a 200 answer (Shopify's GraphQL THROTTLED).",
		}, []string{"channel"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_channel_api_errors_total",
			Help: "Requests to a channel's API that failed in transport or with a 5xx status.",
		}, []string{"channel"}),
		Waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_channel_rate_limit_wait_seconds_total",
			Help: "Time spent waiting for a channel's rate limiter before requests.",
		}, []string{"channel"}),
	}
	reg.MustRegister(m.Requests, m.Duration, m.Throttled, m.Errors, m.Waits)
	return m
}

// HTTPOptions configures NewHTTPClient.
type HTTPOptions struct {
	Channel    string
	Timeout    time.Duration // per attempt
	MaxRetries int
	MinBackoff time.Duration // default 250ms
	MaxBackoff time.Duration // default 30s
	Limiter    *rate.Limiter
	Metrics    *APIMetrics
	Logger     zerolog.Logger
	// Transport is the base transport; nil takes a pooled clone of the default.
	Transport http.RoundTripper
}

// NewHTTPClient builds a connector's HTTP client on go-retryablehttp:
// retries on connection errors, 429 and 5xx (not 501) with exponential
// backoff and full jitter, or exactly the channel's Retry-After when it
// sends one; waits on the limiter before every attempt; counts every
// attempt. After the last retry the channel's last response is returned
// as is, so the connector can read the channel's own error.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.MinBackoff == 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	base := o.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		base = t
	}
	if o.Metrics != nil { // the channel's throttle and error series exist from the start, at 0
		o.Metrics.Throttled.WithLabelValues(o.Channel)
		o.Metrics.Errors.WithLabelValues(o.Channel)
		o.Metrics.Waits.WithLabelValues(o.Channel)
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Timeout:   o.Timeout,
		Transport: &meteredTransport{base: base, channel: o.Channel, limiter: o.Limiter, m: o.Metrics},
	}
	rc.RetryMax = o.MaxRetries
	rc.RetryWaitMin = o.MinBackoff
	rc.RetryWaitMax = o.MaxBackoff
	rc.Backoff = Backoff
	rc.CheckRetry = retryablehttp.DefaultRetryPolicy
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = nil
	rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
		if attempt > 0 {
			o.Logger.Debug().Str("method", req.Method).Str("path", req.URL.Path).Int("attempt", attempt).Msg("retrying channel request")
		}
	}
	return rc.StandardClient()
}

// Backoff waits exactly what a 429 or 503's Retry-After says (capped at
// max), and otherwise min·2^attempt with full jitter, capped at max.
func Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > max {
				return max
			}
			return d
		}
	}
	ceil := float64(min) * math.Pow(2, float64(attempt))
	if ceil > float64(max) {
		ceil = float64(max)
	}
	d := time.Duration(rand.Float64() * ceil)
	if d < min {
		d = min
	}
	return d
}

// RetryAfter reads a Retry-After header: seconds, or an HTTP date.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

type meteredTransport struct {
	base    http.RoundTripper
	channel string
	limiter *rate.Limiter
	m       *APIMetrics
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.limiter != nil {
		start := time.Now()
		if err := t.limiter.Wait(req.Context()); err != nil {
			return nil, err
		}
		if t.m != nil {
			t.m.Waits.WithLabelValues(t.channel).Add(time.Since(start).Seconds())
		}
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	if t.m != nil {
		t.m.Duration.WithLabelValues(t.channel).Observe(time.Since(start).Seconds())
		code := "error"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests {
				t.m.Throttled.WithLabelValues(t.channel).Inc()
			}
		}
		if err != nil || resp.StatusCode >= 500 {
			t.m.Errors.WithLabelValues(t.channel).Inc()
		}
		t.m.Requests.WithLabelValues(t.channel, code).Inc()
	}
	return resp, err
}

// WaitContext sleeps for d or until ctx ends.
func WaitContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
