package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/signaltest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/downstream"
)

// signalCheck follows the stock signals of TestKill9ConvergesAgainstStrictFakes:
// it sets a reorder point on every SKU before the daemon starts, close
// under its stock so that the orders cross it often, and at the end
// compares what reached the downstream stream with the crossings each
// SKU's journal implies (signaltest.Explain).
type signalCheck struct {
	t      *testing.T
	rdb    *redis.Client
	l      *inventory.Ledger
	points map[string]int64
	before map[string]int // journal entries when the point was set
}

// setReorderPoints sets every SKU's point at its warehouse: 0 for SKUs
// with 3 or fewer available (stock.out and stock.back only; one already
// out is announced at once), else 1 to 4 under what it has.
func setReorderPoints(t *testing.T, rdb *redis.Client, prefix string) *signalCheck {
	t.Helper()
	ctx := context.Background()
	c := &signalCheck{t: t, rdb: rdb, l: inventory.New(rdb, inventory.Options{Prefix: prefix}), points: map[string]int64{}, before: map[string]int{}}
	var skus []string
	if err := c.l.SKUs(ctx, func(s []string) error { skus = append(skus, s...); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(skus)
	stock, err := c.l.StockMany(ctx, skus)
	if err != nil {
		t.Fatal(err)
	}
	for i, sku := range skus {
		var a int64
		for _, v := range stock[sku].Available() {
			a += v
		}
		p := int64(0)
		if a > 3 {
			p = a - 1 - int64(i%4)
		}
		js, err := c.l.History(ctx, sku, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.l.SetReorder(ctx, inventory.Reorder{SKU: sku, Location: "warehouse", Point: p}, "e2e"); err != nil {
			t.Fatal(err)
		}
		c.points[sku], c.before[sku] = p, len(js)
	}
	return c
}

// restock receives stock, as a warehouse would, for SKUs the orders took
// to or below their point, until done says so: a few units over the point
// every 300 ms for up to 2 such SKUs, 100 receipts at most, so that they
// are rearmed (or back from out) and the orders cross the point again.
// (Bounded: with 4 a round and no cap, the 100 orders/s variant did not
// converge within the test's 3 minutes; Amazon's published limits.) The
// channel it returns is closed when it stopped.
func (c *signalCheck) restock(done func() bool) <-chan struct{} {
	stopped := make(chan struct{})
	var quit atomic.Bool // the test ended early
	c.t.Cleanup(func() { quit.Store(true); <-stopped })
	go func() {
		defer close(stopped)
		ctx := context.Background()
		skus := slices.Sorted(maps.Keys(c.points))
		n := 0 // receipts so far (their keys)
		for round := 0; n < maxRestocks && !quit.Load() && !done(); round++ {
			stock, err := c.l.StockMany(ctx, skus)
			if err != nil {
				c.t.Errorf("restock: %v", err)
				return
			}
			for i, k := 0, 0; i < len(skus) && k < 2 && n < maxRestocks; i++ {
				sku := skus[(round*7+i)%len(skus)]
				var a int64
				for _, v := range stock[sku].Available() {
					a += v
				}
				if a > c.points[sku] {
					continue
				}
				n, k = n+1, k+1
				d := inventory.Delta{Key: fmt.Sprintf("restock-%d", n), SKU: sku, Location: "warehouse", Quantity: c.points[sku] - a + 2, Reason: "restock"}
				if _, err := c.l.Receive(ctx, d); err != nil {
					c.t.Errorf("restock: %v", err)
					return
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	return stopped
}

// maxRestocks bounds the receipts of restock.
const maxRestocks = 100

// pending says how many SKUs still have signal events not moved
// downstream (the sweeper's work left).
func (c *signalCheck) pending() int {
	ctx := context.Background()
	n := 0
	for sku := range c.points {
		if evs, err := c.l.PendingSignals(ctx, sku, 1); err != nil || len(evs) > 0 {
			n++
		}
	}
	return n
}

// received reads the signal events of every downstream partition, by
// SKU, and fails on a delivery id seen twice.
func (c *signalCheck) received(cfg *config.Config) map[string][]signaltest.Event {
	c.t.Helper()
	keys := downstream.StreamKeys(cfg.Redis.KeyPrefix, cfg.Downstream.Stream, cfg.Redis.StreamPartitions)
	out := map[string][]signaltest.Event{}
	seen := map[string]bool{}
	for _, k := range keys {
		msgs, err := c.rdb.XRange(context.Background(), k, "-", "+").Result()
		if err != nil {
			c.t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Values["kind"] != "signal" {
				continue
			}
			var ev inventory.SignalEvent
			if err := json.Unmarshal([]byte(fmt.Sprint(m.Values["event"])), &ev); err != nil {
				c.t.Fatalf("downstream signal %v: %v", m.Values, err)
			}
			id := fmt.Sprint(m.Values["delivery_id"])
			if seen[id] {
				c.t.Errorf("signal %s published downstream twice", id)
			}
			seen[id] = true
			if id != ev.ID || ev.ID != fmt.Sprintf("%s:%d", ev.SKU, ev.Seq) || m.Values["sku"] != ev.SKU || m.Values["type"] != ev.Type {
				c.t.Errorf("downstream signal entry %v: fields disagree with its event", m.Values)
			}
			out[ev.SKU] = append(out[ev.SKU], signaltest.Event{Seq: ev.Seq, Type: ev.Type, Available: ev.Available, OnHand: ev.OnHand, Reserved: ev.Reserved, At: ev.At})
		}
	}
	return out
}

// count is how many signal events the downstream stream holds.
func (c *signalCheck) count(cfg *config.Config) int {
	n := 0
	for _, evs := range c.received(cfg) {
		n += len(evs)
	}
	return n
}

// check compares, SKU by SKU, the events received downstream with the
// crossings of its journal, and returns how many of each type arrived.
func (c *signalCheck) check(cfg *config.Config) map[string]int {
	c.t.Helper()
	ctx := context.Background()
	got := c.received(cfg)
	types := map[string]int{}
	for sku, point := range c.points {
		js, err := c.l.History(ctx, sku, 1<<20)
		if err != nil {
			c.t.Fatal(err)
		}
		rh, err := c.l.ReorderHistory(ctx, sku, 1)
		if err != nil || len(rh) != 1 {
			c.t.Fatalf("reorder history of %s: %v %v", sku, rh, err)
		}
		rs, _, err := c.l.ReorderOf(ctx, sku)
		if err != nil {
			c.t.Fatal(err)
		}
		steps := make([]signaltest.Step, len(js))
		for i, e := range js {
			steps[i] = signaltest.Step{Location: e.Location, OnHand: e.After.OnHand, Reserved: e.After.Reserved, At: e.Time.UnixMilli()}
		}
		set := signaltest.Set{After: c.before[sku], At: rh[0].Time.UnixMilli()}
		if err := signaltest.Explain(steps, set, point, got[sku], rs.State); err != nil {
			c.t.Errorf("%s (point %d, %d journal entries, %d events downstream): %v", sku, point, len(js), len(got[sku]), err)
		}
		for _, e := range got[sku] {
			types[e.Type]++
		}
	}
	for sku := range got {
		if _, ok := c.points[sku]; !ok {
			c.t.Errorf("signals downstream for %s, which has no reorder point", sku)
		}
	}
	return types
}
