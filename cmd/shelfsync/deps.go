package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/store"
)

// depsBuilder makes each channel's connectors.Deps from what the whole
// daemon shares. With no Redis (validate) the cache lives in memory.
type depsBuilder struct {
	cfg *config.Config
	log zerolog.Logger
	reg prometheus.Registerer
	rdb redis.UniversalClient // nil: in-memory cache
	api *connectors.APIMetrics
	now func() time.Time
}

func newDepsBuilder(cfg *config.Config, log zerolog.Logger, reg prometheus.Registerer, rdb redis.UniversalClient) *depsBuilder {
	return &depsBuilder{cfg: cfg, log: log, reg: reg, rdb: rdb, api: connectors.NewAPIMetrics(reg), now: time.Now}
}

// deps builds ch's Deps: a logger and a registerer labelled with the
// channel, an HTTP client with the channel's timeout and retries paced by
// its own limiter, and a cache namespaced to the channel.
func (b *depsBuilder) deps(ch config.Channel) connectors.Deps {
	log := b.log.With().Str("channel", ch.Name).Str("kind", ch.Kind).Logger()
	lim := newLimiter(ch.RateLimit, ch.Burst)
	var cache connectors.Cache = &connectors.MemoryCache{}
	if b.rdb != nil {
		cache = store.NewCache(b.rdb, b.cfg.Redis.KeyPrefix, ch.Name)
	}
	return connectors.Deps{
		Channel:    ch,
		PublicURL:  b.cfg.HTTP.PublicURL,
		Logger:     log,
		Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"channel": ch.Name}, b.reg),
		HTTP: connectors.NewHTTPClient(connectors.HTTPOptions{
			Channel: ch.Name, Timeout: ch.Timeout, MaxRetries: ch.MaxRetries,
			Limiter: lim, Metrics: b.api, Logger: log,
		}),
		Throttled: b.api.Throttled.WithLabelValues(ch.Name),
		Limiter:   lim,
		Cache:     cache,
		Now:       b.now,
	}
}

// newLimiter: rate_limit 0 leaves the pace to the connector, which
// retunes the limiter from what the channel reports; until then nothing
// waits. A burst of 0 lets one request through at a time.
func newLimiter(perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, max(burst, 1))
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
}
