package shopify

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func prev(n int64) *int64 { return &n }

func statuses(rs []connectors.PushResult) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("%s=%s ", r.SKU, r.Status)
	}
	return s
}

func TestPushQuantities(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	for sku, q := range map[string]int64{"OK": 5, "STALE": 5, "RACE": 5, "BAD": 5, "NOPREV": 7} {
		s.SetLevel(sku, q)
	}
	s.AddVariant("UNSTOCKED")
	s.Sell("STALE", 2)          // sold on Shopify since the engine last saw it
	s.MakeNextPushStale("RACE") // sold while the push is under way
	s.FailItem("BAD", "INVALID_QUANTITY_TOO_HIGH", "The quantity can't be higher than 1,000,000,000.")
	updates := []connectors.QuantityUpdate{
		{SKU: "OK", Quantity: 9, Previous: prev(5)},
		{SKU: "STALE", Quantity: 9, Previous: prev(5)},
		{SKU: "RACE", Quantity: 9, Previous: prev(5)},
		{SKU: "BAD", Quantity: 9, Previous: prev(5)},
		{SKU: "NOPREV", Quantity: 2},
		{SKU: "GHOST", Quantity: 1, Previous: prev(0)},
		{SKU: "UNSTOCKED", Quantity: 1},
		{SKU: "", Quantity: 1},
	}
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status  connectors.PushStatus
		channel int64 // ChannelQuantity of stale results
	}{
		{connectors.PushAccepted, 0}, {connectors.PushStale, 3}, {connectors.PushStale, 4}, {connectors.PushFailed, 0},
		{connectors.PushAccepted, 0}, {connectors.PushUnknownSKU, 0}, {connectors.PushFailed, 0}, {connectors.PushFailed, 0},
	}
	if len(res) != len(updates) {
		t.Fatalf("%d results for %d updates", len(res), len(updates))
	}
	for i, w := range want {
		r := res[i]
		if r.SKU != updates[i].SKU || r.Status != w.status {
			t.Errorf("result %d = %+v, want %s %s", i, r, updates[i].SKU, w.status)
		}
		if w.status == connectors.PushStale && (r.ChannelQuantity == nil || *r.ChannelQuantity != w.channel) {
			t.Errorf("%s: channel quantity = %v, want %d", r.SKU, r.ChannelQuantity, w.channel)
		}
	}
	if n := s.Calls()["ShelfsyncSetQuantities"]; n != 2 {
		t.Errorf("%d mutations, want 2: Shopify applies none when an item fails, so the good items go again", n)
	}
	if res[3].Reason == "" {
		t.Error("a failed item carries no reason")
	}
	// Applied: the good items only; a stale compare never overwrote a sale.
	for sku, q := range map[string]int64{"OK": 9, "NOPREV": 2, "STALE": 3, "RACE": 4, "BAD": 5} {
		if got := s.Level(sku); got != q {
			t.Errorf("level %s = %d, want %d", sku, got, q)
		}
	}
	if n := testutil.ToFloat64(c.metrics.pushItems.WithLabelValues("stale")); n != 2 {
		t.Errorf("stale metric = %v, want 2", n)
	}
}

// TestPushIdempotentRetry: the same batch sent again (the engine retrying
// after a lost answer) is deduped by Shopify through the @idempotent key,
// instead of coming back stale.
func TestPushIdempotentRetry(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 1)
	batch := []connectors.QuantityUpdate{{SKU: "A", Quantity: 4, Previous: prev(1)}}
	for i := 0; i < 2; i++ {
		res, err := c.PushQuantities(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != connectors.PushAccepted {
			t.Fatalf("push %d: %s", i, statuses(res))
		}
	}
	if s.Level("A") != 4 {
		t.Errorf("level = %d, want 4", s.Level("A"))
	}
}

func TestPushLargeBatchAndDuplicates(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	var updates []connectors.QuantityUpdate
	for i := 0; i < 260; i++ {
		sku := fmt.Sprintf("SKU-%03d", i)
		s.SetLevel(sku, 0)
		updates = append(updates, connectors.QuantityUpdate{SKU: sku, Quantity: int64(i), Previous: prev(0)})
	}
	updates = append(updates, connectors.QuantityUpdate{SKU: "SKU-000", Quantity: 42, Previous: prev(0)})
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != connectors.PushAccepted {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	if got := s.Calls()["ShelfsyncSetQuantities"]; got != 2 {
		t.Errorf("%d mutations for 260 items, want 2 (250 + 10)", got)
	}
	if s.Level("SKU-000") != 42 || s.Level("SKU-259") != 259 {
		t.Errorf("levels = %d, %d; want the last update of a SKU to win", s.Level("SKU-000"), s.Level("SKU-259"))
	}
	if c.MaxBatch() != 250 {
		t.Errorf("MaxBatch = %d", c.MaxBatch())
	}
	small := newTestConnector(t, s, func(ch *config.Channel) { ch.BatchSize = 25 })
	if small.MaxBatch() != 25 {
		t.Errorf("MaxBatch with batch_size 25 = %d", small.MaxBatch())
	}
}

func TestPushWithoutLocation(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, func(ch *config.Channel) { ch.Locations = nil })
	if _, err := c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "A", Quantity: 1}}); err == nil {
		t.Fatal("push without a location succeeded")
	}
	if c.Ready() == nil {
		t.Error("Ready without a push location")
	}
}

func TestReadQuantitiesAndResolve(t *testing.T) {
	s := newFake(t, shopifytest.Options{MaxPageSize: 2})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 3)
	s.SetLevel(`B "quoted" \ sku`, 0)
	s.SetLevel("C", 11)
	s.AddVariant("D") // not stocked at the location
	got, err := c.ReadQuantities(context.Background(), []string{"A", `B "quoted" \ sku`, "C", "D", "NOPE"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != `[{A 3} {B "quoted" \ sku 0} {C 11}]` {
		t.Errorf("ReadQuantities = %v", got)
	}
	ids, err := c.ResolveSKU(context.Background(), "C")
	if err != nil || ids["inventory_item_id"] != s.ItemID("C") {
		t.Fatalf("ResolveSKU = %v, %v; want %s", ids, err, s.ItemID("C"))
	}
	calls := s.Calls()["ShelfsyncVariants"]
	if _, err := c.ResolveSKU(context.Background(), "NOPE"); !errorsIsNotFound(err) {
		t.Errorf("ResolveSKU(NOPE) = %v, want ErrNotFound", err)
	}
	if s.Calls()["ShelfsyncVariants"] != calls {
		t.Error("resolved SKUs (and unknown ones) are looked up again instead of cached")
	}
	sku, ok, _ := c.deps.Cache.Get(context.Background(), itemKey(numericID(s.ItemID("C"))))
	if !ok || sku != "C" {
		t.Errorf("item → SKU cache = %q %v", sku, ok)
	}
}

// TestPushRetryAfterFailedAttempt: the engine sends a batch again
// unchanged after a stale answer; Shopify refuses the reused key of a
// failed attempt, and the connector retries with a fresh one, so the
// item gets its real result instead of an idempotency error.
func TestPushRetryAfterFailedAttempt(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 3)
	batch := []connectors.QuantityUpdate{{SKU: "A", Quantity: 9, Previous: prev(5)}}
	for i := 0; i < 2; i++ {
		res, err := c.PushQuantities(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != connectors.PushStale || res[0].ChannelQuantity == nil || *res[0].ChannelQuantity != 3 {
			t.Fatalf("push %d = %+v, want stale at 3", i, res[0])
		}
	}
	if n := s.Calls()["ShelfsyncSetQuantities"]; n != 3 {
		t.Errorf("%d mutations, want 3 (the second push retries once with a new key)", n)
	}
}
