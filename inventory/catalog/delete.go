package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Errors of a delete, for errors.Is.
var (
	// ErrNotFound: the catalog holds no such mapping or kit.
	ErrNotFound = errors.New("not in the catalog")
	// ErrWouldOrphan: the delete was refused, nothing changed: something
	// would be left standing for nothing (the error names it).
	ErrWouldOrphan = errors.New("refused: it would orphan")
)

// DeleteMapping removes the mapping of listing on channel, so the listing
// stands again for the ledger SKU or kit of its own name, and its old
// target no longer pushes to it. It is refused (ErrWouldOrphan, nothing
// changed) when the listing's own name is neither a ledger SKU nor a kit:
// the listing would stand for nothing (its orders parked, its quantity
// never pushed again) — unless force, for a listing the channel no longer
// has. Order lines booked through the mapping stay on its target, as with
// a replaced mapping. Journaled; the listing and the old target are marked
// pending, so the daemon pushes what moved.
func (c *Catalog) DeleteMapping(ctx context.Context, ledger Ledger, channel, listing string, force bool, source string) (Mapping, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return Mapping{}, err
	}
	defer unlock()
	e, err := c.Entry(ctx, listing)
	if err != nil {
		return Mapping{}, err
	}
	t, ok := e.MappedOn[channel]
	if !ok {
		return Mapping{}, fmt.Errorf("mapping of %s on %s: %w", listing, channel, ErrNotFound)
	}
	m := Mapping{Channel: channel, Listing: listing, SKU: t.SKU, Multiplier: t.Multiplier}
	if !force && !e.IsKit() {
		st, err := ledger.StockMany(ctx, []string{listing})
		if err != nil {
			return Mapping{}, fmt.Errorf("checking the ledger for %s: %w", listing, err)
		}
		if _, inLedger := st[listing]; !inLedger {
			return Mapping{}, fmt.Errorf("%w the listing %s/%s: without its mapping to %s it stands for nothing (no ledger SKU or kit %s); map it elsewhere, or delete with force if the channel no longer lists it", ErrWouldOrphan, channel, listing, t.SKU, listing)
		}
	}
	// The target's reverse entry first: a crash before the definition is
	// removed leaves a mapping no push reaches, and deleting again
	// completes it.
	steps := []func(redis.Pipeliner){
		func(p redis.Pipeliner) { p.HDel(ctx, c.key(t.SKU), fListing+channel+sep+listing) },
		func(p redis.Pipeliner) {
			p.HDel(ctx, c.key(listing), fMapped+channel)
			p.SRem(ctx, c.listingsKey(), channel+sep+listing)
		},
	}
	if err := c.runSteps(ctx, steps); err != nil {
		return Mapping{}, err
	}
	ch := change{mapping: &m, oldTgt: t, old: encodeTarget(t)}
	if err := c.journalDelete(ctx, ch, source); err != nil {
		return Mapping{}, err
	}
	return m, c.markPending(ctx, []string{listing, t.SKU})
}

// DeleteKit removes a kit: its definition and its components' reverse
// entries. It is refused (ErrWouldOrphan, nothing changed) while listings
// are mapped to it: they would stand for a SKU that is nothing; delete or
// remap them first (the error names them). A kit listed under its own
// name becomes an unknown listing (its orders park), as the link report
// shows. Journaled; the kit is marked pending.
func (c *Catalog) DeleteKit(ctx context.Context, sku, source string) (Kit, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return Kit{}, err
	}
	defer unlock()
	e, err := c.Entry(ctx, sku)
	if err != nil {
		return Kit{}, err
	}
	if !e.IsKit() {
		return Kit{}, fmt.Errorf("kit %s: %w", sku, ErrNotFound)
	}
	if len(e.Listings) > 0 {
		names := make([]string, len(e.Listings))
		for i, l := range e.Listings {
			names[i] = l.Channel + "/" + l.ID
		}
		sort.Strings(names)
		return Kit{}, fmt.Errorf("%w the listings mapped to kit %s: %s; delete or remap those mappings first", ErrWouldOrphan, sku, strings.Join(names, ", "))
	}
	// Reverse entries first: a crash before the definition goes leaves a
	// kit its components no longer re-push, and deleting again completes.
	steps := []func(redis.Pipeliner){
		func(p redis.Pipeliner) {
			for _, cp := range e.Components {
				p.HDel(ctx, c.key(cp.SKU), fUsedIn+sku)
			}
		},
		func(p redis.Pipeliner) {
			p.HDel(ctx, c.key(sku), fKit)
			p.SRem(ctx, c.kitsKey(), sku)
		},
	}
	if err := c.runSteps(ctx, steps); err != nil {
		return Kit{}, err
	}
	k := Kit{SKU: sku, Components: e.Components}
	if err := c.journalDelete(ctx, change{kit: &k, oldComp: e.Components}, source); err != nil {
		return Kit{}, err
	}
	return k, c.markPending(ctx, []string{sku})
}

// runSteps sends each step as a pipeline of its own, in order.
func (c *Catalog) runSteps(ctx context.Context, steps []func(redis.Pipeliner)) error {
	for _, s := range steps {
		pipe := c.rdb.Pipeline()
		s(pipe)
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("deleting from the catalog: %w", err)
		}
	}
	return nil
}
