package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
)

// Ref is a listing as an order line names it: the channel and the SKU the
// channel gives.
type Ref struct{ Channel, SKU string }

// Part is one ledger SKU an order line moves, and how many of its units
// one unit of the line takes.
type Part struct {
	SKU string
	Per int64
}

// Resolution is what one listing stands for in the ledger.
type Resolution struct {
	// Parts are the ledger lines one order line becomes: one (the mapped
	// or same-named SKU) or, for a kit, one per component.
	Parts []Part
	// Kit is the kit's SKU when the listing is a kit; its parts' line ids
	// are derived from the line's (KitLineID).
	Kit string
}

// identity is the resolution of a listing the catalog knows nothing of:
// the ledger SKU of the same name, as before the catalog.
func identity(sku string) Resolution { return Resolution{Parts: []Part{{SKU: sku, Per: 1}}} }

// Resolve says what each listing stands for: a mapping of the listing on
// its channel, a kit of that name, or the same-named ledger SKU. Listings
// resolved before under the current catalog version come from memory
// (cache.go); the others cost one round trip with the version check (two
// when a mapping points at a kit), and a catalog changed since costs one
// more. Under a context from AfterRead (an intake batch's) it reads under
// the version read with the batch's events and sends no GET: a warm batch
// costs no round trip. The Version returned is the one the read was
// checked against: the propagation of what was resolved reads the catalog
// under it (Lookup).
func (c *Catalog) Resolve(ctx context.Context, refs []Ref) (map[Ref]Resolution, Version, error) {
	return cachedRead(ctx, c, func(k *cache) map[Ref]Resolution { return k.res }, refs, versionOf(ctx), c.resolve)
}

// resolve reads what refs stand for, after GET of the catalog version when
// withVersion is set (then that command is returned).
func (c *Catalog) resolve(ctx context.Context, refs []Ref, withVersion bool) (map[Ref]Resolution, *redis.StringCmd, error) {
	out := make(map[Ref]Resolution, len(refs))
	pipe := c.rdb.Pipeline()
	var ver *redis.StringCmd
	if withVersion {
		ver = pipe.Get(ctx, c.versionKey())
	}
	if len(refs) == 0 && !withVersion {
		return out, nil, nil
	}
	cmds := make(map[Ref]*redis.SliceCmd, len(refs))
	for _, r := range refs {
		if _, ok := cmds[r]; !ok {
			cmds[r] = pipe.HMGet(ctx, c.key(r.SKU), fMapped+r.Channel, fKit)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("resolving %d listings: %w", len(cmds), err)
	}
	targets := map[Ref]Target{} // listings mapped to another name
	for r, cmd := range cmds {
		v, err := cmd.Result()
		if err != nil {
			return nil, nil, fmt.Errorf("resolving listing %s on %s: %w", r.SKU, r.Channel, err)
		}
		mapped, _ := v[0].(string)
		kit, _ := v[1].(string)
		if mapped == "" {
			res, err := resolutionOf(r.SKU, Target{SKU: r.SKU, Multiplier: 1}, kit)
			if err != nil {
				return nil, nil, err
			}
			out[r] = res
			continue
		}
		t, err := decodeTarget(mapped)
		if err != nil {
			return nil, nil, fmt.Errorf("mapping of %s on %s: %w", r.SKU, r.Channel, err)
		}
		targets[r] = t
	}
	if err := c.resolveTargets(ctx, targets, out); err != nil {
		return nil, nil, err
	}
	return out, ver, nil
}

// resolveTargets resolves mapped listings: their target may be a kit.
func (c *Catalog) resolveTargets(ctx context.Context, targets map[Ref]Target, out map[Ref]Resolution) error {
	if len(targets) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	kits := make(map[string]*redis.StringCmd, len(targets))
	for _, t := range targets {
		if _, ok := kits[t.SKU]; !ok {
			kits[t.SKU] = pipe.HGet(ctx, c.key(t.SKU), fKit)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("resolving mapped listings: %w", err)
	}
	for r, t := range targets {
		res, err := resolutionOf(t.SKU, t, kits[t.SKU].Val())
		if err != nil {
			return err
		}
		out[r] = res
	}
	return nil
}

// resolutionOf is the resolution of Multiplier units of name, whose kit
// field is kit ("" when it is no kit).
func resolutionOf(name string, t Target, kit string) (Resolution, error) {
	if kit == "" {
		return Resolution{Parts: []Part{{SKU: t.SKU, Per: t.Multiplier}}}, nil
	}
	comps, err := decodeComponents(kit)
	if err != nil {
		return Resolution{}, fmt.Errorf("kit %s: %w", name, err)
	}
	res := Resolution{Kit: name, Parts: make([]Part, len(comps))}
	for i, cp := range comps {
		res.Parts[i] = Part{SKU: cp.SKU, Per: cp.Quantity * t.Multiplier}
	}
	return res, nil
}

// KitLineID is the ledger line id of a kit line's component: derived from
// the line id and the component alone, so every state of the kit line
// lands on the same component lines (repeats, reorders, cancels and
// returns change only the differences, as for any line).
func KitLineID(lineID, component string) string { return lineID + "#" + component }

// Unchanged reports whether r translates the line state st into itself
// (a listing neither mapped nor a kit, or not resolved): ExpandLine would
// return st alone and Translation nothing, so callers on the hot path can
// skip both and their allocations.
func Unchanged(st inventory.LineState, r Resolution) bool {
	switch len(r.Parts) {
	case 0:
		return true
	case 1:
		return r.Kit == "" && r.Parts[0].SKU == st.SKU && r.Parts[0].Per == 1
	}
	return false
}

// ExpandLine turns an order line's state, as the channel names it, into
// the ledger line states it stands for: the same line with the mapped SKU
// and its quantities times the multiplier, or one line per kit component
// (line id KitLineID, quantities times the component's units per kit).
// The version, location and flags are the line's.
func ExpandLine(st inventory.LineState, r Resolution) []inventory.LineState {
	if len(r.Parts) == 0 {
		r = identity(st.SKU)
	}
	out := make([]inventory.LineState, len(r.Parts))
	for i, p := range r.Parts {
		s := st
		s.SKU = p.SKU
		s.Ordered, s.Shipped, s.Cancelled, s.Returned = st.Ordered*p.Per, st.Shipped*p.Per, st.Cancelled*p.Per, st.Returned*p.Per
		if r.Kit != "" {
			s.LineID = KitLineID(st.LineID, p.SKU)
		}
		out[i] = s
	}
	return out
}

// KitATS is what a kit lists on a channel: the minimum over its
// components of floor(the component's quantity on that channel / units per
// kit). ats gives a component's quantity on the channel (after the
// channel's allocation rules); a kit without components lists nothing.
func KitATS(comps []Component, ats func(sku string) int64) int64 {
	if len(comps) == 0 {
		return 0
	}
	var q int64 = -1
	for _, cp := range comps {
		n := ats(cp.SKU)
		if n <= 0 || cp.Quantity <= 0 {
			return 0
		}
		if k := n / cp.Quantity; q < 0 || k < q {
			q = k
		}
	}
	return q
}

// ListingQuantity is what a listing of Multiplier units lists when its SKU
// lists ats: floor(ats / multiplier), never negative.
func ListingQuantity(ats, multiplier int64) int64 {
	if ats <= 0 || multiplier <= 0 {
		return 0
	}
	return ats / multiplier
}
