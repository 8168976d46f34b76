package demo

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/store"
)

// CleanPrefix deletes every key under prefix: the demo's own keys on a
// real Redis, when it made up the prefix itself. On a Redis Cluster it
// deletes them on every primary.
func CleanPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	if _, err := store.UnlinkKeys(ctx, rdb, prefix+"*"); err != nil {
		return fmt.Errorf("deleting the demo's keys: %w", err)
	}
	return nil
}
