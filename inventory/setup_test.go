package inventory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
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

func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:inv:" + hex.EncodeToString(b[:]) + ":"
}

// realRedis connects to the test Redis under a fresh prefix and deletes the
// prefix's keys when the test ends. No Redis is a failure, never a skip.
func realRedis(t testing.TB) *testEnv {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), PoolSize: 128})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("no Redis at %s (set REDIS_ADDR): %v", redisAddr(), err)
	}
	e := &testEnv{name: "redis", rdb: rdb, prefix: randomPrefix(), clock: newTestClock()}
	t.Cleanup(func() {
		cleanPrefix(rdb, e.prefix)
		_ = rdb.Close()
	})
	return e
}

func cleanPrefix(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			rdb.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		rdb.Unlink(ctx, batch...)
	}
}

// embedded is the Redis-compatible store the demo runs on.
func embedded(t testing.TB) *testEnv {
	t.Helper()
	mr := miniredis.RunT(t)
	// miniredis runs every script in a fresh Lua state under one lock: slow
	// under -race, so a generous timeout.
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 64, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	t.Cleanup(func() { _ = rdb.Close() })
	return &testEnv{name: "miniredis", rdb: rdb, prefix: randomPrefix(), clock: newTestClock()}
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
