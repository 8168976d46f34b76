package propagate

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Catalog is what propagation reads of the catalog (inventory/catalog):
// the listings a SKU backs, the kits it is in, a kit's components.
type Catalog interface {
	Lookup(ctx context.Context, names []string, at catalog.Version) (map[string]catalog.Entry, catalog.Version, error)
}

// WithCatalog makes propagation translate through c: every listing a
// changed SKU backs and every kit containing it is recomputed. Without a
// catalog each SKU is listed under its own name only. Call before use.
func (p *Propagator) WithCatalog(c Catalog) *Propagator {
	p.cat = c
	return p
}

// fanout is what a change of some names moves: the ledger SKUs among them
// (plain), every kit among them or containing one of them, what the
// catalog says of each, and the stock of every ledger SKU involved.
type fanout struct {
	plain   []string
	kits    []string
	entries map[string]catalog.Entry
	stock   map[string]inventory.SKUStock
	seen    map[string]bool // names already in plain or kits
	missing []string        // names whose catalog entry is still to read
}

// fanOut reads what changing names moves: the catalog of the names (one
// round trip); of the kits containing them and of what the mapped
// listings among them stand for (one more, when there are any: a listing
// the channel itself changed is listed again from its SKU); and the stock
// of the plain SKUs and every kit component (one more, carrying with's
// commands when it is set: see PropagateWith). The reverse index
// names the kits: nothing is scanned. The catalog is read under at when it
// is set (see Propagate), else under the version the first read gets; the
// second read uses the first's, so a propagation sees one catalog version
// and checks it at most once.
func (p *Propagator) fanOut(ctx context.Context, names []string, at catalog.Version, with func(redis.Pipeliner)) (fanout, error) {
	f := fanout{entries: map[string]catalog.Entry{}, seen: map[string]bool{}}
	if p.cat != nil {
		var err error
		if f.entries, at, err = p.cat.Lookup(ctx, names, at); err != nil {
			return f, fmt.Errorf("reading the catalog to propagate: %w", err)
		}
	}
	targets := f.classify(names)
	if len(f.missing) > 0 {
		more, _, err := p.cat.Lookup(ctx, f.missing, at)
		if err != nil {
			return f, fmt.Errorf("reading the kits to propagate: %w", err)
		}
		for k, e := range more {
			f.entries[k] = e
		}
	}
	for _, t := range targets {
		if f.entries[t].IsKit() {
			f.addKit(t)
		} else {
			f.addPlain(t)
		}
	}
	stockOf := append([]string(nil), f.plain...)
	for _, k := range f.kits {
		for _, c := range f.entries[k].Components {
			stockOf = append(stockOf, c.SKU)
		}
	}
	var err error
	if f.stock, err = p.stock.StockManyWith(ctx, stockOf, with); err != nil {
		return f, fmt.Errorf("reading stock to propagate: %w", err)
	}
	return f, nil
}

// classify sorts the changed names into kits and plain SKUs, adds the kits
// containing them, and returns what the mapped listings among them stand
// for; every name not read yet is in missing.
func (f *fanout) classify(names []string) (targets []string) {
	for _, n := range names {
		e := f.entries[n]
		for _, t := range e.MappedOn {
			targets = append(targets, t.SKU)
			if _, ok := f.entries[t.SKU]; !ok {
				f.missing = append(f.missing, t.SKU)
			}
		}
		if e.IsKit() {
			f.addKit(n)
			continue
		}
		f.addPlain(n)
		for k := range e.Kits {
			f.addKit(k)
		}
	}
	return targets
}

func (f *fanout) addKit(k string) {
	if f.seen[k] {
		return
	}
	f.seen[k] = true
	f.kits = append(f.kits, k)
	if _, ok := f.entries[k]; !ok {
		f.missing = append(f.missing, k)
	}
}

func (f *fanout) addPlain(n string) {
	if !f.seen[n] {
		f.seen[n] = true
		f.plain = append(f.plain, n)
	}
}

// wants is what ch lists of everything the change moved, one item per
// listing: a plain SKU's ATS under its own name (unless its name is a
// listing mapped to something else on ch) and floor(ATS / multiplier) on
// each listing mapped to it; a kit's the same with the kit's ATS (the
// least of its components' ATS on ch divided by the units per kit). A
// per-location channel gets one item per listing and location
// (locationWants).
func (f *fanout) wants(ch *Channel) []outbox.Want {
	if ch.PerLocation {
		return f.locationWants(ch)
	}
	return f.wantsBy(ch, ch.ATS, func(listing string) string { return listing })
}

// wantsBy is wants with the ATS of a ledger SKU given by ats and each
// listing's outbox key by key.
func (f *fanout) wantsBy(ch *Channel, ats func(inventory.SKUStock) int64, key func(string) string) []outbox.Want {
	n := len(f.plain) + len(f.kits) // one listing each, most often
	out := make([]outbox.Want, 0, n)
	at := make(map[string]int, n) // listing → index in out: the last value wins
	// Made once, not per SKU.
	put := func(listing string, q int64) {
		k := key(listing)
		if i, ok := at[k]; ok {
			out[i].Quantity = q
			return
		}
		at[k] = len(out)
		out = append(out, outbox.Want{SKU: k, Quantity: q})
	}
	emit := func(name string, q int64) {
		e := f.entries[name]
		if _, shadowed := e.MappedOn[ch.Name]; !shadowed {
			put(name, q)
		}
		for _, l := range e.Listings {
			if l.Channel == ch.Name {
				put(l.ID, catalog.ListingQuantity(q, l.Multiplier))
			}
		}
	}
	for _, s := range f.plain {
		if st, ok := f.stock[s]; ok {
			emit(s, ats(st))
		}
	}
	for _, k := range f.kits {
		if !f.entries[k].IsKit() {
			// A component names a kit whose definition is not written
			// (yet, or any more): nothing to list for it.
			continue
		}
		emit(k, catalog.KitATS(f.entries[k].Components, func(c string) int64 {
			st, ok := f.stock[c]
			if !ok {
				return 0
			}
			return ats(st)
		}))
	}
	return out
}

// Listed is what every channel would list, per listing, if names changed
// now: each name's own listings and those of every kit containing it
// (channel → listing → quantity).
func (p *Propagator) Listed(ctx context.Context, names ...string) (map[string]map[string]int64, error) {
	f, err := p.fanOut(ctx, names, catalog.Version{}, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]int64, len(p.chans))
	for _, ch := range p.chans {
		m := map[string]int64{}
		for _, w := range f.wants(ch) {
			m[w.SKU] = w.Quantity
		}
		out[ch.Name] = m
	}
	return out, nil
}

// ListedOn is Listed for one channel: what it would list, per listing, if
// names changed now (reconcile compares one channel at a time). An unknown
// channel lists nothing.
func (p *Propagator) ListedOn(ctx context.Context, channel string, names ...string) (map[string]int64, error) {
	f, err := p.fanOut(ctx, names, catalog.Version{}, nil)
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, ch := range p.chans {
		if ch.Name != channel {
			continue
		}
		for _, w := range f.wants(ch) {
			m[w.SKU] = w.Quantity
		}
	}
	return m, nil
}
