package inventory

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// testEnv is one backend under a fresh key prefix.
type testEnv struct {
	name   string
	rdb    redis.UniversalClient
	prefix string
	clock  *testClock
}

// testClock is a settable clock; scripts get time only from Options.Now.
type testClock struct{ ms atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func newTestClock() *testClock               { c := &testClock{}; c.ms.Store(1_763_700_000_000); return c }
func (e *testEnv) ledger(opts Options) *Ledger {
	opts.Prefix, opts.Now = e.prefix, e.clock.Now
	return New(e.rdb, opts)
}

// realRedis connects to the test Redis under a fresh prefix and deletes the
// prefix's keys when the test ends. No Redis is a failure, never a skip.
func realRedis(t testing.TB) *testEnv {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Addr(), PoolSize: 128})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("no Redis at %s (set REDIS_ADDR): %v", redistest.Addr(), err)
	}
	e := &testEnv{name: "redis", rdb: rdb, prefix: redistest.Prefix(), clock: newTestClock()}
	t.Cleanup(func() {
		redistest.Clean(rdb, e.prefix)
		_ = rdb.Close()
	})
	return e
}

// embedded is the Redis-compatible store the demo runs on.
func embedded(t testing.TB) *testEnv {
	t.Helper()
	mr := miniredis.RunT(t)
	// miniredis runs every script in a fresh Lua state under one lock: slow
	// under -race, so a generous timeout.
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	t.Cleanup(func() { _ = rdb.Close() })
	return &testEnv{name: "miniredis", rdb: rdb, prefix: redistest.Prefix(), clock: newTestClock()}
}

// eachBackend runs fn against the real Redis and against miniredis: the
// demo runs the same ledger on the latter.
func eachBackend(t *testing.T, fn func(t *testing.T, e *testEnv)) {
	t.Run("redis", func(t *testing.T) { fn(t, realRedis(t)) })
	t.Run("miniredis", func(t *testing.T) { fn(t, embedded(t)) })
}

type (
	redisIntCmd = redis.IntCmd
	redisDurCmd = redis.DurationCmd
)
