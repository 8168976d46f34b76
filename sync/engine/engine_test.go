package engine

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

type harness struct {
	t      *testing.T
	rdb    *redis.Client
	cfg    *config.Config
	chans  map[string]*memChannel
	engine *Engine
	cancel context.CancelFunc
	done   chan error
}

func testConfig(prefix string, names ...string) *config.Config {
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Sync.CoalesceWindow = 20 * time.Millisecond
	cfg.Sync.ClaimIdle = 200 * time.Millisecond
	cfg.Sync.LeaseTTL = 3 * time.Second
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}, {ID: "backup", Priority: 2}}
	for _, n := range names {
		ch := config.Channel{Name: n, Kind: "mem", Locations: []string{"main", "backup"}}
		ch.Allocation.Percent = new(float64)
		*ch.Allocation.Percent = 100
		cfg.Channels = append(cfg.Channels, ch)
	}
	return cfg
}

func newHarness(t *testing.T, rdb *redis.Client, cfg *config.Config, chans map[string]*memChannel) *harness {
	t.Helper()
	return newHarnessWith(t, rdb, cfg, chans, nil)
}

// newHarnessWith is newHarness with some channels' connectors replaced by
// wrappers of their memChannel (over).
func newHarnessWith(t *testing.T, rdb *redis.Client, cfg *config.Config, chans map[string]*memChannel, over map[string]connectors.Connector) *harness {
	t.Helper()
	conns := map[string]connectors.Connector{}
	for n, c := range chans {
		conns[n] = c
	}
	for n, c := range over {
		conns[n] = c
	}
	e, err := New(Options{Config: cfg, Redis: rdb, Connectors: conns, Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, rdb: rdb, cfg: cfg, chans: chans, engine: e, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- e.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
		h.cancel = nil
	}
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) listedEverywhere(sku string, want int64) func() bool {
	return func() bool {
		for _, c := range h.chans {
			if q, ok := c.listed(sku); !ok || q != want {
				return false
			}
		}
		return true
	}
}

func order(ch, id string, v int64, status connectors.OrderStatus, lines ...connectors.Line) connectors.Order {
	return connectors.Order{Channel: ch, OrderID: id, Status: status, UpdatedAt: time.UnixMilli(v), Lines: lines}
}

func TestSaleOnOneChannelReachesEveryChannelOnce(t *testing.T) {
	rdb, prefix := redistest.New(t)
	chans := map[string]*memChannel{"shop": newMemChannel(), "bay": newMemChannel()}
	h := newHarness(t, rdb, testConfig(prefix, "shop", "bay"), chans)
	ctx := context.Background()
	l := h.engine.Ledger()
	if _, err := l.Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the initial stock is listed (via the intent sweeper)", h.listedEverywhere("A", 10))

	o := order("bay", "B1", 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 3})
	ev := connectors.Event{Kind: connectors.EventOrder, Channel: "bay", ID: "d1", Order: &o, ReceivedAt: time.Now()}
	for i := 0; i < 3; i++ { // duplicate deliveries
		if err := h.engine.Sink().Put(ctx, []connectors.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("the sale is listed on every channel", h.listedEverywhere("A", 7))
	// A late, older version of the same order (it arrives after the newer
	// one was applied: put before that, a worker could take it first, and
	// then it is not late) changes nothing and is not published.
	old := order("bay", "B1", 900, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 5})
	h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "bay", Order: &old}})
	h.eventually("the late version is handled", func() bool {
		n, err := h.engine.Intake().Backlog(ctx)
		return err == nil && n == 0
	})

	// Cancel one unit: released.
	o2 := order("bay", "B1", 2000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 3, Cancelled: 1})
	h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "bay", Order: &o2}})
	h.eventually("the cancel is listed", h.listedEverywhere("A", 8))

	st, _ := l.Stock(ctx, "A")
	if lv := st.Locations["main"]; lv.OnHand != 10 || lv.Reserved != 2 {
		t.Fatalf("ledger %+v, want on_hand 10 reserved 2", lv)
	}
	// Downstream: one message per order version applied (1000 and 2000; not 900).
	msgs, err := rdb.XRange(ctx, h.engine.Publisher().Stream(), "-", "+").Result()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("downstream has %d messages (%v), want 2", len(msgs), err)
	}
}

// A sale on a channel that takes its own sales off its listing and pushes
// by compare-and-set is pushed back comparing from the lowered figure: one
// call, no stale compare.
func TestOwnSaleOnAnEchoingChannelComparesRight(t *testing.T) {
	rdb, prefix := redistest.New(t)
	shop, bay := newMemChannel(), newMemChannel()
	shop.echoes = true
	h := newHarness(t, rdb, testConfig(prefix, "shop", "bay"), map[string]*memChannel{"shop": shop, "bay": bay})
	ctx := context.Background()
	if _, err := h.engine.Ledger().Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("listed", h.listedEverywhere("A", 10))
	counts := func() (pushed, stales int) {
		shop.mu.Lock()
		defer shop.mu.Unlock()
		return shop.pushedSKUs, shop.stales
	}
	before, _ := counts()

	shop.set("A", 8) // the shop's own sale of 2
	o := order("shop", "S1", 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 2})
	h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: &o}})
	h.eventually("the sale reaches the other channel", h.listedEverywhere("A", 8))
	h.eventually("the shop's push of its own sale", func() bool { p, _ := counts(); return p-before == 1 })

	// A sale on bay: pushed to shop, comparing from 8.
	b := order("bay", "B1", 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 1})
	h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "bay", Order: &b}})
	h.eventually("the bay sale is listed on shop", func() bool { q, _ := shop.listed("A"); return q == 7 })
	if pushed, stales := counts(); pushed-before != 2 || stales != 0 {
		t.Fatalf("shop: %d SKUs pushed after the initial listing, %d stale; want 2 and none stale", pushed-before, stales)
	}
}

func TestUnknownSKUIsParkedThenAppliedWhenItAppears(t *testing.T) {
	rdb, prefix := redistest.New(t)
	chans := map[string]*memChannel{"shop": newMemChannel()}
	h := newHarness(t, rdb, testConfig(prefix, "shop"), chans)
	ctx := context.Background()
	o := order("shop", "S1", 1000, connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "NEW", Quantity: 2},
		connectors.Line{LineID: "2", NoSKU: true, Quantity: 1})
	h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "shop", Order: &o}})
	h.eventually("the line is parked", func() bool {
		n, _ := h.engine.parking.Count(ctx)
		return n == 1
	})
	if _, err := h.engine.Ledger().Receive(ctx, inventory.Delta{Key: "r", SKU: "NEW", Location: "main", Quantity: 5, Reason: "first delivery"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the parked line applies and the quantity is listed", h.listedEverywhere("NEW", 3))
	if n, _ := h.engine.parking.Count(ctx); n != 0 {
		t.Fatalf("%d SKUs still parked", n)
	}
}

func TestStaleCompareTriggersAPollAndConverges(t *testing.T) {
	rdb, prefix := redistest.New(t)
	shop := newMemChannel()
	chans := map[string]*memChannel{"shop": shop}
	h := newHarness(t, rdb, testConfig(prefix, "shop"), chans)
	ctx := context.Background()
	l := h.engine.Ledger()
	l.Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"})
	h.eventually("listed", h.listedEverywhere("A", 10))
	// A sale on the channel that shelfsync has not heard of yet: the channel
	// lowers its own quantity, and the order is only visible to a poll.
	shop.set("A", 9)
	shop.putOrder(order("shop", "S9", time.Now().UnixMilli(), connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 1}))
	// Meanwhile stock arrives: shelfsync wants 15, compares against 10, is refused.
	l.Receive(ctx, inventory.Delta{Key: "r2", SKU: "A", Location: "main", Quantity: 5, Reason: "delivery"})
	h.eventually("the poll caught the sale and the push converged on 14", h.listedEverywhere("A", 14))
	if shop.polls == 0 {
		t.Fatal("stale compare did not trigger a poll")
	}
}

func TestReconcileHealsDrift(t *testing.T) {
	rdb, prefix := redistest.New(t)
	shop := newMemChannel()
	h := newHarness(t, rdb, testConfig(prefix, "shop"), map[string]*memChannel{"shop": shop})
	ctx := context.Background()
	h.engine.Ledger().Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 4, Reason: "initial"})
	h.eventually("listed", h.listedEverywhere("A", 4))
	shop.set("A", 40) // someone edited the listing by hand
	if !h.engine.TriggerReconcile("shop") {
		t.Fatal("no reconcile job")
	}
	h.eventually("drift corrected", h.listedEverywhere("A", 4))
	s, err := h.engine.Status(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if s.Records["drift_units"] != "36" {
		t.Fatalf("status %+v, want drift_units 36", s.Records)
	}
}

// The ledger's order index is pruned by an engine job (its keys carry no TTL).
func TestOrderIndexPruneJob(t *testing.T) {
	rdb, prefix := redistest.New(t)
	h := newHarness(t, rdb, testConfig(prefix, "shop"), map[string]*memChannel{"shop": newMemChannel()})
	ctx := context.Background()
	l := h.engine.Ledger()
	if _, err := l.Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ApplyLines(ctx, []inventory.LineState{{Channel: "shop", OrderID: "O1", LineID: "1", SKU: "A", Location: "main", Ordered: 1, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	key := prefix + "o:shop\x1fO1"
	if n, err := rdb.HLen(ctx, key).Result(); err != nil || n != 2 {
		t.Fatalf("order index %s: %d fields, %v; want the line and the time", key, n, err)
	}
	// Last written at the epoch: far older than ledger.line_ttl.
	rdb.HSet(ctx, key, "\x1ft", "1")
	if !h.engine.sched.Trigger("ledger", "prune_order_index") {
		t.Fatal("no prune_order_index job")
	}
	h.eventually("the stale order index is pruned", func() bool { return rdb.Exists(ctx, key).Val() == 0 })
}
