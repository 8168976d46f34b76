package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBusy: another writer is applying a plan to the catalog right now.
var ErrBusy = errors.New("another catalog change is being applied; try again")

// lockTTL bounds how long a crashed writer can hold the catalog.
const lockTTL = time.Minute

// Result is what applying a plan changed.
type Result struct {
	Changed   int `json:"changed"`   // mappings and kits written
	Unchanged int `json:"unchanged"` // already as the plan says
}

// change is one mapping or kit that differs from the catalog, with what
// it replaces.
type change struct {
	mapping *Mapping
	kit     *Kit
	old     string // the journal's "before"
	oldTgt  Target // a mapping's previous target (SKU "" if none)
	oldComp []Component
}

// Apply writes a checked plan (see Check) to the catalog: each mapping and
// kit replaces what the catalog held for the same listing or kit. Writes
// are ordered so that a crash leaves nothing harmful (the reverse entries
// first, the definitions, then the removal of stale reverse entries), and
// applying the same plan again completes it. Every change is journaled,
// and its names are marked pending so the daemon applies parked lines and
// pushes what the change moved (PendingIntents). source says who wrote it
// (a file name, "api").
func (c *Catalog) Apply(ctx context.Context, plan Plan, source string) (Result, error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	changes, err := c.diff(ctx, plan)
	if err != nil {
		return Result{}, err
	}
	res := Result{Changed: len(changes), Unchanged: len(plan.Mappings) + len(plan.Kits) - len(changes)}
	if len(changes) == 0 {
		return res, nil
	}
	for _, phase := range []func(context.Context, redis.Pipeliner, *change){c.writeReverse, c.writeDefinition, c.removeStale} {
		pipe := c.rdb.Pipeline()
		for i := range changes {
			phase(ctx, pipe, &changes[i])
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return Result{}, fmt.Errorf("writing the catalog: %w", err)
		}
	}
	if err := c.journal(ctx, changes, source); err != nil {
		return Result{}, err
	}
	return res, c.markPending(ctx, pendingNames(changes))
}

// diff reads the catalog and returns the plan's items that change it.
func (c *Catalog) diff(ctx context.Context, plan Plan) ([]change, error) {
	names := make([]string, 0, len(plan.Mappings)+len(plan.Kits))
	for _, m := range plan.Mappings {
		names = append(names, m.Listing)
	}
	for _, k := range plan.Kits {
		names = append(names, k.SKU)
	}
	entries, err := c.Entries(ctx, names)
	if err != nil {
		return nil, err
	}
	var out []change
	for i := range plan.Kits {
		k := &plan.Kits[i]
		old := entries[k.SKU].Components
		if encodeComponents(old) != encodeComponents(k.Components) {
			out = append(out, change{kit: k, old: encodeComponents(old), oldComp: old})
		}
	}
	for i := range plan.Mappings {
		m := &plan.Mappings[i]
		old, had := entries[m.Listing].MappedOn[m.Channel]
		if !had || old != (Target{SKU: m.SKU, Multiplier: m.Multiplier}) {
			ch := change{mapping: m, oldTgt: old}
			if had {
				ch.old = encodeTarget(old)
			}
			out = append(out, ch)
		}
	}
	return out, nil
}

// writeReverse: each component knows its kit, each target its listing.
func (c *Catalog) writeReverse(ctx context.Context, p redis.Pipeliner, ch *change) {
	if k := ch.kit; k != nil {
		for _, cp := range k.Components {
			p.HSet(ctx, c.key(cp.SKU), fUsedIn+k.SKU, cp.Quantity)
		}
		return
	}
	m := ch.mapping
	p.HSet(ctx, c.key(m.SKU), fListing+m.Channel+sep+m.Listing, m.Multiplier)
}

// writeDefinition writes the kit's components or the listing's target.
func (c *Catalog) writeDefinition(ctx context.Context, p redis.Pipeliner, ch *change) {
	if k := ch.kit; k != nil {
		p.HSet(ctx, c.key(k.SKU), fKit, encodeComponents(k.Components))
		p.SAdd(ctx, c.kitsKey(), k.SKU)
		return
	}
	m := ch.mapping
	p.HSet(ctx, c.key(m.Listing), fMapped+m.Channel, encodeTarget(Target{SKU: m.SKU, Multiplier: m.Multiplier}))
	p.SAdd(ctx, c.listingsKey(), m.Channel+sep+m.Listing)
}

// removeStale drops reverse entries the change made stale: components a
// kit no longer has, the listing of a target it no longer maps to.
func (c *Catalog) removeStale(ctx context.Context, p redis.Pipeliner, ch *change) {
	if k := ch.kit; k != nil {
		keep := map[string]bool{}
		for _, cp := range k.Components {
			keep[cp.SKU] = true
		}
		for _, cp := range ch.oldComp {
			if !keep[cp.SKU] {
				p.HDel(ctx, c.key(cp.SKU), fUsedIn+k.SKU)
			}
		}
		return
	}
	m := ch.mapping
	if ch.oldTgt.SKU != "" && ch.oldTgt.SKU != m.SKU {
		p.HDel(ctx, c.key(ch.oldTgt.SKU), fListing+m.Channel+sep+m.Listing)
	}
}

// pendingNames are the names whose listings a change moved: a kit, a
// mapped listing (its parked lines apply now), its new and old target.
func pendingNames(changes []change) []string {
	var out []string
	for _, ch := range changes {
		if ch.kit != nil {
			out = append(out, ch.kit.SKU)
			continue
		}
		out = append(out, ch.mapping.Listing, ch.mapping.SKU)
		if ch.oldTgt.SKU != "" {
			out = append(out, ch.oldTgt.SKU)
		}
	}
	return out
}

// unlockScript releases the lock only for its holder.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// lock makes plans apply one at a time (two imports at once could
// interleave their reverse entries).
func (c *Catalog) lock(ctx context.Context) (func(), error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("catalog lock token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	ok, err := c.rdb.SetNX(ctx, c.lockKey(), tok, lockTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("locking the catalog: %w", err)
	}
	if !ok {
		return nil, ErrBusy
	}
	// Every writer holds the lock: the catalog version goes up once the
	// lock is taken, before anything is written, and again before it is
	// released, after the last write (even with nothing changed, so a
	// crashed writer's writes are re-read after the next one): readers
	// drop what they cached under an older version (cache.go).
	if err := c.bumpVersion(ctx); err != nil {
		_ = unlockScript.Run(context.WithoutCancel(ctx), c.rdb, []string{c.lockKey()}, tok).Err()
		return nil, err
	}
	return func() {
		bg := context.WithoutCancel(ctx)
		_ = c.bumpVersion(bg)
		_ = unlockScript.Run(bg, c.rdb, []string{c.lockKey()}, tok).Err()
	}, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
