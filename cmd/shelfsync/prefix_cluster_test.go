package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/demo"
)

// TestPrefixChecksCoverEveryPrimary: on a Redis Cluster, refuseUsedPrefix
// sees a key under the prefix whichever primary holds it, and
// demo.CleanPrefix deletes the keys of every primary.
func TestPrefixChecksCoverEveryPrimary(t *testing.T) {
	ctx := context.Background()
	cc := redistest.StartCluster(t).Client(t)
	prefix := redistest.Prefix()
	byNode := oneKeyPerPrimary(t, cc, prefix)
	for addr, key := range byNode {
		if err := refuseUsedPrefix(ctx, cc, prefix); err != nil {
			t.Fatalf("no key written yet: %v", err)
		}
		if err := cc.Set(ctx, key, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := refuseUsedPrefix(ctx, cc, prefix); err == nil || !strings.Contains(err.Error(), "already holds keys") {
			t.Errorf("a key on %s only: refuseUsedPrefix said %v", addr, err)
		}
		if err := cc.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range byNode {
		if err := cc.Set(ctx, key, "1", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := demo.CleanPrefix(ctx, cc, prefix); err != nil {
		t.Fatal(err)
	}
	for addr, key := range byNode {
		if n, err := cc.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Errorf("CleanPrefix left %s on %s (%v)", key, addr, err)
		}
	}
}

// oneKeyPerPrimary finds, for each primary, a key under prefix that it holds.
func oneKeyPerPrimary(t *testing.T, cc *redis.ClusterClient, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i := 0; len(out) < 3 && i < 1000; i++ {
		key := fmt.Sprintf("%s{k%d}", prefix, i)
		m, err := cc.MasterForKey(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out[m.Options().Addr]; !ok {
			out[m.Options().Addr] = key
		}
	}
	if len(out) != 3 {
		t.Fatalf("keys found on %d primaries", len(out))
	}
	return out
}
