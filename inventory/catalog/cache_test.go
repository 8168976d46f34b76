package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// counter counts the commands a client sends, by name.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.add(cmd)
		}
		return next(ctx, cmds)
	}
}
func (c *counter) add(cmd redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[strings.ToLower(cmd.Name())]++
}
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// TestResolveCache: a warm Resolve or Lookup sends one GET (the catalog
// version), not one read per name; a mapping or kit applied through any
// Catalog (another replica's), and a deleted mapping, take effect on the
// next read of every Catalog; a change written without a writer's closing
// increment (a writer that crashed) is read again after the next Apply,
// even one that changes nothing.
func TestResolveCache(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	cnt := &counter{n: map[string]int{}}
	rdb.AddHook(cnt)
	reader := catalog.New(rdb, prefix)
	other := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	t.Cleanup(func() { _ = other.Close() })
	writer := catalog.New(other, prefix)
	refs := make([]catalog.Ref, 50)
	for i := range refs {
		refs[i] = catalog.Ref{Channel: "shop", SKU: fmt.Sprintf("L-%d", i)}
	}
	resolve := func() map[catalog.Ref]catalog.Resolution {
		t.Helper()
		res, _, err := reader.Resolve(ctx, refs)
		if err != nil || len(res) != len(refs) {
			t.Fatal(len(res), err)
		}
		return res
	}
	resolve()
	if n := cnt.take(); n["hmget"] != 50 || n["get"] != 1 {
		t.Fatalf("cold resolve sent %v, want 50 HMGET and the version GET", n)
	}
	for i := 0; i < 3; i++ {
		resolve()
		if n := cnt.take(); len(n) != 1 || n["get"] != 1 {
			t.Fatalf("warm resolve %d sent %v, want the version GET alone", i, n)
		}
	}
	if _, _, err := reader.Lookup(ctx, []string{"A", "K"}, catalog.Version{}); err != nil {
		t.Fatal(err)
	}
	cnt.take()
	if _, _, err := reader.Lookup(ctx, []string{"A", "K"}, catalog.Version{}); err != nil {
		t.Fatal(err)
	}
	if n := cnt.take(); len(n) != 1 || n["get"] != 1 {
		t.Fatalf("warm lookup sent %v, want the version GET alone", n)
	}

	// Another Catalog (a replica) maps L-3 to 6 A and makes K a kit.
	plan := catalog.Plan{
		Mappings: []catalog.Mapping{{Channel: "shop", Listing: "L-3", SKU: "A", Multiplier: 6}},
		Kits:     []catalog.Kit{{SKU: "K", Components: []catalog.Component{{SKU: "A", Quantity: 2}}}},
	}
	if _, err := writer.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	if got := resolve()[refs[3]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "A", Per: 6}) {
		t.Fatalf("after the mapping L-3 resolves to %+v, want 6 A", got)
	}
	if got := resolve()[refs[4]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "L-4", Per: 1}) {
		t.Fatalf("L-4 resolves to %+v, want itself", got)
	}
	ents, _, err := reader.Lookup(ctx, []string{"A", "K"}, catalog.Version{})
	if err != nil {
		t.Fatal(err)
	}
	if !ents["K"].IsKit() || len(ents["A"].Listings) != 1 || ents["A"].Kits["K"] != 2 {
		t.Fatalf("after the change Lookup gives %+v", ents)
	}

	// A delete (another writer) takes effect on the next read too.
	if _, err := writer.DeleteMapping(ctx, nil, "shop", "L-3", true, "test"); err != nil {
		t.Fatal(err)
	}
	if got := resolve()[refs[3]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "L-3", Per: 1}) {
		t.Fatalf("after deleting the mapping L-3 resolves to %+v, want itself", got)
	}

	// A write without a writer's closing increment (a crashed Apply): not
	// seen while the version stands, seen after the next Apply.
	key := prefix + "cat:{L-7}"
	if err := rdb.HSet(ctx, key, "m\x1fshop", "2\x1fA").Err(); err != nil {
		t.Fatal(err)
	}
	if got := resolve()[refs[7]]; got.Parts[0].SKU != "L-7" {
		t.Fatalf("L-7 resolved to %+v before any Apply: the cache was not used", got)
	}
	if _, err := writer.Apply(ctx, catalog.Plan{}, "test"); err != nil {
		t.Fatal(err)
	}
	if got := resolve()[refs[7]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "A", Per: 2}) {
		t.Fatalf("after an Apply with no change L-7 resolves to %+v, want 2 A", got)
	}
}

// TestLookupUnderAVersion: a Lookup given the Version of an earlier read
// (the Resolve of the intake batch it propagates) sends no GET of its own:
// nothing at all when every name is cached. A mapping applied through
// another Catalog (a replica) before that Resolve is seen by both: the
// Resolve reads the version again, and the Lookup under it reads what was
// cached under an older version again, also on a Catalog whose cache the
// Resolve did not refresh.
func TestLookupUnderAVersion(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	cnt := &counter{n: map[string]int{}}
	rdb.AddHook(cnt)
	reader := catalog.New(rdb, prefix)
	client := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	writer, second := catalog.New(client(), prefix), catalog.New(client(), prefix)
	refs := []catalog.Ref{{Channel: "shop", SKU: "L-1"}, {Channel: "shop", SKU: "L-2"}}
	listings := func(c *catalog.Catalog, at catalog.Version) ([]catalog.Listing, catalog.Version) {
		t.Helper()
		ents, v, err := c.Lookup(ctx, []string{"A"}, at)
		if err != nil {
			t.Fatal(err)
		}
		return ents["A"].Listings, v
	}

	// Warm: both names resolved, A looked up, on both readers.
	_, v, err := reader.Resolve(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	listings(reader, catalog.Version{})
	listings(second, catalog.Version{})
	cnt.take()
	if got, w := listings(reader, v); len(got) != 0 || w != v {
		t.Fatalf("warm lookup under the resolve's version: %v, version %v (want %v)", got, w, v)
	}
	if n := cnt.take(); len(n) != 0 {
		t.Fatalf("warm lookup under a version sent %v, want nothing", n)
	}

	// A replica maps L-2 to 2 A.
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "L-2", SKU: "A", Multiplier: 2}}}
	if _, err := writer.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	res, v2, err := reader.Resolve(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[refs[1]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "A", Per: 2}) {
		t.Fatalf("after the mapping L-2 resolves to %+v, want 2 A", got)
	}
	if v2 == v {
		t.Fatal("the resolve after an Apply returned the version of before it")
	}
	cnt.take()
	want := []catalog.Listing{{Channel: "shop", ID: "L-2", Multiplier: 2}}
	if got, w := listings(reader, v2); !reflect.DeepEqual(got, want) || w != v2 {
		t.Fatalf("lookup under the new version: A backs %v (version %v), want %v", got, w, want)
	}
	if n := cnt.take(); n["get"] != 0 || n["hgetall"] != 1 {
		t.Fatalf("lookup under a version sent %v, want A's HGETALL and no GET", n)
	}
	// second cached A before the Apply; under the newer version it reads
	// A again.
	if got, _ := listings(second, v2); !reflect.DeepEqual(got, want) {
		t.Fatalf("another replica's lookup under the new version: A backs %v, want %v", got, want)
	}
}

// TestResolveUnderAfterRead: a Resolve under the context AfterRead gives
// (an intake batch's, its version read in the pipeline of the batch's
// read) sends no GET of its own, and a mapping applied through another
// Catalog before that read is seen by it; the Version it returns is that
// one.
func TestResolveUnderAfterRead(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	cnt := &counter{n: map[string]int{}}
	rdb.AddHook(cnt)
	reader := catalog.New(rdb, prefix)
	other := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	t.Cleanup(func() { _ = other.Close() })
	writer := catalog.New(other, prefix)
	refs := []catalog.Ref{{Channel: "shop", SKU: "L-1"}, {Channel: "shop", SKU: "L-2"}}
	batch := func() context.Context {
		t.Helper()
		pipe := rdb.Pipeline()
		pipe.Ping(ctx) // the batch's read
		after := reader.AfterRead(ctx, pipe)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) { // no version yet: nil
			t.Fatal(err)
		}
		cnt.take()
		return after(ctx)
	}
	// Warm, then a warm batch: no command at all.
	_, v, err := reader.Resolve(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if _, w, err := reader.Resolve(batch(), refs); err != nil || w != v {
		t.Fatal(w, v, err)
	}
	if n := cnt.take(); len(n) != 0 {
		t.Fatalf("a warm resolve under the batch's version sent %v, want nothing", n)
	}
	plan := catalog.Plan{Mappings: []catalog.Mapping{{Channel: "shop", Listing: "L-2", SKU: "A", Multiplier: 3}}}
	if _, err := writer.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	res, w, err := reader.Resolve(batch(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if got := res[refs[1]]; len(got.Parts) != 1 || got.Parts[0] != (catalog.Part{SKU: "A", Per: 3}) {
		t.Fatalf("under a batch read after the mapping L-2 resolves to %+v, want 3 A", got)
	}
	if n := cnt.take(); n["get"] != 0 || n["hmget"] != 2 || w == v {
		t.Fatalf("the resolve under a newer version sent %v (want both HMGETs, no GET) and returned version %v (before %v)", n, w, v)
	}
}
