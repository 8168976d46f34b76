package connectors

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
	"net/http"

	"github.com/shelfsync/shelfsync/config"
)

// Deps is what the framework hands one connector instance. Everything in it
// is already labelled with the channel's name; the connector keeps it and
// holds nothing global.
type Deps struct {
	// Channel is the channel's configuration, defaults applied.
	Channel config.Channel
	// PublicURL is the daemon's external base URL (config http.public_url).
	PublicURL string
	// Logger has the fields channel and kind.
	Logger zerolog.Logger
	// Registerer registers the connector's own metrics with the label
	// channel already set (prometheus.WrapRegistererWith).
	Registerer prometheus.Registerer
	// HTTP retries 429 and 5xx with backoff and jitter, honours
	// Retry-After, waits on Limiter before every attempt, counts every call
	// in the shared API metrics, and bounds each request by the channel's
	// timeout. After the last retry the final response is returned as is.
	HTTP *http.Client
	// Throttled is the channel's series of the 429 counter
	// (shelfsync_channel_api_throttled_total), for a throttle the channel
	// signals without a 429 (Shopify's GraphQL THROTTLED, in an HTTP 200
	// answer), so every throttle is counted in one metric; nil: not counted.
	Throttled prometheus.Counter
	// Limiter paces every HTTP attempt. A connector may retune it from
	// what the channel reports (SetLimit/SetBurst), and may keep finer
	// limiters of its own per operation.
	Limiter *rate.Limiter
	// Cache is a key-value store namespaced to this channel (Redis in the
	// daemon), for identifier mappings that should survive restarts.
	Cache Cache
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Cache stores small strings by key with an expiry. Safe for concurrent use.
type Cache interface {
	// Get returns the value and whether it was there.
	Get(ctx context.Context, key string) (string, bool, error)
	// Set stores value under key for ttl (0: no expiry).
	Set(ctx context.Context, key, value string, ttl time.Duration) error
}

// MemoryCache is a Cache in process memory: for tests and tools.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]memoryEntry
}

type memoryEntry struct {
	value   string
	expires time.Time
}

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, key string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || (!e.expires.IsZero() && time.Now().After(e.expires)) {
		return "", false, nil
	}
	return e.value, true, nil
}

// Set implements Cache.
func (c *MemoryCache) Set(_ context.Context, key, value string, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]memoryEntry{}
	}
	e := memoryEntry{value: value}
	if ttl > 0 {
		e.expires = time.Now().Add(ttl)
	}
	c.m[key] = e
	return nil
}

// TestDeps builds Deps for a connector test: a nop logger, a fresh registry,
// the framework's real HTTP client (fast retries) and an unlimited limiter.
func TestDeps(ch config.Channel) Deps {
	reg := prometheus.NewRegistry()
	lim := rate.NewLimiter(rate.Inf, 1)
	m := NewAPIMetrics(reg)
	return Deps{
		Channel:    ch,
		Logger:     zerolog.Nop(),
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"channel": ch.Name}, reg),
		HTTP: NewHTTPClient(HTTPOptions{
			Channel: ch.Name, Timeout: 10 * time.Second, MaxRetries: ch.MaxRetries,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 2 * time.Second,
			Limiter: lim, Metrics: m, Logger: zerolog.Nop(),
		}),
		Throttled: m.Throttled.WithLabelValues(ch.Name),
		Limiter:   lim,
		Cache:     &MemoryCache{},
		Now:       time.Now,
	}
}

// CheckChannel defaults and validates ch as config.Load does, in a
// configuration of that channel and its locations only, and returns it as
// the daemon would hand it to a factory: for connector tests that build a
// channel in code. The error is config's, every problem at once.
func CheckChannel(ch config.Channel) (config.Channel, error) {
	cfg := &config.Config{Channels: []config.Channel{ch}}
	for i, l := range ch.Locations {
		cfg.Locations = append(cfg.Locations, config.Location{ID: l, Priority: i + 1})
	}
	err := cfg.Check()
	return cfg.Channels[0], err
}
