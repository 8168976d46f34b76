package ebay

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// revisionBudget counts each SKU's quantity revisions per UTC day in the
// channel's Cache, because eBay lets a listing be revised at most 250
// times a day and refuses the rest until midnight. The engine's outbox
// already coalesces (ten sales in a second are one push), so the ceiling
// is a guard for a runaway loop, not the normal pace.
//
// The count is a read and a write, not an atomic increment (the Cache
// has none): two replicas pushing the same SKU at the same instant may
// both count one. The ceiling's distance below 250 absorbs that.
type revisionBudget struct {
	cache   connectors.Cache
	ceiling int
	now     func() time.Time
}

func (b *revisionBudget) key(sku string) string {
	return "ebay:revisions:" + b.now().UTC().Format("2006-01-02") + ":" + sku
}

// used is the SKU's revisions today.
func (b *revisionBudget) used(ctx context.Context, sku string) (int, error) {
	if b.cache == nil {
		return 0, nil
	}
	v, ok, err := b.cache.Get(ctx, b.key(sku))
	if err != nil {
		return 0, fmt.Errorf("reading the revision count of SKU %s: %w", sku, err)
	}
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, nil // a damaged counter restarts rather than blocks the SKU
	}
	return n, nil
}

// add counts one revision of the SKU today.
func (b *revisionBudget) add(ctx context.Context, sku string) error {
	if b.cache == nil {
		return nil
	}
	n, err := b.used(ctx, sku)
	if err != nil {
		return err
	}
	// Kept past the day's end so a clock skew between replicas still reads it.
	if err := b.cache.Set(ctx, b.key(sku), strconv.Itoa(n+1), 48*time.Hour); err != nil {
		return fmt.Errorf("counting a revision of SKU %s: %w", sku, err)
	}
	return nil
}
