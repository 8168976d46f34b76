// Package storetest gives tests a real Redis (REDIS_ADDR, default
// 127.0.0.1:6379) under a key prefix of their own, deleted when the test
// ends. Tests fail, never skip, when Redis does not answer: CI starts one.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the Redis tests talk to.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// New returns a client of the test Redis and a fresh key prefix
// ("test:<random>:"). Every key under the prefix is deleted, and the
// client closed, at the end of the test.
func New(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		tb.Fatalf("storetest: Redis at %s does not answer (start one, or set REDIS_ADDR): %v", Addr(), err)
	}
	prefix := Prefix()
	tb.Cleanup(func() {
		Clean(tb, rdb, prefix)
		rdb.Close()
	})
	return rdb, prefix
}

// Prefix is a fresh random key prefix.
func Prefix() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// Clean deletes every key under prefix.
func Clean(tb testing.TB, rdb redis.UniversalClient, prefix string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("storetest: scanning %s*: %v", prefix, err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			tb.Errorf("storetest: deleting %s*: %v", prefix, err)
			return
		}
		keys = keys[n:]
	}
}
