package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
)

// Cache is a connectors.Cache in Redis, namespaced to one channel: two
// channels (even of one kind) never see each other's keys, and mappings
// survive a restart.
type Cache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ connectors.Cache = (*Cache)(nil)

// NewCache keeps keys under keyPrefix + "cache:" + channel + ":".
func NewCache(rdb redis.UniversalClient, keyPrefix, channel string) *Cache {
	return &Cache{rdb: rdb, prefix: keyPrefix + "cache:" + channel + ":"}
}

// Get implements connectors.Cache.
func (c *Cache) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := c.rdb.Get(ctx, c.prefix+key).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("cache get %s: %w", key, err)
	}
	return v, true, nil
}

// Set implements connectors.Cache; ttl 0 keeps the value until overwritten.
func (c *Cache) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := c.rdb.Set(ctx, c.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("cache set %s: %w", key, err)
	}
	return nil
}
