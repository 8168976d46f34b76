// Package propagate is the heart of the flow from the ledger to the
// channels: it reads the ledger's stock of the SKUs that changed, turns it
// into each channel's available-to-sell quantity by the channel's
// allocation rules (ATS), and queues that in the channel's outbox (latest
// value wins; an unchanged value is not queued), waking the channel's
// pusher. Ingest calls it after applying orders, the intent Sweeper after a
// crash or another writer's change, and reconcile to correct drift.
//
// It decides what to list, never how: it talks to no channel and writes
// nothing but outboxes.
package propagate

import (
	"context"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Stock is what propagation reads of the ledger.
type Stock interface {
	Stock(ctx context.Context, sku string) (inventory.SKUStock, error)
	StockMany(ctx context.Context, skus []string) (map[string]inventory.SKUStock, error)
	StockManyWith(ctx context.Context, skus []string, with func(redis.Pipeliner)) (map[string]inventory.SKUStock, error)
}

// Channel is one channel as propagation sees it.
type Channel struct {
	Name       string
	Locations  []string // the locations it sells from
	Allocation Allocation
	// PerLocation: the channel is pushed location by location (stock_mode
	// per_location): one outbox item per listing and location, keyed
	// outbox.LocationKey, each location's share of the channel's ATS
	// (LocationATS).
	PerLocation bool
	Outbox      *outbox.Outbox
	// Echoes: the channel takes its own sales off its listing and pushes
	// by compare-and-set (connectors.SaleEchoer), so its next push
	// compares from that much less after a sale there.
	Echoes bool
	// Wake tells the channel's pusher its outbox has new items; nil when
	// the channel can not push (nothing is queued for it then).
	Wake func()
}

// Sold is, per channel and SKU, the units that channel's own orders newly
// reserved in one batch: the channel has taken them off its listing itself.
type Sold map[string]map[string]int64

// Add counts n units of sku sold on channel.
func (s Sold) Add(channel, sku string, n int64) {
	m := s[channel]
	if m == nil {
		m = map[string]int64{}
		s[channel] = m
	}
	m[sku] += n
}

// Propagator computes and queues every channel's quantities.
type Propagator struct {
	rdb    redis.UniversalClient
	stock  Stock
	chans  []*Channel // by name
	byName map[string]*Channel
	cat    Catalog // nil: every SKU is listed under its own name only
}

// New builds a Propagator over the channels. No I/O.
func New(rdb redis.UniversalClient, stock Stock, channels []Channel) *Propagator {
	p := &Propagator{rdb: rdb, stock: stock, byName: make(map[string]*Channel, len(channels))}
	for i := range channels {
		ch := channels[i]
		p.chans = append(p.chans, &ch)
		p.byName[ch.Name] = &ch
	}
	sort.Slice(p.chans, func(i, j int) bool { return p.chans[i].Name < p.chans[j].Name })
	return p
}

// Propagate recomputes the listed quantity of skus on every channel that
// pushes and queues it in the channel's outbox: under each SKU's own name,
// on every listing mapped to it, and on every kit that contains it (see
// WithCatalog); the outbox writes are one round trip. cause is
// when the change arrived (for the latency metric); sold (may be nil) is
// what each channel's own orders newly reserved. at is the catalog version
// the change was read under (catalog.Resolve's, for an intake batch): the
// catalog is read under it, without a version check of its own, so every
// mapping or kit applied before it was read is reflected. A zero at
// (sweeper, reconcile, any caller without one) checks the version.
func (p *Propagator) Propagate(ctx context.Context, skus []string, cause time.Time, sold Sold, at catalog.Version) error {
	_, err := p.PropagateWith(ctx, skus, cause, sold, at, nil)
	return err
}

// PropagateWith is Propagate with the caller's commands riding on its
// stock read, a round trip it makes anyway: with (when set) queues them in
// that pipeline, after the reads, so Redis runs them before any outbox
// write of this propagation. It reports whether with was called (at most
// once); when it was not (nothing to propagate, or an error before the
// read), the caller sends its commands itself.
func (p *Propagator) PropagateWith(ctx context.Context, skus []string, cause time.Time, sold Sold, at catalog.Version, with func(redis.Pipeliner)) (rode bool, err error) {
	if len(skus) == 0 || len(p.chans) == 0 {
		return false, nil
	}
	ride := with
	if with != nil {
		ride = func(pipe redis.Pipeliner) { rode = true; with(pipe) }
	}
	f, err := p.fanOut(ctx, skus, at, ride)
	if err != nil {
		return rode, err
	}
	var batches []outbox.Batch
	var woken []*Channel
	for _, ch := range p.chans {
		if ch.Wake == nil {
			continue
		}
		wants := f.wants(ch)
		for i := range wants {
			wants[i].Cause = cause
			if ch.Echoes {
				wants[i].Echo = sold[ch.Name][wants[i].SKU]
			}
		}
		batches = append(batches, outbox.Batch{Outbox: ch.Outbox, Wants: wants})
		woken = append(woken, ch)
	}
	queued, err := outbox.EnqueueAll(ctx, p.rdb, batches)
	if err != nil {
		return rode, err
	}
	for i, n := range queued {
		if n > 0 {
			woken[i].Wake()
		}
	}
	return rode, nil
}

// ATS is the quantity the channel lists for a SKU with stock st.
func (c *Channel) ATS(st inventory.SKUStock) int64 {
	return ATS(st.Available(), c.Locations, c.Allocation)
}

// Channel returns the named channel.
func (p *Propagator) Channel(name string) (*Channel, bool) {
	c, ok := p.byName[name]
	return c, ok
}

// ATS returns sku's stock and the quantity each channel lists for it now,
// by channel name.
func (p *Propagator) ATS(ctx context.Context, sku string) (inventory.SKUStock, map[string]int64, error) {
	st, err := p.stock.Stock(ctx, sku)
	if err != nil {
		return st, nil, err
	}
	out := make(map[string]int64, len(p.chans))
	for _, ch := range p.chans {
		out[ch.Name] = ch.ATS(st)
	}
	return st, out, nil
}

// SetReported records what a channel says it lists for sku (its own stock
// change, announced), so its next push compares against it. An unknown
// channel is ignored, and so is a per-location channel: such a report is
// of one channel location and names no shelfsync location (the next push
// compares from the figure last accepted; a wrong one costs a stale
// compare).
func (p *Propagator) SetReported(ctx context.Context, channel, sku string, qty int64) error {
	ch, ok := p.byName[channel]
	if !ok || ch.PerLocation {
		return nil
	}
	return ch.Outbox.SetReported(ctx, sku, qty)
}
