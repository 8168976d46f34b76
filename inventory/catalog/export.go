package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Export reads the whole catalog as a plan that Apply would write again:
// mappings sorted by channel and listing, kits by SKU.
func (c *Catalog) Export(ctx context.Context) (Plan, error) {
	kits, err := c.rdb.SMembers(ctx, c.kitsKey()).Result()
	if err != nil {
		return Plan{}, fmt.Errorf("listing kits: %w", err)
	}
	listings, err := c.rdb.SMembers(ctx, c.listingsKey()).Result()
	if err != nil {
		return Plan{}, fmt.Errorf("listing mapped listings: %w", err)
	}
	refs := make([]Ref, 0, len(listings))
	names := append([]string(nil), kits...)
	for _, l := range listings {
		ch, id, ok := strings.Cut(l, sep)
		if !ok {
			continue
		}
		refs = append(refs, Ref{Channel: ch, SKU: id})
		names = append(names, id)
	}
	entries, err := c.Entries(ctx, names)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	for _, r := range refs {
		if t, ok := entries[r.SKU].MappedOn[r.Channel]; ok {
			p.Mappings = append(p.Mappings, Mapping{Channel: r.Channel, Listing: r.SKU, SKU: t.SKU, Multiplier: t.Multiplier})
		}
	}
	for _, k := range kits {
		if e := entries[k]; e.IsKit() {
			p.Kits = append(p.Kits, Kit{SKU: k, Components: e.Components})
		}
	}
	sort.Slice(p.Mappings, func(i, j int) bool {
		a, b := p.Mappings[i], p.Mappings[j]
		return a.Channel < b.Channel || a.Channel == b.Channel && a.Listing < b.Listing
	})
	sort.Slice(p.Kits, func(i, j int) bool { return p.Kits[i].SKU < p.Kits[j].SKU })
	return p, nil
}
