package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated: the write was done on the primary, but fewer replicas
// than redis.min_replicas_acked confirmed it within redis.min_replicas_timeout.
// It may be lost if the primary fails now, so whoever was told nothing yet
// must not be told "taken": a webhook answers 503 and the channel delivers
// again (every write behind it is idempotent).
var ErrNotReplicated = errors.New("write not confirmed by enough replicas")

// Durability is how many replicas must confirm a write, and how long to
// wait for them. The zero value waits for none.
type Durability struct {
	Replicas int
	Timeout  time.Duration
}

// Replicated runs fill's commands in one pipeline on the primary that
// serves key (on a Cluster, that key's node; else rdb), and, when d asks
// for replicas, WAIT on the same connection behind them: Redis's WAIT
// counts the replicas that have every write this connection made. The
// commands' results are in the commands fill created; the error is the
// pipeline's transport error, or ErrNotReplicated (wrapped, with the
// count) when the replicas did not confirm. Commands that failed one by
// one (a script error) are the caller's to read.
func Replicated(ctx context.Context, rdb redis.UniversalClient, key string, d Durability, fill func(redis.Pipeliner)) error {
	c := redis.Cmdable(rdb)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return fmt.Errorf("finding the primary of %s: %w", key, err)
		}
		c = m
	}
	var wait *redis.Cmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		fill(p)
		if d.Replicas > 0 {
			// WAIT answers within its timeout, which config keeps below
			// the connection's read timeout.
			wait = p.Do(ctx, "wait", d.Replicas, d.Timeout.Milliseconds())
		}
		return nil
	})
	if wait == nil {
		return nil
	}
	if werr := wait.Err(); werr != nil {
		if err != nil && !errors.Is(err, werr) {
			return fmt.Errorf("waiting for replicas: %w", err)
		}
		return fmt.Errorf("waiting for replicas: %w", werr)
	}
	if n, _ := wait.Int64(); n < int64(d.Replicas) {
		return fmt.Errorf("%w: %d of %d within %s", ErrNotReplicated, n, d.Replicas, d.Timeout)
	}
	return nil
}
