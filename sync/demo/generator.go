package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// The shares of the order stream's irregularities, as the issue asks.
const (
	duplicateShare = 0.03 // a notification delivered twice at once
	cancelShare    = 0.10 // the order is cancelled a few seconds later
	refundShare    = 0.03 // an order of a channel that refunds (Shopify) is refunded (restocked) later
	lateShare      = 0.20 // of cancelled orders: the first notification comes again after the cancel
)

// deliveryTimeout bounds one delivery once it started: a delivery in
// flight when the generator stops still completes, so every order placed
// on a fake is told to the daemon.
const deliveryTimeout = 30 * time.Second

// GeneratorOptions configure the order stream.
type GeneratorOptions struct {
	// Rate is orders per second over all channels; 0 places none.
	Rate float64
	// Target is the daemon's base URL (http://host:port).
	Target string
	Client *http.Client
	Seed   uint64
	Logger zerolog.Logger
	// ImmediateCancels is the share of cancelled orders cancelled at once,
	// within the second of the sale (Shopify's updated_at has whole
	// seconds: the cancel then carries the sale's version). The others are
	// cancelled two to five seconds later.
	ImmediateCancels float64
	// Drop is the share of webhook notifications (of every Droppable
	// channel) that never arrive: only the daemon's polls find those
	// changes. A queue (Amazon's SQS) loses nothing, so its messages are
	// never dropped.
	Drop float64
	// Ship ships a share of the orders (zero: none).
	Ship ShipOptions
}

// ChannelCounts is what the generator did on one channel.
type ChannelCounts struct {
	Orders       int64 `json:"orders"`
	Units        int64 `json:"units"`
	Cancels      int64 `json:"cancels"`
	Refunds      int64 `json:"refunds"`
	Duplicates   int64 `json:"duplicates"`
	Redeliveries int64 `json:"late_redeliveries"`
	SoldOut      int64 `json:"sold_out_picks"`
	Immediate    int64 `json:"immediate_cancels"`
	Dropped      int64 `json:"dropped_notifications"`
	Failed       int64 `json:"failed_deliveries"`
	// Catalogue: orders of the catalogue's mapped listings and kits.
	Catalogue int64         `json:"catalogue_orders"`
	Statuses  map[int]int64 `json:"statuses,omitempty"`
	// Shipped: shipments the daemon stored (201, or 200 for a repeat);
	// ShipFailed: shipments it refused, or that could not be posted.
	Shipped    int64 `json:"shipments"`
	ShipFailed int64 `json:"failed_shipments"`
}

// Generator places orders on the fakes and tells the daemon about them.
type Generator struct {
	o   GeneratorOptions
	f   *Fakes
	cat *Catalog
	rng *rand.Rand // only the Run goroutine uses it
	run string     // distinguishes this run's order ids

	wg     sync.WaitGroup
	sem    chan struct{} // bounds concurrent deliveries
	mu     sync.Mutex
	counts map[string]*ChannelCounts
	seq    int64
	placed []*PlacedOrder // guarded by mu
}

// PlacedOrder is an order the generator placed on a fake, with the units
// the ledger must end up holding for it: Open is Units until its cancel or
// refund happened on the fake, 0 after; Shipped is the units the daemon
// took a shipment of (they are no longer reserved). SKU is the listing
// sold; Per is how many ledger units one unit of it moves (a 6-pack 6, a
// kit its components' units; 0 or 1: a plain SKU). Tracking is the
// tracking number of its shipment, when it is to be shipped.
type PlacedOrder struct {
	Channel, OrderID, SKU string
	Units, Open, Shipped  int64
	Per                   int64
	Tracking              string
}

// per is Per with 0 read as 1.
func (p PlacedOrder) per() int64 { return max(p.Per, 1) }

// Placed returns a copy of every order placed so far.
func (g *Generator) Placed() []PlacedOrder {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]PlacedOrder, len(g.placed))
	for i, p := range g.placed {
		out[i] = *p
	}
	return out
}

// NewGenerator builds a generator over the catalogue c on the fakes f.
func NewGenerator(f *Fakes, c *Catalog, o GeneratorOptions) *Generator {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	g := &Generator{
		o: o, f: f, cat: c, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x0de5)),
		sem: make(chan struct{}, 64), counts: map[string]*ChannelCounts{},
	}
	g.run = fmt.Sprintf("%03d", g.rng.IntN(1000))
	for _, ch := range ChannelNames() {
		g.counts[ch] = &ChannelCounts{Statuses: map[int]int64{}}
	}
	return g
}

// Counts returns a copy of the per-channel counts.
func (g *Generator) Counts() map[string]ChannelCounts {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]ChannelCounts, len(g.counts))
	for ch, c := range g.counts {
		cc := *c
		cc.Statuses = make(map[int]int64, len(c.Statuses))
		for k, v := range c.Statuses {
			cc.Statuses[k] = v
		}
		out[ch] = cc
	}
	return out
}

func (g *Generator) count(ch string, fn func(*ChannelCounts)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g.counts[ch])
}

// Run places orders at the configured rate until ctx ends, then waits for
// the deliveries already under way (follow-ups not yet due are dropped:
// they never happened on the fakes either) and returns.
func (g *Generator) Run(ctx context.Context) error {
	defer g.wg.Wait()
	if g.o.Rate <= 0 || len(g.cat.Items) == 0 {
		<-ctx.Done()
		return nil
	}
	start := time.Now()
	placed := 0
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		due := int(g.o.Rate*time.Since(start).Seconds()) - placed
		for ; due > 0 && ctx.Err() == nil; due-- {
			g.place(ctx)
			placed++
		}
	}
}

// plan is one order's life, decided when it is placed.
type plan struct {
	channel   string
	first     notification
	duplicate bool
	followUp  func(kind string) (sim.Notification, bool) // the cancel or refund, applied to the fake when due
	after     time.Duration
	kind      string // "cancel" or "refund"
	late      bool   // redeliver first after the follow-up
	// dropFirst and dropFollow: the notification never arrives.
	dropFirst, dropFollow bool
	order                 *PlacedOrder
}

// place places one order on a random channel.
func (g *Generator) place(ctx context.Context) {
	names := ChannelNames()
	ch := names[g.rng.IntN(len(names))]
	sku, qty, ok := g.pick(ch)
	if !ok {
		g.count(ch, func(c *ChannelCounts) { c.SoldOut++ })
		return
	}
	g.seq++
	sc := g.f.Channel(ch)
	o, err := sc.PlaceOrder(sim.Placement{SKU: sku, Qty: qty, Run: g.run, Seq: g.seq, EventID: g.eventID})
	if err != nil {
		g.o.Logger.Warn().Err(err).Str("channel", ch).Msg("demo: placing an order")
		return
	}
	p := &plan{channel: ch, first: notification{channel: ch, n: o.First}, followUp: o.FollowUp,
		order: &PlacedOrder{Channel: ch, OrderID: o.ID, SKU: sku, Units: qty, Open: qty, Per: g.cat.Per(ch, sku)}}
	g.mu.Lock()
	g.counts[ch].Orders++
	g.counts[ch].Units += qty
	if slices.Contains(g.cat.Listings(ch), sku) {
		g.counts[ch].Catalogue++
	}
	g.placed = append(g.placed, p.order)
	g.mu.Unlock()
	p.duplicate = g.rng.Float64() < duplicateShare
	r := g.rng.Float64()
	switch {
	case r < cancelShare:
		p.kind = "cancel"
	case r < cancelShare+refundShare && sc.Refunds():
		p.kind = "refund"
	default:
		p.followUp = nil
	}
	if p.kind != "" {
		p.after = 2*time.Second + time.Duration(g.rng.IntN(3000))*time.Millisecond
		if p.kind == "cancel" && g.rng.Float64() < g.o.ImmediateCancels {
			// Within the sale's second, mostly: Shopify's updated_at has
			// whole seconds, so the cancel shares the sale's version.
			p.after = time.Duration(g.rng.IntN(150)) * time.Millisecond
		}
		p.late = p.kind == "cancel" && g.rng.Float64() < lateShare
	}
	if sc.Droppable() {
		p.dropFirst = g.rng.Float64() < g.o.Drop
		p.dropFollow = g.rng.Float64() < g.o.Drop
	}
	if g.shipsOn(p, slices.Contains(g.cat.Listings(ch), sku)) {
		p.order.Tracking = fmt.Sprintf("1ZDEMO%s%09d", g.run, g.seq%1_000_000_000) // UPS: 1Z and 16
	}
	g.wg.Add(1)
	go g.live(ctx, p)
}

// live delivers an order's notifications: the first (maybe twice), then,
// when due, its cancel or refund (and maybe the first one again, late).
func (g *Generator) live(ctx context.Context, p *plan) {
	defer g.wg.Done()
	switch {
	case p.first.n == nil:
	case p.dropFirst:
		g.count(p.channel, func(c *ChannelCounts) { c.Dropped++ })
	default:
		g.send(ctx, p.first)
		if p.duplicate {
			g.count(p.channel, func(c *ChannelCounts) { c.Duplicates++ })
			g.send(ctx, p.first)
		}
	}
	if p.order.Tracking != "" {
		g.shipLater(ctx, p)
	}
	if p.kind == "" || p.followUp == nil {
		return
	}
	t := time.NewTimer(p.after)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	fn, ok := p.followUp(p.kind)
	if !ok {
		return
	}
	g.count(p.channel, func(c *ChannelCounts) {
		p.order.Open = 0
		if p.kind == "cancel" {
			c.Cancels++
			if p.after < time.Second {
				c.Immediate++
			}
		} else {
			c.Refunds++
		}
	})
	switch {
	case fn == nil:
	case p.dropFollow:
		g.count(p.channel, func(c *ChannelCounts) { c.Dropped++ })
	default:
		g.send(ctx, notification{channel: p.channel, n: fn})
	}
	if p.late && p.first.n != nil {
		g.count(p.channel, func(c *ChannelCounts) { c.Redeliveries++ })
		g.send(ctx, p.first)
	}
}

// send delivers n, bounded in concurrency and in time.
func (g *Generator) send(ctx context.Context, n notification) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		// Stopping: deliver anyway, the order exists on the fake.
		g.sem <- struct{}{}
	}
	defer func() { <-g.sem }()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryTimeout)
	defer cancel()
	code, err := g.deliver(dctx, n)
	g.count(n.channel, func(c *ChannelCounts) {
		if code != 0 {
			c.Statuses[code]++
		}
		if err != nil || code >= 300 {
			c.Failed++
		}
	})
	if err != nil {
		g.o.Logger.Warn().Err(err).Str("channel", n.channel).Msg("demo: delivering a notification")
	}
}

// catalogShare is the share of picks that go to the catalogue's mapped
// listings and kits (a handful of names among hundreds of SKUs: without
// it they would hardly sell).
const catalogShare = 0.1

// pick chooses a SKU the channel lists at least one unit of, as a buyer
// can only order what is listed, and 1 or 2 units of it: one of the
// catalogue's mapped listings and kits on ch for a catalogShare of picks.
func (g *Generator) pick(ch string) (string, int64, bool) {
	extra := g.cat.Listings(ch)
	for range 8 {
		sku := g.cat.Items[g.rng.IntN(len(g.cat.Items))].SKU
		if len(extra) > 0 && g.rng.Float64() < catalogShare {
			sku = extra[g.rng.IntN(len(extra))]
		}
		listed, ok := g.f.Listed(ch, sku)
		if !ok || listed <= 0 {
			continue
		}
		qty := int64(1)
		if g.rng.IntN(5) == 0 {
			qty = 2
		}
		return sku, min(qty, listed), true
	}
	return "", 0, false
}

// eventID is a fresh delivery id (only Run's goroutine calls it).
func (g *Generator) eventID() string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12), g.rng.IntN(1<<12), g.rng.Uint64()&(1<<48-1))
}

// sortedStatuses renders status counts as "200:41 409:1".
func sortedStatuses(m map[int]int64) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	out := ""
	for i, c := range codes {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%d:%d", c, m[c])
	}
	return out
}
