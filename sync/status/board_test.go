package status

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestBoardFeedsHealth: every outcome the board records reaches the
// health it feeds, also when Redis refuses the record.
func TestBoardFeedsHealth(t *testing.T) {
	rdb, prefix := redistest.New(t)
	clock := time.Now()
	h := NewHealth(time.Minute, func() time.Time { return clock }, "shop")
	b := New(rdb, prefix).Feed(h)
	ctx := context.Background()
	if err := b.Record(ctx, "shop", "push", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.Check("shop"); err != nil {
		t.Fatalf("after a recorded push: %v", err)
	}
	got, err := b.Get(ctx, "shop")
	if err != nil || got["push_at"] == "" {
		t.Fatalf("status hash %v (%v)", got, err)
	}

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	offline := New(down, prefix).Feed(h)
	if err := offline.Record(ctx, "shop", "push", errors.New("HTTP 503"), nil); err == nil {
		t.Fatal("recording on a Redis that does not answer succeeded")
	}
	clock = clock.Add(2 * time.Minute)
	if err := h.Check("shop"); err == nil {
		t.Fatal("a push failing beyond the bound, recorded while Redis was down, left the channel ready")
	}
}
