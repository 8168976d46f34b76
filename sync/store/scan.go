package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// ScanKeys calls fn with every key matching pattern, a page (up to 1,000
// keys) at a time, together with the client of the node that holds them.
// On a Redis Cluster a SCAN sees one node's keys only, so every primary is
// scanned (ForEachMaster, concurrently; fn's calls are serialised); in the
// other modes rdb itself is. An error from fn ends the scan and is returned
// as it is.
func ScanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, fn func(ctx context.Context, node redis.Cmdable, keys []string) error) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return scanNode(ctx, node, pattern, func(ctx context.Context, n redis.Cmdable, keys []string) error {
				mu.Lock()
				defer mu.Unlock()
				return fn(ctx, n, keys)
			})
		})
	}
	return scanNode(ctx, rdb, pattern, fn)
}

func scanNode(ctx context.Context, node redis.Cmdable, pattern string, fn func(ctx context.Context, node redis.Cmdable, keys []string) error) error {
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return fmt.Errorf("scanning keys %q: %w", pattern, err)
		}
		if len(keys) > 0 {
			if err := fn(ctx, node, keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// errFound ends AnyKey's scan at the first key.
var errFound = errors.New("found")

// AnyKey reports whether any key matches pattern, on every primary of a
// Cluster.
func AnyKey(ctx context.Context, rdb redis.UniversalClient, pattern string) (bool, error) {
	err := ScanKeys(ctx, rdb, pattern, func(context.Context, redis.Cmdable, []string) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// UnlinkKeys deletes every key matching pattern (on every primary of a
// Cluster) and returns how many it deleted. Keys are unlinked one per
// command in a pipeline: a Cluster refuses a multi-key UNLINK across slots.
func UnlinkKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int64, error) {
	var n int64
	err := ScanKeys(ctx, rdb, pattern, func(ctx context.Context, node redis.Cmdable, keys []string) error {
		pipe := node.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.Unlink(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("deleting keys %q: %w", pattern, err)
		}
		for _, c := range cmds {
			n += c.Val()
		}
		return nil
	})
	return n, err
}
