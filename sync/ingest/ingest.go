// Package ingest turns channel events into ledger state: a whole order
// becomes the absolute state of each of its lines (so duplicates, late and
// reordered events change nothing), translated through the catalog (a
// mapped listing is its ledger SKU times the multiplier, a kit its
// components, each component line with an id derived from the kit line's),
// lines whose SKU the ledger does not know are parked as the channel named
// them until the SKU or a mapping appears, and every order is published
// downstream.
// "Order changed" events are handed to the channel's fetch queue
// (sync/fetch), which puts the fetched order back on the intake. After each
// change it asks for the affected SKUs' quantities to be pushed.
//
// Ingest decides nothing about quantities (the ledger and the allocation
// rules do) and talks to no channel: no marketplace I/O ever runs in the
// shared intake workers.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/downstream"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/propagate"
)

// Ledger is what ingest needs of the stock ledger.
type Ledger interface {
	ApplyLines(ctx context.Context, lines []inventory.LineState) ([]inventory.LineResult, error)
	Return(ctx context.Context, r inventory.ReturnOp) (inventory.DeltaResult, error)
	Lines(ctx context.Context, channel, orderID string) ([]inventory.LineRecord, error)
}

// Publisher hands orders downstream (sync/downstream).
type Publisher interface {
	// Prepare encodes orders to publish, in a pipeline of the caller's
	// or one of their own.
	Prepare(orders []*connectors.Order) (*downstream.Batch, error)
}

// Propagator recomputes and queues what every channel lists (sync/propagate).
type Propagator interface {
	// Propagate queues the listed quantities of skus on every channel;
	// cause is when the change arrived; sold (may be nil) is what each
	// channel's own orders newly reserved; at is the catalog version the
	// change was translated under (zero: none, the catalog's version is
	// read).
	Propagate(ctx context.Context, skus []string, cause time.Time, sold propagate.Sold, at catalog.Version) error
	// PropagateWith is Propagate with the caller's commands riding on its
	// stock read; it reports whether with was called (else the caller
	// sends them itself).
	PropagateWith(ctx context.Context, skus []string, cause time.Time, sold propagate.Sold, at catalog.Version, with func(redis.Pipeliner)) (bool, error)
	// SetReported records what a channel says it lists (stock_changed events).
	SetReported(ctx context.Context, channel, sku string, qty int64) error
}

// Options configures an Ingester.
type Options struct {
	Ledger     Ledger
	Parking    *Parking
	Publisher  Publisher
	Propagator Propagator
	// Catalog translates listings (mapped channel SKUs, kits) into ledger
	// SKUs; nil: every listing is the ledger SKU of its name.
	Catalog   Catalog
	Channels  []config.Channel
	Locations []config.Location
	// Routing chooses a new line's location when the order names none.
	Routing    config.Routing
	Connectors map[string]connectors.Connector
	// Fetchers takes, per channel, the events that name an order to fetch
	// (sync/fetch queues); a channel without one drops such events.
	Fetchers map[string]connectors.EventSink
	// Returns books polled returns (TopicPolledReturn) once per unit; nil
	// refuses them.
	Returns *ReturnBook
	// LineTTL is how long an order's line translations are kept
	// (ledger.line_ttl; default config.DefaultLineTTL).
	LineTTL time.Duration
	Metrics *Metrics
	Logger  zerolog.Logger
}

// Ingester handles intake events.
type Ingester struct {
	o          Options
	candidates map[string][]string // channel → its locations in priority order
	router     *router
}

// New builds an Ingester. No I/O.
func New(o Options) *Ingester {
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	cands := Candidates(o.Channels, o.Locations)
	return &Ingester{o: o, candidates: cands, router: newRouter(o.Routing, cands)}
}

// Candidates orders each channel's locations for taking stock: by the
// locations' priority (lower first), ties in the channel's own order.
func Candidates(channels []config.Channel, locations []config.Location) map[string][]string {
	prio := map[string]int{}
	for _, l := range locations {
		prio[l.ID] = l.Priority
	}
	out := make(map[string][]string, len(channels))
	for _, ch := range channels {
		locs := append([]string(nil), ch.Locations...)
		// Stable insertion sort: a channel has a handful of locations.
		for i := 1; i < len(locs); i++ {
			for j := i; j > 0 && prio[locs[j]] < prio[locs[j-1]]; j-- {
				locs[j], locs[j-1] = locs[j-1], locs[j]
			}
		}
		out[ch.Name] = locs
	}
	return out
}

// Handle processes one event. It is idempotent: handling the same event
// again changes nothing.
func (g *Ingester) Handle(ctx context.Context, e connectors.Event) error {
	return g.HandleBatch(ctx, []connectors.Event{e})[0]
}

// HandleBatch processes events read together from the intake and returns
// one error slot per event. Orders among them reach the ledger in one
// batch, downstream in one round trip and the outboxes in one propagation,
// so a busy intake costs a few round trips per batch, not per event.
// Events that name an order to fetch go to their channel's fetch queue,
// one call per channel.
func (g *Ingester) HandleBatch(ctx context.Context, events []connectors.Event) []error {
	errs := make([]error, len(events))
	// Sized for a batch of orders, the usual one.
	orders := make([]*connectors.Order, 0, len(events))
	idx := make([]int, 0, len(events)) // orders[j] came from events[idx[j]]
	var books []int                    // returns to book by the policy, after the orders
	toFetch := map[string][]int{}
	for i, e := range events {
		switch e.Kind {
		case connectors.EventOrder:
			if errs[i] = g.orderEvent(e); errs[i] == nil {
				orders = append(orders, e.Order)
				idx = append(idx, i)
			}
		case connectors.EventOrderChanged, connectors.EventReturn:
			var fetch, book bool
			if fetch, book, errs[i] = g.changeEvent(ctx, e); fetch {
				toFetch[e.Channel] = append(toFetch[e.Channel], i)
			}
			if book {
				books = append(books, i)
			}
		case connectors.EventStockChanged:
			errs[i] = g.stockChanged(ctx, e)
		default:
			errs[i] = g.drop(e, fmt.Sprintf("unknown event kind %q", e.Kind))
		}
	}
	g.queueFetches(ctx, events, toFetch, errs)
	if len(orders) > 0 {
		causes := make([]time.Time, len(idx))
		for j, i := range idx {
			causes[j] = causeOf(events[i])
		}
		if err := g.applyOrders(ctx, orders, causes); err != nil {
			for _, i := range idx {
				errs[i] = err
			}
		}
	}
	// The batch's order states first: a return booked after them is capped
	// by the units those states report returned already.
	for _, i := range books {
		if err := g.applyPolledReturn(ctx, events[i].Channel, events[i].Return, causeOf(events[i])); err != nil && errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}

// orderEvent refuses a whole-order event the ledger could never take.
func (g *Ingester) orderEvent(e connectors.Event) error {
	if e.Order == nil {
		return g.drop(e, "order event without an order")
	}
	if err := g.check(e.Order); err != nil {
		return g.drop(e, err.Error())
	}
	return nil
}

// changeEvent handles an "order changed" or return event: fetch reports
// that the channel's fetch queue must read the order, book that the return
// is to be booked by the channel's policy (after the batch's orders);
// otherwise the event is done (refused) with err. A polled return is only
// booked; a return of facts (Return.Facts: Shopify's returns/*) is booked
// and its order fetched (its refunds).
func (g *Ingester) changeEvent(ctx context.Context, e connectors.Event) (fetch, book bool, err error) {
	orderID := e.OrderID
	if e.Kind == connectors.EventReturn {
		if e.Return == nil {
			return false, false, g.drop(e, "return event without a return")
		}
		if e.Topic == TopicPolledReturn {
			return false, true, nil
		}
		book = e.Return.Facts
		if g.o.Fetchers[e.Channel] == nil && !book {
			return false, false, g.applyReturn(ctx, e.Channel, e.Return, causeOf(e))
		}
		// The whole order carries its returns as absolute state.
		orderID = e.Return.OrderID
	}
	switch {
	case g.o.Fetchers[e.Channel] == nil:
		if book {
			return false, true, nil
		}
		return false, false, g.drop(e, "the channel's connector can not fetch orders")
	case orderID == "":
		return false, false, g.drop(e, "no order id")
	}
	return true, book, nil
}

// queueFetches hands each channel's events to its fetch queue in one call
// and sets their error slots.
func (g *Ingester) queueFetches(ctx context.Context, events []connectors.Event, toFetch map[string][]int, errs []error) {
	for ch, idx := range toFetch {
		batch := make([]connectors.Event, len(idx))
		for j, i := range idx {
			batch[j] = events[i]
		}
		err := g.o.Fetchers[ch].Put(ctx, batch)
		for _, i := range idx {
			errs[i] = err
		}
	}
}

func causeOf(e connectors.Event) time.Time {
	if e.ReceivedAt.IsZero() {
		return time.Now()
	}
	return e.ReceivedAt
}

func (g *Ingester) stockChanged(ctx context.Context, e connectors.Event) error {
	if e.Stock == nil || e.Stock.SKU == "" {
		return g.drop(e, "stock change without a SKU")
	}
	if err := g.o.Propagator.SetReported(ctx, e.Channel, e.Stock.SKU, e.Stock.Quantity); err != nil {
		return err
	}
	g.o.Metrics.Applied.WithLabelValues(e.Channel, string(e.Kind)).Inc()
	return g.o.Propagator.Propagate(ctx, []string{e.Stock.SKU}, causeOf(e), nil, catalog.Version{})
}

// drop counts an event that can never be handled and refuses it: the
// intake dead-letters it at once with why as its reason (retrying would
// not help; nothing is dropped silently). The intake logs it.
func (g *Ingester) drop(e connectors.Event, why string) error {
	g.o.Metrics.Dropped.WithLabelValues(e.Channel, string(e.Kind)).Inc()
	return intake.Refuse(fmt.Sprintf("%s %s event %s: %s", e.Channel, e.Kind, e.ID, why))
}

// MaxClockSkew is how far past now an order's version may lie: a later
// one (a channel's clock gone wrong, a forged year 9999) would rank above
// every real state of the order to come, so it is refused.
const MaxClockSkew = 5 * time.Minute

// check refuses an order the ledger could never take: inconsistent
// figures, a line state the ledger rejects (a channel the config does not
// know has no locations), a version from the future.
func (g *Ingester) check(o *connectors.Order) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("order %s invalid: %w", o.OrderID, err)
	}
	if limit := time.Now().Add(MaxClockSkew); o.UpdatedAt.After(limit) {
		return fmt.Errorf("order %s: updated_at %s is more than %s in the future", o.OrderID, o.UpdatedAt.UTC().Format(time.RFC3339), MaxClockSkew)
	}
	for _, l := range o.Lines {
		if l.NoSKU || l.SKU == "" {
			continue
		}
		if err := g.lineState(o, l).Validate(); err != nil {
			return fmt.Errorf("order %s line %s: the ledger can not take it: %w", o.OrderID, l.LineID, err)
		}
	}
	return nil
}

// applyOrders sets every line of orders to its state in one ledger batch
// (translated through the catalog: mapped listings, kits), parks lines of
// unknown SKUs, publishes the orders downstream and propagates the SKUs
// they touched. An error fails the whole batch (every step is idempotent,
// so a retry is safe).
func (g *Ingester) applyOrders(ctx context.Context, orders []*connectors.Order, causes []time.Time) error {
	b := g.batchOf(orders, causes)
	sold := propagate.Sold{}
	var skus []string
	var at catalog.Version
	if len(b.states) > 0 {
		x, err := g.expand(ctx, b.states)
		if err != nil {
			return err
		}
		res, err := g.o.Ledger.ApplyLines(ctx, x.states)
		if err != nil {
			return fmt.Errorf("applying %d order lines: %w", len(x.states), err)
		}
		placed(orders, b, x, res)
		if err := g.park(ctx, g.settle(orders, b.owner, b.states, x, res, sold)); err != nil {
			return err
		}
		skus, at = x.skus, x.at
	}
	// The orders go downstream once the ledger has them: in the round trip
	// of the propagation's stock read, else (nothing to propagate, or it
	// failed before its read) in one of their own.
	pub, err := g.o.Publisher.Prepare(orders)
	if err != nil {
		return err
	}
	// One propagation for the batch; its cause is the earliest arrival
	// among the changes, so the latency metric never flatters. It reads
	// the catalog under the version the batch was translated under, read
	// after the batch's events were: every mapping or kit applied before
	// they were read is reflected in both, with one version check per
	// batch. One applied meanwhile marked the names it moved pending; the
	// intent sweeper propagates them under a version of its own.
	rode, perr := g.o.Propagator.PropagateWith(ctx, skus, b.earliest, sold, at, func(pipe redis.Pipeliner) { pub.Queue(ctx, pipe) })
	if rode {
		_, err = pub.Result(ctx)
	} else {
		_, err = pub.Run(ctx)
	}
	if err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	for _, o := range orders {
		g.o.Metrics.Applied.WithLabelValues(o.Channel, string(connectors.EventOrder)).Inc()
	}
	return nil
}

// lineBatch is the ledger's share of a batch of orders.
type lineBatch struct {
	states   []inventory.LineState // as the channels name them
	owner    []int                 // states[k] belongs to orders[owner[k]]
	line     []int                 // ... and is its line line[k]
	earliest time.Time
}

// batchOf turns orders into line states (lines without a SKU are counted
// and move no stock).
func (g *Ingester) batchOf(orders []*connectors.Order, causes []time.Time) lineBatch {
	// Sized for one line per order, the usual order.
	b := lineBatch{states: make([]inventory.LineState, 0, len(orders)), owner: make([]int, 0, len(orders)), line: make([]int, 0, len(orders))}
	for i, o := range orders {
		for li, l := range o.Lines {
			if l.NoSKU || l.SKU == "" {
				g.o.Metrics.NoSKULines.WithLabelValues(o.Channel).Inc()
				continue
			}
			b.states = append(b.states, g.lineState(o, l))
			b.owner = append(b.owner, i)
			b.line = append(b.line, li)
			if b.earliest.IsZero() || causes[i].Before(b.earliest) {
				b.earliest = causes[i]
			}
		}
	}
	return b
}

// count records what one ledger line state did: its result, and an
// oversell — counted once, by the change that caused it (not by its
// repeats, re-reads or later shipments).
func (g *Ingester) count(o *connectors.Order, st inventory.LineState, r inventory.LineResult) {
	result := r.Ignored
	switch {
	case r.Applied:
		result = "applied"
	case result == "":
		result = "unchanged"
	}
	g.o.Metrics.LineUpdates.WithLabelValues(o.Channel, result).Inc()
	if r.Lowered && r.Oversold > 0 {
		g.o.Metrics.Oversold.WithLabelValues(o.Channel).Inc()
		g.o.Metrics.OversoldUnits.WithLabelValues(o.Channel).Add(float64(r.Oversold))
		g.o.Logger.Warn().Str("channel", o.Channel).Str("order", o.OrderID).Str("sku", st.SKU).
			Str("location", r.Location).Int64("oversold", r.Oversold).Msg("SKU oversold")
	}
}

// park keeps the lines of SKUs the ledger does not know until they appear.
func (g *Ingester) park(ctx context.Context, lines []inventory.LineState) error {
	if len(lines) == 0 {
		return nil
	}
	if err := g.o.Parking.Park(ctx, lines); err != nil {
		return err
	}
	for _, s := range lines {
		g.o.Metrics.Parked.WithLabelValues(s.Channel).Inc()
	}
	return nil
}

func (g *Ingester) lineState(o *connectors.Order, l connectors.Line) inventory.LineState {
	return inventory.LineState{
		Channel: o.Channel, OrderID: o.OrderID, LineID: l.LineID, SKU: l.SKU,
		Location: o.Location, Candidates: g.candidates[o.Channel], Route: g.router.route(o),
		Ordered: l.Quantity, Shipped: l.Shipped, Cancelled: l.Cancelled, Returned: l.Returned,
		Restock: l.Restock, Version: o.UpdatedAt.UnixMilli(),
	}
}

// applyReturn books a return whose order can not be fetched: once per
// return and line, at the location the line took its stock from.
func (g *Ingester) applyReturn(ctx context.Context, channel string, r *connectors.Return, cause time.Time) error {
	recs, err := g.o.Ledger.Lines(ctx, channel, r.OrderID)
	if err != nil {
		return fmt.Errorf("reading order %s/%s for a return: %w", channel, r.OrderID, err)
	}
	byLine := map[string]inventory.LineRecord{}
	for _, rec := range recs {
		byLine[rec.LineID] = rec
	}
	var skus []string
	for _, rl := range r.Lines {
		rec, ok := byLine[rl.LineID]
		if !ok || rl.Quantity <= 0 || rl.Cancel {
			g.o.Metrics.Dropped.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
			continue
		}
		_, err := g.o.Ledger.Return(ctx, inventory.ReturnOp{
			Key: channel + ":" + r.OrderID + ":" + r.ReturnID + ":" + rl.LineID,
			SKU: rec.SKU, Location: rec.Location, Quantity: rl.Quantity, Restock: rl.Restock,
			Reason: "return " + r.ReturnID,
		})
		if errors.Is(err, inventory.ErrKeyConflict) {
			// The channel says otherwise of a return line it announced
			// before (another quantity or restock): the first booking
			// stands; retrying would never change that.
			g.o.Metrics.Dropped.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
			g.o.Logger.Warn().Str("channel", channel).Str("order", r.OrderID).Str("return", r.ReturnID).Str("line", rl.LineID).
				Msg("return line announced again with other figures; the first booking stands")
			continue
		}
		if err != nil {
			return fmt.Errorf("booking return %s of %s/%s: %w", r.ReturnID, channel, r.OrderID, err)
		}
		skus = append(skus, rec.SKU)
	}
	g.o.Metrics.Applied.WithLabelValues(channel, string(connectors.EventReturn)).Inc()
	if len(skus) == 0 {
		return nil
	}
	return g.o.Propagator.Propagate(ctx, skus, cause, nil, catalog.Version{})
}

// Unpark applies the lines parked under skus (a SKU or a mapping of that
// name appeared), translated through the catalog as it is now, and
// reports how many applied. Lines still unknown stay parked.
func (g *Ingester) Unpark(ctx context.Context, skus []string) (int, error) {
	lines, err := g.o.Parking.Lines(ctx, skus)
	if err != nil || len(lines) == 0 {
		return 0, err
	}
	x, err := g.expand(ctx, lines)
	if err != nil {
		return 0, err
	}
	res, err := g.o.Ledger.ApplyLines(ctx, x.states)
	if err != nil {
		return 0, fmt.Errorf("applying parked lines: %w", err)
	}
	unknown := make([]bool, len(lines))
	for k, r := range res {
		unknown[x.from[k]] = unknown[x.from[k]] || r.Ignored == inventory.IgnoredUnknownSKU
	}
	var done []inventory.LineState
	for i, s := range lines {
		if !unknown[i] {
			done = append(done, s)
		}
	}
	if err := g.o.Parking.Remove(ctx, done); err != nil {
		return 0, err
	}
	g.o.Metrics.Unparked.Add(float64(len(done)))
	return len(done), nil
}

// Metrics of ingest.
type Metrics struct {
	Applied       *prometheus.CounterVec // channel, kind
	Dropped       *prometheus.CounterVec // channel, kind
	LineUpdates   *prometheus.CounterVec // channel, outcome
	NoSKULines    *prometheus.CounterVec // channel
	Parked        *prometheus.CounterVec // channel
	Unparked      prometheus.Counter
	Oversold      *prometheus.CounterVec // channel
	OversoldUnits *prometheus.CounterVec // channel
	OrdersPlaced  *prometheus.CounterVec // channel
	UnitsSold     *prometheus.CounterVec // channel
}

// lineOutcomes are the outcome label values of LineUpdates.
var lineOutcomes = []string{"applied", "unchanged", inventory.IgnoredDuplicate, inventory.IgnoredStale, inventory.IgnoredUnknownSKU, inventory.IgnoredRefused}

// eventKinds are the kind label values of Applied and Dropped.
var eventKinds = []connectors.EventKind{connectors.EventOrder, connectors.EventOrderChanged, connectors.EventReturn, connectors.EventStockChanged}

// Init exports channel's series at 0 before anything happens, so the first
// event (an oversell, a parked line) is an increase from 0 that rules see,
// not a new series at 1 that increase() misses.
func (m *Metrics) Init(channel string) {
	for _, k := range eventKinds {
		m.Applied.WithLabelValues(channel, string(k))
		m.Dropped.WithLabelValues(channel, string(k))
	}
	for _, o := range lineOutcomes {
		m.LineUpdates.WithLabelValues(channel, o)
	}
	for _, c := range []*prometheus.CounterVec{m.NoSKULines, m.Parked, m.Oversold, m.OversoldUnits, m.OrdersPlaced, m.UnitsSold} {
		c.WithLabelValues(channel)
	}
}

// NewMetrics registers ingest's metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_events_applied_total", Help: "Channel events handled to the end (applied to the ledger or recorded).",
		}, []string{"channel", "kind"}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_events_dropped_total", Help: "Channel events that can never apply (invalid, unknown order), acknowledged and logged.",
		}, []string{"channel", "kind"}),
		LineUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ledger_line_updates_total",
			Help: "Order line states sent to the ledger, by outcome: applied, unchanged, duplicate (same version), stale (older version), unknown_sku (parked).",
		}, []string{"channel", "outcome"}),
		NoSKULines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_order_lines_without_sku_total", Help: "Order lines without a SKU (custom items): kept downstream, moving no stock.",
		}, []string{"channel"}),
		Parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_order_lines_parked_total", Help: "Order lines parked because the ledger does not know their SKU.",
		}, []string{"channel"}),
		Unparked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_order_lines_unparked_total", Help: "Parked order lines applied once their SKU appeared.",
		}),
		Oversold: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_oversold_total", Help: "Order line changes that left their SKU's available stock below zero.",
		}, []string{"channel"}),
		OversoldUnits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_oversold_units_total", Help: "Units by which order line changes oversold their SKU.",
		}, []string{"channel"}),
		OrdersPlaced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_orders_placed_total", Help: "Orders with a line the ledger took for the first time (a new sale; an order edited to add a line counts again).",
		}, []string{"channel"}),
		UnitsSold: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_units_sold_total", Help: "Units of order lines the ledger took for the first time (ordered less cancelled at that moment), as the channel lists them (a 6-pack listing is 1).",
		}, []string{"channel"}),
	}
	if reg != nil {
		reg.MustRegister(m.Applied, m.Dropped, m.LineUpdates, m.NoSKULines, m.Parked, m.Unparked, m.Oversold, m.OversoldUnits, m.OrdersPlaced, m.UnitsSold)
	}
	return m
}
