// Package redistest connects tests to the real Redis server (REDIS_ADDR,
// default 127.0.0.1:6379) under a fresh key prefix, and deletes that
// prefix's keys when the test ends. Tests fail, never skip, when no Redis
// answers: CI starts one.
//
// Tests of topologies start servers of their own instead (StartCluster,
// StartReplicated, StartSentinel: redis-server processes on ports
// 7000-7199, never the shared server), and may kill, freeze and restart
// them; everything is killed and its files removed when the test ends.
// Those tests skip only when redis-server is not installed.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the test Redis address.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// New returns a client and a key prefix unique to this test.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr(), PoolSize: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("no Redis at %s (set REDIS_ADDR, or run .ci/run which starts one): %v", Addr(), err)
	}
	prefix := Prefix()
	t.Cleanup(func() {
		Clean(rdb, prefix)
		_ = rdb.Close()
	})
	return rdb, prefix
}

// Prefix is a fresh key prefix, "test:<random hex>:".
func Prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:" + hex.EncodeToString(b[:]) + ":"
}

// Clean deletes every key under prefix (letters, digits and ':' only); on
// a Cluster, on every primary.
func Clean(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			cleanOne(ctx, c, prefix)
			return nil
		})
		return
	}
	cleanOne(ctx, rdb, prefix)
}

func cleanOne(ctx context.Context, rdb redis.UniversalClient, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			unlink(ctx, rdb, batch)
			batch = batch[:0]
		}
	}
	unlink(ctx, rdb, batch)
}

// unlink deletes keys one by one in a pipeline: on a Cluster node they may
// hash to different slots, which one UNLINK refuses.
func unlink(ctx context.Context, rdb redis.UniversalClient, keys []string) {
	if len(keys) == 0 {
		return
	}
	pipe := rdb.Pipeline()
	for _, k := range keys {
		pipe.Unlink(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
}
