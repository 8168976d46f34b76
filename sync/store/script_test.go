package store

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestRunEachAfterScriptFlush: every call runs once and answers its own
// result, also after Redis lost its script cache (NOSCRIPT), and a single
// call is a plain run.
func TestRunEachAfterScriptFlush(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	incr := redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	calls := []ScriptCall{{Keys: []string{prefix + "a"}, Args: []any{1}}, {Keys: []string{prefix + "b"}, Args: []any{2}}}
	for round, want := range [][]int64{{1, 2}, {2, 4}} {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		for i, cmd := range RunEach(ctx, rdb, incr, calls) {
			if got, err := cmd.Int64(); err != nil || got != want[i] {
				t.Errorf("round %d call %d: %d, %v; want %d", round, i, got, err, want[i])
			}
		}
	}
	if got, err := RunEach(ctx, rdb, incr, calls[:1])[0].Int64(); err != nil || got != 3 {
		t.Errorf("single call: %d, %v; want 3", got, err)
	}
}
