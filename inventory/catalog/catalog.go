package catalog

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// sep joins the parts of a field; names containing it are refused (the
// ledger refuses it in ids too).
const sep = "\x1f"

// Field names inside a name's hash (see Entry).
const (
	fMapped  = "m" + sep // m␟channel → "multiplier␟target": this name, as a listing id on channel, stands for target
	fListing = "l" + sep // l␟channel␟listing → multiplier: this SKU backs that listing
	fKit     = "kit"     // → "qty␟sku␟qty␟sku…": this name is a kit of those components
	fUsedIn  = "u" + sep // u␟kit → qty: this SKU is a component of kit
)

// Mapping says that a listing on a channel stands for Multiplier units of
// SKU (a ledger SKU or a kit).
type Mapping struct {
	Channel    string `json:"channel" yaml:"channel"`
	Listing    string `json:"listing" yaml:"listing"`
	SKU        string `json:"sku" yaml:"sku"`
	Multiplier int64  `json:"multiplier" yaml:"multiplier"`
	// Line is where the mapping was read (a file's line, an API body's
	// item); 0 when unknown.
	Line int `json:"-" yaml:"-"`
}

// Component is one ledger SKU of a kit and how many units of it one kit takes.
type Component struct {
	SKU      string `json:"sku" yaml:"sku"`
	Quantity int64  `json:"quantity" yaml:"quantity"`
	Line     int    `json:"-" yaml:"-"`
}

// Kit is a SKU sold as its components; it holds no stock of its own.
type Kit struct {
	SKU        string      `json:"sku" yaml:"sku"`
	Components []Component `json:"components" yaml:"components"`
	Line       int         `json:"-" yaml:"-"`
}

// Listing is one channel listing a SKU backs, with its multiplier.
type Listing struct {
	Channel    string `json:"channel"`
	ID         string `json:"listing"`
	Multiplier int64  `json:"multiplier"`
}

// Target is what a mapped listing stands for.
type Target struct {
	SKU        string `json:"sku"`
	Multiplier int64  `json:"multiplier"`
}

// Entry is everything the catalog knows of one name.
type Entry struct {
	Name string `json:"sku"`
	// MappedOn: channel → what this name, as a listing id on that channel,
	// stands for (instead of the ledger SKU of the same name).
	MappedOn map[string]Target `json:"mapped_on,omitempty"`
	// Listings this SKU (or kit) backs through mappings, sorted.
	Listings []Listing `json:"listings,omitempty"`
	// Components: set when the name is a kit.
	Components []Component `json:"components,omitempty"`
	// Kits that contain this SKU: kit → units per kit.
	Kits map[string]int64 `json:"kits,omitempty"`
}

// IsKit says whether the name is a kit.
func (e Entry) IsKit() bool { return len(e.Components) > 0 }

// Empty says whether the catalog knows nothing of the name.
func (e Entry) Empty() bool {
	return len(e.MappedOn) == 0 && len(e.Listings) == 0 && len(e.Components) == 0 && len(e.Kits) == 0
}

// Catalog is the catalog in one Redis (or Redis Cluster). Safe for
// concurrent use; all its state is in Redis.
type Catalog struct {
	rdb    redis.UniversalClient
	prefix string
	cache  cache // Resolve's and Lookup's (cache.go)
}

// New returns the catalog under prefix (the ledger's key prefix). No I/O.
func New(rdb redis.UniversalClient, prefix string) *Catalog {
	return &Catalog{rdb: rdb, prefix: prefix}
}

// tagOf is a name as it appears inside a hash tag: itself, or "~" + hex
// when it holds a brace or starts with "~" (as the ledger's keys do, so a
// name's catalog hash shares the slot of the ledger SKU of that name).
func tagOf(name string) string {
	if strings.ContainsAny(name, "{}") || strings.HasPrefix(name, "~") {
		return "~" + hex.EncodeToString([]byte(name))
	}
	return name
}

// key is the hash of everything the catalog knows of name.
func (c *Catalog) key(name string) string { return c.prefix + "cat:{" + tagOf(name) + "}" }

// Global keys share the tag {catalog}.
func (c *Catalog) journalKey() string  { return c.prefix + "{catalog}:journal" }
func (c *Catalog) pendingKey() string  { return c.prefix + "{catalog}:pending" }
func (c *Catalog) seqKey() string      { return c.prefix + "{catalog}:seq" }
func (c *Catalog) kitsKey() string     { return c.prefix + "{catalog}:kits" }
func (c *Catalog) listingsKey() string { return c.prefix + "{catalog}:listings" }
func (c *Catalog) lockKey() string     { return c.prefix + "{catalog}:lock" }

// Entries reads what the catalog knows of names, in one round trip. Every
// name has an entry (an empty one when the catalog knows nothing of it).
// Writers read through it; the hot paths use Lookup.
func (c *Catalog) Entries(ctx context.Context, names []string) (map[string]Entry, error) {
	out, _, err := c.entries(ctx, names, false)
	return out, err
}

// Lookup is Entries through the versioned cache (cache.go): names read
// before under the current catalog version come from memory, the others
// cost one round trip with the version check. Given at (the Version of an
// earlier read of the same unit of work: the Resolve of the intake batch
// being propagated, the first Lookup of a propagation), it sends no GET of
// the version and reads under at: all cached costs no round trip, and what
// it returns reflects every change whose writer returned before at was
// read. The entries returned are shared: read them, never change them.
func (c *Catalog) Lookup(ctx context.Context, names []string, at Version) (map[string]Entry, Version, error) {
	return cachedRead(ctx, c, func(k *cache) map[string]Entry { return k.ent }, names, at, c.entries)
}

// entries reads names' entries, after GET of the catalog version when
// withVersion is set (then that command is returned).
func (c *Catalog) entries(ctx context.Context, names []string, withVersion bool) (map[string]Entry, *redis.StringCmd, error) {
	out := make(map[string]Entry, len(names))
	if len(names) == 0 && !withVersion {
		return out, nil, nil
	}
	pipe := c.rdb.Pipeline()
	var ver *redis.StringCmd
	if withVersion {
		ver = pipe.Get(ctx, c.versionKey())
	}
	cmds := make(map[string]*redis.MapStringStringCmd, len(names))
	for _, n := range names {
		if _, ok := cmds[n]; !ok {
			cmds[n] = pipe.HGetAll(ctx, c.key(n))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("reading the catalog of %d names: %w", len(cmds), err)
	}
	for n, cmd := range cmds {
		h, err := cmd.Result()
		if err != nil {
			return nil, nil, fmt.Errorf("reading the catalog of %q: %w", n, err)
		}
		e, err := decodeEntry(n, h)
		if err != nil {
			return nil, nil, err
		}
		out[n] = e
	}
	return out, ver, nil
}

// Entry reads what the catalog knows of one name.
func (c *Catalog) Entry(ctx context.Context, name string) (Entry, error) {
	m, err := c.Entries(ctx, []string{name})
	if err != nil {
		return Entry{}, err
	}
	return m[name], nil
}

func decodeEntry(name string, h map[string]string) (Entry, error) {
	e := Entry{Name: name}
	for f, v := range h {
		if err := e.decodeField(f, v); err != nil {
			return Entry{}, fmt.Errorf("catalog of %q, field %q: %w", name, f, err)
		}
	}
	sort.Slice(e.Listings, func(i, j int) bool {
		a, b := e.Listings[i], e.Listings[j]
		return a.Channel < b.Channel || a.Channel == b.Channel && a.ID < b.ID
	})
	return e, nil
}

func (e *Entry) decodeField(f, v string) error {
	switch {
	case f == fKit:
		comps, err := decodeComponents(v)
		e.Components = comps
		return err
	case strings.HasPrefix(f, fMapped):
		t, err := decodeTarget(v)
		if err != nil {
			return err
		}
		if e.MappedOn == nil {
			e.MappedOn = map[string]Target{}
		}
		e.MappedOn[f[len(fMapped):]] = t
	case strings.HasPrefix(f, fListing):
		ch, id, ok := strings.Cut(f[len(fListing):], sep)
		m, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || m < 1 {
			return errors.New("malformed listing")
		}
		e.Listings = append(e.Listings, Listing{Channel: ch, ID: id, Multiplier: m})
	case strings.HasPrefix(f, fUsedIn):
		q, err := strconv.ParseInt(v, 10, 64)
		if err != nil || q < 1 {
			return errors.New("malformed kit use")
		}
		if e.Kits == nil {
			e.Kits = map[string]int64{}
		}
		e.Kits[f[len(fUsedIn):]] = q
	default:
		return errors.New("unknown field")
	}
	return nil
}

func encodeTarget(t Target) string { return strconv.FormatInt(t.Multiplier, 10) + sep + t.SKU }

func decodeTarget(v string) (Target, error) {
	m, sku, ok := strings.Cut(v, sep)
	n, err := strconv.ParseInt(m, 10, 64)
	if !ok || err != nil || n < 1 || sku == "" {
		return Target{}, errors.New("malformed mapping")
	}
	return Target{SKU: sku, Multiplier: n}, nil
}

func encodeComponents(cs []Component) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.FormatInt(c.Quantity, 10))
		b.WriteString(sep)
		b.WriteString(c.SKU)
	}
	return b.String()
}

func decodeComponents(v string) ([]Component, error) {
	parts := strings.Split(v, sep)
	if len(parts)%2 != 0 || len(parts) == 0 {
		return nil, errors.New("malformed kit")
	}
	out := make([]Component, 0, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		q, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil || q < 1 || parts[i+1] == "" {
			return nil, errors.New("malformed kit")
		}
		out = append(out, Component{SKU: parts[i+1], Quantity: q})
	}
	return out, nil
}
