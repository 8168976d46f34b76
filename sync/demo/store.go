package demo

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// CleanPrefix deletes every key under prefix: the demo's own keys on a
// real Redis, when it made up the prefix itself.
func CleanPrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("deleting the demo's keys: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("listing the demo's keys: %w", err)
	}
	if len(batch) > 0 {
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("deleting the demo's keys: %w", err)
		}
	}
	return nil
}
