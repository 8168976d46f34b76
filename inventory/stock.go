package inventory

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/redis/go-redis/v9"
)

// SKUStock is one SKU's figures at every location it has.
type SKUStock struct {
	SKU       string
	Locations map[string]Level
}

// LocationIDs are the locations the SKU has figures at (zero included),
// sorted: where default reorder points apply (EffectiveReorder).
func (s SKUStock) LocationIDs() []string {
	out := make([]string, 0, len(s.Locations))
	for loc := range s.Locations {
		out = append(out, loc)
	}
	sort.Strings(out)
	return out
}

// Available is the SKU's available stock per location, as ATS takes it.
func (s SKUStock) Available() map[string]int64 {
	m := make(map[string]int64, len(s.Locations))
	for loc, lv := range s.Locations {
		m[loc] = lv.Available
	}
	return m
}

// Stock reads one SKU at all its locations; ErrUnknownSKU if it was never created.
func (l *Ledger) Stock(ctx context.Context, sku string) (SKUStock, error) {
	m, err := l.rdb.HGetAll(ctx, l.stockKey(sku)).Result()
	if err != nil {
		return SKUStock{}, fmt.Errorf("reading stock of %s: %w", sku, err)
	}
	if len(m) == 0 {
		return SKUStock{}, fmt.Errorf("stock of %s: %w", sku, ErrUnknownSKU)
	}
	return decodeStock(sku, m)
}

// StockMany reads many SKUs in one round trip; unknown SKUs are absent.
func (l *Ledger) StockMany(ctx context.Context, skus []string) (map[string]SKUStock, error) {
	return l.StockManyWith(ctx, skus, nil)
}

// StockManyWith is StockMany with the caller's commands in its round trip:
// with, when set, queues them in the read's pipeline, after the reads
// (their replies are the caller's to check once this returns). On a
// Cluster the pipeline goes to each command's node.
func (l *Ledger) StockManyWith(ctx context.Context, skus []string, with func(redis.Pipeliner)) (map[string]SKUStock, error) {
	cmds := make([]*redis.MapStringStringCmd, len(skus))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range skus {
			cmds[i] = p.HGetAll(ctx, l.stockKey(s))
		}
		if with != nil {
			with(p)
		}
		return nil
	})
	out := make(map[string]SKUStock, len(skus))
	for i, s := range skus {
		m, err := cmds[i].Result()
		if err != nil {
			return nil, fmt.Errorf("reading stock of %s: %w", s, err)
		}
		if len(m) == 0 {
			continue
		}
		st, err := decodeStock(s, m)
		if err != nil {
			return nil, err
		}
		out[s] = st
	}
	return out, nil
}

func decodeStock(sku string, m map[string]string) (SKUStock, error) {
	st := SKUStock{SKU: sku, Locations: make(map[string]Level, len(m))}
	for loc, v := range m {
		f, err := decodeFigures(v)
		if err != nil {
			return SKUStock{}, fmt.Errorf("stock of %s at %s: %w", sku, loc, err)
		}
		st.Locations[loc] = f.Level
	}
	return st, nil
}

// SKUs calls fn with every known SKU, in pages, as SCAN finds them (a SKU
// created during the scan may be missed; none is reported twice within a
// page). On a Cluster every master is scanned. An error from fn stops it.
func (l *Ledger) SKUs(ctx context.Context, fn func([]string) error) error {
	return l.scanKeys(ctx, globEscape(l.opts.Prefix+"s:{")+"*}", "SKUs", func(keys []string) error {
		page := make([]string, 0, len(keys))
		seen := make(map[string]bool, len(keys))
		for _, k := range keys {
			sku, err := l.skuFromStockKey(k)
			if err != nil || seen[sku] {
				continue // a foreign key that happens to match the pattern
			}
			seen[sku] = true
			page = append(page, sku)
		}
		if len(page) == 0 {
			return nil
		}
		return fn(page)
	})
}

// scanKeys calls page with the keys matching match, up to 1000 at a time,
// as SCAN finds them; on a Cluster it scans every master (concurrently),
// but calls page from one goroutine at a time, so callers need no lock.
// Each slice is page's own. An error from page stops the scan; what names
// the keys in a scan error.
func (l *Ledger) scanKeys(ctx context.Context, match, what string, page func([]string) error) error {
	return l.scanKeysN(ctx, match, what, 1000, page)
}

// scanKeysN is scanKeys with SCAN's COUNT (the keys Redis looks at a
// call, one round trip each): a larger count takes a large keyspace in
// fewer round trips, each blocking Redis a little longer. Pages stay at
// most 1000 keys.
func (l *Ledger) scanKeysN(ctx context.Context, match, what string, count int64, page func([]string) error) error {
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, match, count).Iterator()
		keys := make([]string, 0, 1000)
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == cap(keys) {
				if err := page(keys); err != nil {
					return err
				}
				keys = make([]string, 0, 1000)
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scanning %s: %w", what, err)
		}
		if len(keys) > 0 {
			return page(keys)
		}
		return nil
	}
	if cc, ok := l.rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		one := page
		page = func(keys []string) error {
			mu.Lock()
			defer mu.Unlock()
			return one(keys)
		}
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, l.rdb)
}
