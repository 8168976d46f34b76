package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The hot paths (ingest's Resolve per intake batch, propagation's Lookup
// per change) read the catalog through a cache that a version number keeps
// exact: every writer (Apply, DeleteMapping, DeleteKit) takes the catalog
// lock, and P{catalog}:version is incremented when the lock is taken,
// before anything is written, and again when it is released, after the
// last write, even when nothing changed. Every cached read
// sends GET of the version in the same pipeline as the reads of the names
// not cached (a GET instead of one HMGET or HGETALL per name), and keeps
// what is cached only while the version is the one the entries were read
// under. A value read while a writer was writing is dropped by that
// writer's second increment; one read while a crashed writer was writing
// is dropped by the next writer (which increments first, even with nothing
// to change) or after cacheTTL, whichever comes first. So a mapping or kit
// takes effect on the first read after its Apply (or a delete) returns, on
// every replica. A read given the Version of an earlier read (Lookup's at)
// sends no GET and reads under that version instead: what it returns
// reflects every change whose writer returned before that version was
// read (for an intake batch's propagation, before the batch's events were
// read and translated); see README.md "Reads on the hot paths".

// cacheTTL bounds how long anything stays cached, whatever the version.
const cacheTTL = time.Minute

// cacheMax bounds the cached names per kind; past it the kind starts over.
const cacheMax = 1 << 17

type cache struct {
	mu   sync.Mutex
	ver  int64     // the catalog version everything cached was read under
	born time.Time // when the cache started over
	res  map[Ref]Resolution
	ent  map[string]Entry
}

// versionKey is incremented around every Apply (see above).
func (c *Catalog) versionKey() string { return c.prefix + "{catalog}:version" }

// bumpVersion increments the catalog version.
func (c *Catalog) bumpVersion(ctx context.Context) error {
	if err := c.rdb.Incr(ctx, c.versionKey()).Err(); err != nil {
		return fmt.Errorf("incrementing the catalog version: %w", err)
	}
	return nil
}

// check starts the cache over when ver is newer than what it holds or it
// is older than cacheTTL, and reports whether values read under ver may be
// cached (not when ver is older than the cache: another reader already saw
// a newer catalog).
func (k *cache) check(ver int64, now time.Time) bool {
	if ver > k.ver || k.res == nil {
		k.ver, k.born = ver, now
		k.res, k.ent = map[Ref]Resolution{}, map[string]Entry{}
	}
	return ver == k.ver
}

// expire starts the cache over when it is older than cacheTTL.
func (k *cache) expire(now time.Time) {
	if now.Sub(k.born) > cacheTTL {
		k.born = now
		k.res, k.ent = map[Ref]Resolution{}, map[string]Entry{}
	}
}

// readVersion parses the version GET queued with a read ("" is 0).
func readVersion(cmd *redis.StringCmd) (int64, error) {
	s, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the catalog version: %w", err)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("catalog version %q: %w", s, err)
	}
	return v, nil
}

// Version is the catalog version a cached read was checked against, as
// Resolve and Lookup return it. Handed to a later read of the same unit of
// work (Lookup's at: the propagation of an intake batch, after the batch's
// Resolve), that read sends no GET of its own: what it returns reflects at
// least every change whose writer returned before the version was read.
// The zero Version is none: the read gets the version itself.
type Version struct {
	n   int64
	set bool
}

// versionCtx is the context key of a Version read after a batch's events
// (AfterRead).
type versionCtx struct{}

// AfterRead queues GET of the catalog version on pipe, in the pipeline
// that reads a batch of intake events, after the read (sync/stream's
// Options.AfterRead: Redis runs it once the read has its events). The
// function it returns puts the version into the context the batch is
// handled with, and a Resolve under that context reads under it, with no
// GET of its own: every change whose writer returned before the events
// were read is reflected. When the GET failed the context is left as it
// was (Resolve then reads the version itself).
func (c *Catalog) AfterRead(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context {
	cmd := pipe.Get(ctx, c.versionKey())
	return func(ctx context.Context) context.Context {
		v, err := readVersion(cmd)
		if err != nil {
			return ctx
		}
		return context.WithValue(ctx, versionCtx{}, Version{n: v, set: true})
	}
}

// versionOf is the Version AfterRead put in ctx (zero: none).
func versionOf(ctx context.Context) Version {
	v, _ := ctx.Value(versionCtx{}).(Version)
	return v
}

// cachedRead is the cache's read path for one kind of value: hits from m
// (under the cached version) and the misses read by read, which queues GET
// of the version first on its pipeline when withVersion is set. Without at
// the version is that GET's; with at it is at's, and no GET is sent (a
// round trip only for misses). When the version is not the one the hits
// were cached under, they are read again. It returns the version used.
func cachedRead[K comparable, V any](ctx context.Context, c *Catalog, m func(*cache) map[K]V, keys []K, at Version,
	read func(ctx context.Context, keys []K, withVersion bool) (map[K]V, *redis.StringCmd, error)) (map[K]V, Version, error) {
	out := make(map[K]V, len(keys))
	if len(keys) == 0 {
		return out, at, nil
	}
	k := &c.cache
	k.mu.Lock()
	k.expire(time.Now())
	was := k.ver
	missing := map[K]bool{}
	var misses []K
	for _, key := range keys {
		if v, ok := m(k)[key]; ok {
			out[key] = v
		} else if !missing[key] {
			missing[key] = true
			misses = append(misses, key)
		}
	}
	k.mu.Unlock()
	got, verCmd, err := read(ctx, misses, !at.set)
	if err != nil {
		return nil, Version{}, err
	}
	ver := at.n
	if !at.set {
		if ver, err = readVersion(verCmd); err != nil {
			return nil, Version{}, err
		}
	}
	if ver != was && len(out) > 0 {
		// What was cached is of another version: read it again.
		stale := make([]K, 0, len(out))
		for key := range out {
			stale = append(stale, key)
		}
		if out, _, err = read(ctx, stale, false); err != nil {
			return nil, Version{}, err
		}
	}
	for key, v := range got {
		out[key] = v
	}
	k.mu.Lock()
	if k.check(ver, time.Now()) && len(m(k))+len(out) <= cacheMax {
		cm := m(k)
		for key, v := range out {
			cm[key] = v
		}
	}
	k.mu.Unlock()
	return out, Version{n: ver, set: true}, nil
}
