package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/store"
)

func TestDeps(t *testing.T) {
	rdb, prefix := redistest.New(t)
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.HTTP.PublicURL = "https://sync.example.com"
	var logs strings.Builder
	reg := prometheus.NewRegistry()
	b := newDepsBuilder(cfg, zerolog.New(&logs), reg, rdb)

	ch := config.Channel{Name: "shop", Kind: "shopify", RateLimit: 0, Timeout: 5 * time.Second, MaxRetries: 2}
	d := b.deps(ch)
	if d.PublicURL != "https://sync.example.com" || d.Channel.Name != "shop" || d.Now == nil {
		t.Fatalf("deps %+v", d)
	}
	if d.Limiter.Limit() != rate.Inf {
		t.Errorf("rate_limit 0: limit %v, want Inf", d.Limiter.Limit())
	}
	d.Logger.Info().Msg("x")
	if !strings.Contains(logs.String(), `"channel":"shop","kind":"shopify"`) {
		t.Errorf("logger fields: %s", logs.String())
	}

	// The registerer labels the connector's own metrics with the channel.
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "shelfsync_test_total", Help: "h"})
	d.Registerer.MustRegister(c)
	c.Inc()
	if n, err := testutil.GatherAndCount(reg, "shelfsync_test_total"); n != 1 || err != nil {
		t.Fatalf("gathered %d %v", n, err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP shelfsync_test_total h\n# TYPE shelfsync_test_total counter\nshelfsync_test_total{channel=\"shop\"} 1\n"), "shelfsync_test_total"); err != nil {
		t.Error(err)
	}

	// The cache is Redis, under the channel's namespace.
	ctx := context.Background()
	if err := d.Cache.Set(ctx, "k", "v", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Cache.(*store.Cache); !ok || rdb.Get(ctx, prefix+"cache:shop:k").Val() != "v" {
		t.Errorf("cache %T not in Redis under the channel", d.Cache)
	}

	// The HTTP client retries a 503 and counts each attempt for the channel.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	resp, err := d.HTTP.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 2 {
		t.Errorf("status %d after %d calls", resp.StatusCode, calls.Load())
	}
	if got := testutil.ToFloat64(b.api.Requests.WithLabelValues("shop", "503")); got != 1 {
		t.Errorf("503 attempts counted %v", got)
	}

	// A second channel shares the API metrics but nothing else.
	d2 := b.deps(config.Channel{Name: "ebay", Kind: "ebay", RateLimit: 2, Burst: 5, Timeout: time.Second})
	if d2.Limiter == d.Limiter || d2.Limiter.Limit() != 2 || d2.Limiter.Burst() != 5 {
		t.Errorf("limiter %v/%d", d2.Limiter.Limit(), d2.Limiter.Burst())
	}
}

func TestDepsWithoutRedis(t *testing.T) {
	b := newDepsBuilder(config.Default(), zerolog.Nop(), prometheus.NewRegistry(), nil)
	d := b.deps(config.Channel{Name: "x", Kind: "shopify", RateLimit: 1})
	if d.Cache == nil || d.Limiter.Burst() != 1 {
		t.Fatalf("cache %v burst %d", d.Cache, d.Limiter.Burst())
	}
}
