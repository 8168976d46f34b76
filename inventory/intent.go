package inventory

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Intent says a SKU's figures changed (or were about to) and its ATS must be
// recomputed and pushed. Seq grows with every mark; ClearIntent compares it.
type Intent struct {
	SKU string
	Seq float64
}

// PendingIntents returns up to max intents, oldest mark first. The push side
// recomputes ATS for each, writes its outbox, then calls ClearIntent.
func (l *Ledger) PendingIntents(ctx context.Context, max int64) ([]Intent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("pending intents: %w: max must be positive", ErrInvalid)
	}
	zset, _ := l.intentKeys()
	zs, err := l.rdb.ZRangeWithScores(ctx, zset, 0, max-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading push intents: %w", err)
	}
	out := make([]Intent, 0, len(zs))
	for _, z := range zs {
		sku, ok := z.Member.(string)
		if !ok {
			continue
		}
		out = append(out, Intent{SKU: sku, Seq: z.Score})
	}
	return out, nil
}

// PendingCount is how many intents are pending (a gauge for the engine),
// without reading them.
func (l *Ledger) PendingCount(ctx context.Context) (int64, error) {
	zset, _ := l.intentKeys()
	n, err := l.rdb.ZCard(ctx, zset).Result()
	if err != nil {
		return 0, fmt.Errorf("counting push intents: %w", err)
	}
	return n, nil
}

// ClearIntent removes the intent only if the SKU was not marked again since
// it was read (its Seq is unchanged); a newer mark stays pending.
func (l *Ledger) ClearIntent(ctx context.Context, in Intent) error {
	zset, _ := l.intentKeys()
	err := l.clear.Run(ctx, l.rdb, []string{zset}, in.SKU, strconv.FormatFloat(in.Seq, 'f', -1, 64)).Err()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("clearing push intent of %s: %w", in.SKU, err)
	}
	return nil
}

// MarkIntents marks skus for a push recomputed from the ledger's state, as
// a ledger write marks what it changes: the intent Sweeper propagates them.
// For a caller that knows a queued figure may be stale (the outbox, when
// two of its layouts held different wants for one item).
func (l *Ledger) MarkIntents(ctx context.Context, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	if err := l.markIntents(ctx, l.rdb, skus).Err(); err != nil {
		return fmt.Errorf("marking push intents: %w", err)
	}
	return nil
}
