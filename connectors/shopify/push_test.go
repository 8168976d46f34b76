package shopify

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

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
}

// TestPushIdempotentRetry: the same batch sent again (the engine retrying
// after a lost answer: the same attempt) is deduped by Shopify through the
// @idempotent key, instead of coming back stale.
func TestPushIdempotentRetry(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 1)
	batch := []connectors.QuantityUpdate{{SKU: "A", Quantity: 4, Previous: prev(1), Attempt: "w-1"}}
	for i := 0; i < 2; i++ {
		res, err := c.PushQuantities(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != connectors.PushAccepted {
			t.Fatalf("push %d: %s", i, statuses(res))
		}
	}
	if s.Level("A") != 4 || s.Replays() != 1 {
		t.Errorf("level = %d, replays %d; want 4 and the retry answered from its key", s.Level("A"), s.Replays())
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
	// batch_size is the pusher's cap (sync/push), not the connector's:
	// MaxBatch is what one mutation takes, whatever the channel sets.
	small := newTestConnector(t, s, func(ch *config.Channel) { ch.BatchSize = 25 })
	if small.MaxBatch() != 250 {
		t.Errorf("MaxBatch with batch_size 25 = %d, want Shopify's 250", small.MaxBatch())
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
	if fmt.Sprint(got) != `[{A 3  } {B "quoted" \ sku 0  } {C 11  }]` {
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
// unchanged (the same attempt) after a stale answer; Shopify refuses the
// reused key of a failed attempt, and the connector retries with a fresh
// one, so the item gets its real result instead of an idempotency error.
func TestPushRetryAfterFailedAttempt(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 3)
	batch := []connectors.QuantityUpdate{{SKU: "A", Quantity: 9, Previous: prev(5), Attempt: "w-1"}}
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

// TestPushValueWantedAgain: a SKU's wanted value goes A, B, A, B within
// minutes, each a new intended write (a new Attempt). Every push applies:
// Shopify replays the first answer of a key it has seen and applies
// nothing, so a key made of the values (the third push is the first's
// values: 5 compared from 7) would read as accepted and leave the
// channel at B.
func TestPushValueWantedAgain(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("S", 7)
	const a, b = 5, 7
	for i, want := range []int64{a, b, a, b} {
		from := int64(b + a - want) // the other value: what the channel holds
		res, err := c.PushQuantities(context.Background(), []connectors.QuantityUpdate{
			{SKU: "S", Quantity: want, Previous: prev(from), Attempt: fmt.Sprintf("write-%d", i)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != connectors.PushAccepted {
			t.Fatalf("push %d: %+v", i, res[0])
		}
		if got := s.Level("S"); got != want {
			t.Fatalf("push %d of %d: the channel lists %d (a replay applied nothing)", i, want, got)
		}
	}
	if s.Replays() != 0 {
		t.Errorf("%d replays, want none: four writes, four keys", s.Replays())
	}
}

// TestPushSameKeyReplays shows what the test above guards against: the
// same key for A the second time (what a key made of the values did) is
// replayed by Shopify, reads as accepted, and applies nothing.
func TestPushSameKeyReplays(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.SetLevel("S", 7)
	push := func(q, from int64, attempt string) connectors.PushStatus {
		t.Helper()
		res, err := c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "S", Quantity: q, Previous: prev(from), Attempt: attempt}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Status
	}
	push(5, 7, "first-A")
	push(7, 5, "B")
	if st := push(5, 7, "first-A"); st != connectors.PushAccepted || s.Level("S") != 7 || s.Replays() != 1 {
		t.Fatalf("the reused key: %s, level %d, replays %d; want accepted, 7 (nothing applied), 1", st, s.Level("S"), s.Replays())
	}
}

// TestBatchKey: one attempt makes one key (a retry of the batch sends the
// same); another attempt, quantity, compare-from, SKU or location makes
// another; no attempt makes a fresh key every call; no time goes in.
func TestBatchKey(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	base := []setEntry{
		{sku: "A", item: "gid://shopify/InventoryItem/1", quantity: 5, changeFrom: 7, attempt: "w-1"},
		{sku: "B", item: "gid://shopify/InventoryItem/2", quantity: 1, changeFrom: 0, attempt: "w-2"},
	}
	key := c.batchKey(base)
	if len(key) != 32 {
		t.Errorf("key %q: want 32 hex digits", key)
	}
	c.deps.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	if again := c.batchKey(slices.Clone(base)); again != key {
		t.Errorf("the same attempts gave %q, then %q (a day later): a retry must carry the same key", key, again)
	}
	changes := map[string]func(e *setEntry){
		"attempt":    func(e *setEntry) { e.attempt = "w-3" },
		"quantity":   func(e *setEntry) { e.quantity = 6 },
		"compare":    func(e *setEntry) { e.changeFrom = 6 },
		"sku":        func(e *setEntry) { e.sku = "C" },
		"item":       func(e *setEntry) { e.item = "gid://shopify/InventoryItem/3" },
		"no attempt": func(e *setEntry) { e.attempt = "" },
	}
	for name, change := range changes {
		entries := slices.Clone(base)
		change(&entries[1])
		if got := c.batchKey(entries); got == key {
			t.Errorf("%s changed, the key did not", name)
		}
	}
	other := newTestConnector(t, s, func(ch *config.Channel) {
		settingsOf(ch).LocationIDs["main"] = "gid://shopify/Location/905684977"
	})
	if other.batchKey(base) == key {
		t.Error("another location, the same key")
	}
	unknown := []setEntry{{sku: "A", item: "gid://shopify/InventoryItem/1", quantity: 5, changeFrom: 7}}
	if k1, k2 := c.batchKey(unknown), c.batchKey(unknown); k1 == k2 {
		t.Errorf("without an attempt two calls share the key %q: each call must be its own write", k1)
	}
}
