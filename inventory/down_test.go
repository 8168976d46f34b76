package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisDown: with no Redis every operation fails with an error (never a
// panic, never a fake result), and batch errors stay one message.
func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	defer rdb.Close()
	l := New(rdb, Options{Prefix: "down:"})
	ctx := context.Background()
	batch := make([]LineState, 50)
	for i := range batch {
		batch[i] = LineState{Channel: "c", OrderID: "o", LineID: string(rune('a' + i%26)), SKU: "S", Location: "A", Ordered: 1, Version: 1}
	}
	_, err := l.ApplyLines(ctx, batch)
	if err == nil || strings.Count(err.Error(), "order line") > 1 {
		t.Fatalf("ApplyLines: %v", err)
	}
	calls := map[string]func() error{
		"Receive": func() error {
			_, err := l.Receive(ctx, Delta{Key: "k", SKU: "S", Location: "A", Quantity: 1})
			return err
		},
		"Adjust": func() error {
			_, err := l.Adjust(ctx, Delta{Key: "k", SKU: "S", Location: "A", Quantity: 1, Reason: "r"})
			return err
		},
		"Return": func() error {
			_, err := l.Return(ctx, ReturnOp{Key: "k", SKU: "S", Location: "A", Quantity: 1})
			return err
		},
		"SetCount": func() error { _, err := l.SetCount(ctx, Count{SKU: "S", Location: "A", Quantity: 1}); return err },
		"Stock":    func() error { _, err := l.Stock(ctx, "S"); return err },
		"StockMany": func() error {
			_, err := l.StockMany(ctx, []string{"S"})
			return err
		},
		"Lines":          func() error { _, err := l.Lines(ctx, "c", "o"); return err },
		"History":        func() error { _, err := l.History(ctx, "S", 5); return err },
		"Verify":         func() error { _, err := l.Verify(ctx, nil); return err },
		"VerifyNamed":    func() error { _, err := l.Verify(ctx, []string{"S"}); return err },
		"SKUs":           func() error { return l.SKUs(ctx, func([]string) error { return nil }) },
		"PendingIntents": func() error { _, err := l.PendingIntents(ctx, 5); return err },
		"PendingCount":   func() error { _, err := l.PendingCount(ctx); return err },
		"ClearIntent":    func() error { return l.ClearIntent(ctx, Intent{SKU: "S", Seq: 1}) },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s: no error without Redis", name)
			continue
		}
		if errors.Is(err, ErrUnknownSKU) || errors.Is(err, ErrInvalid) {
			t.Errorf("%s: a connection failure reported as %v", name, err)
		}
	}
}
