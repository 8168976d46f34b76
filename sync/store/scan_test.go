package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestScanKeysCoversEveryPrimary: on a Cluster, AnyKey and UnlinkKeys see
// the keys of every primary, not only those of the node a plain SCAN
// reaches; on one Redis they behave the same.
func TestScanKeysCoversEveryPrimary(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t)
	one, onePrefix := redistest.New(t)
	tests := []struct {
		name   string
		rdb    redis.UniversalClient
		prefix string
	}{
		{"cluster", cluster.Client(t), redistest.Prefix()},
		{"standalone", one, onePrefix},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if used, err := AnyKey(ctx, tc.rdb, tc.prefix+"*"); err != nil || used {
				t.Fatalf("AnyKey before writing: %v %v", used, err)
			}
			const n = 90
			for i := range n {
				if err := tc.rdb.Set(ctx, fmt.Sprintf("%s{k%d}", tc.prefix, i), "1", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			if cc, ok := tc.rdb.(*redis.ClusterClient); ok {
				perNode := keysPerPrimary(t, cc, tc.prefix)
				if len(perNode) != 3 {
					t.Fatalf("keys on %d primaries, want all 3: %v", len(perNode), perNode)
				}
			}
			if used, err := AnyKey(ctx, tc.rdb, tc.prefix+"*"); err != nil || !used {
				t.Fatalf("AnyKey after writing: %v %v", used, err)
			}
			if got, err := UnlinkKeys(ctx, tc.rdb, tc.prefix+"*"); err != nil || got != n {
				t.Fatalf("UnlinkKeys deleted %d (%v), want %d", got, err, n)
			}
			if used, err := AnyKey(ctx, tc.rdb, tc.prefix+"*"); err != nil || used {
				t.Fatalf("AnyKey after deleting: %v %v", used, err)
			}
		})
	}
}

// keysPerPrimary counts the keys under prefix on each primary.
func keysPerPrimary(t *testing.T, cc *redis.ClusterClient, prefix string) map[string]int {
	t.Helper()
	out := map[string]int{}
	var mu = make(chan struct{}, 1)
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		keys, err := c.Keys(ctx, prefix+"*").Result()
		mu <- struct{}{}
		if len(keys) > 0 {
			out[c.Options().Addr] = len(keys)
		}
		<-mu
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
