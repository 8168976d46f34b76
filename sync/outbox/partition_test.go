package outbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// TestPartitionKeysShareOneSlotEach: every key of a partition (its fence
// too) is in one Cluster slot, the partitions' slots lie in n equal
// ranges (so n partitions spread evenly over primaries holding equal slot
// ranges), one partition is the outbox of before partitions, and the push
// lease stays in that outbox's tag.
func TestPartitionKeysShareOneSlotEach(t *testing.T) {
	one := New(nil, "p:", "shop")
	if got := one.parts[0].keys[kWant]; got != "p:{outbox:shop}:want" || one.LeaseKey() != "p:{outbox:shop}:lease" || len(one.LeaseKeys()) != 1 {
		t.Fatalf("one partition: keys %v, lease %v", one.parts[0].keys, one.LeaseKeys())
	}
	const n = 12
	o := NewPartitioned(nil, "p:", "shop", n)
	if o.LeaseKey() != one.LeaseKey() || o.legacy == nil || o.legacy.keys[kWant] != one.parts[0].keys[kWant] {
		t.Fatalf("the lease or the outbox of before moved: %s %v", o.LeaseKey(), o.legacy)
	}
	if keys := o.LeaseKeys(); len(keys) != n+1 || keys[0] != o.LeaseKey() {
		t.Fatalf("lease keys %v", keys)
	}
	for i, p := range o.parts {
		slot := stream.Slot(p.keys[0])
		if lo, hi := i*stream.SlotCount/n, (i+1)*stream.SlotCount/n; slot < lo || slot >= hi {
			t.Errorf("partition %d in slot %d, want [%d, %d)", i, slot, lo, hi)
		}
		for _, k := range p.keys {
			if stream.Slot(k) != slot || !strings.HasPrefix(k, "p:{outbox:shop:") {
				t.Errorf("partition %d: key %s in slot %d, want %d", i, k, stream.Slot(k), slot)
			}
		}
		if o.LeaseKeys()[i+1] != p.keys[kLease] {
			t.Errorf("fence %d is %s, want %s", i, o.LeaseKeys()[i+1], p.keys[kLease])
		}
	}
	// A listing's locations stay in its SKU's partition.
	for _, sku := range []string{"A", "B-1", "x@y.com"} {
		at := o.partOf(LocationKey(sku, "main"))
		if o.partOf(LocationKey(sku, "store")) != at || o.partOf(UnmappedKey(sku, "7")) != at {
			t.Errorf("%s: its locations are in another partition", sku)
		}
		if o.FenceKey(sku) != o.parts[o.partOf(sku)].keys[kLease] {
			t.Errorf("%s: fence %s", sku, o.FenceKey(sku))
		}
	}
}

func TestShareFillsTheBatchEvenly(t *testing.T) {
	tests := []struct {
		name   string
		counts []counts
		n      int
		want   []caps
	}{
		{"all in one partition", []counts{{}, {urgent: 7, normal: 5}, {}}, 10,
			[]caps{{}, {urgent: 7, normal: 3}, {}}},
		{"urgent first, then increases", []counts{{urgent: 2, normal: 9}, {urgent: 9, normal: 9}}, 10,
			[]caps{{urgent: 2, normal: 0}, {urgent: 8}}},
		{"spread evenly", []counts{{urgent: 9}, {urgent: 9}, {urgent: 9}}, 9,
			[]caps{{urgent: 3}, {urgent: 3}, {urgent: 3}}},
		{"a quarter to the starved increases", []counts{{urgent: 20, starved: 5, normal: 5}, {urgent: 20}}, 8,
			[]caps{{starved: 2, urgent: 3}, {urgent: 3}}},
		{"less due than the batch", []counts{{urgent: 1, normal: 2, starved: 1}, {normal: 1}}, 100,
			[]caps{{starved: 1, urgent: 1, normal: 1}, {normal: 1}}},
	}
	for _, tc := range tests {
		got := share(tc.counts, tc.n, 0)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: share = %v, want %v", tc.name, got, tc.want)
		}
		sum := 0
		for _, c := range got {
			sum += c.total()
		}
		if sum > tc.n {
			t.Errorf("%s: %d taken, more than the batch of %d", tc.name, sum, tc.n)
		}
	}
}

// TestDueFillsABatchAcrossPartitions: items spread over partitions are
// taken up to the batch size whatever partition they are in (no batch
// smaller than it needs to be), urgent ones first, and every item once.
func TestDueFillsABatchAcrossPartitions(t *testing.T) {
	ob := newOutbox(t, 6)
	ctx := context.Background()
	var wants []Want
	for i := range 40 {
		q := int64(5)
		if i%4 == 0 {
			q = 0 // urgent
		}
		wants = append(wants, Want{SKU: fmt.Sprintf("S%02d", i), Quantity: q})
	}
	if n, err := ob.Enqueue(ctx, wants); err != nil || n != 40 {
		t.Fatalf("queued %d, %v", n, err)
	}
	seen := map[string]bool{}
	parts := map[int]bool{}
	for round, want := range []int{25, 15, 0} {
		items, next, ok, err := ob.Poll(ctx, 25, time.Now())
		if err != nil || len(items) != want {
			t.Fatalf("round %d: %d items (%v), want %d", round, len(items), err, want)
		}
		if want == 0 && ok {
			t.Fatalf("nothing due but the next due at %v", next)
		}
		for i, it := range items {
			if round == 0 && i < 10 && it.Quantity != 0 {
				t.Fatalf("round 0: item %d is %s=%d, want the 10 drops to zero first", i, it.SKU, it.Quantity)
			}
			seen[it.SKU] = true
			parts[ob.partOf(it.SKU)] = true
			oc := []Outcome{{SKU: it.SKU, Quantity: it.Quantity, Accepted: true}}
			if _, err := ob.Complete(ctx, "", oc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) != 40 || len(parts) != 6 {
		t.Fatalf("%d SKUs pushed from %d partitions, want 40 from 6", len(seen), len(parts))
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.Backlog != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
	// A retry due later: Poll says when.
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "S01", Quantity: 9}}); err != nil {
		t.Fatal(err)
	}
	items, _ := ob.Due(ctx, 10, time.Now())
	at := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "S01", Quantity: 9, RetryAt: at, Reason: "x"}}); err != nil || len(items) != 1 {
		t.Fatal(err)
	}
	if items, next, ok, err := ob.Poll(ctx, 10, time.Now()); err != nil || len(items) != 0 || !ok || !next.Equal(at) {
		t.Fatalf("poll: %v, next %v %v (%v), want nothing due, next at %v", items, next, ok, err, at)
	}
}

// TestMigrateMovesTheOutboxOfBefore: what an outbox of one partition (the
// keys of a version before partitions) holds is moved into the
// partitions: queued items with their due queue, compare-from figure,
// cause and attempt id, parked and held items, accepted figures; a
// partition's own newer want wins; the outbox of before ends empty, and a
// second run (or one after a crash between the steps) changes nothing.
func TestMigrateMovesTheOutboxOfBefore(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old := New(rdb, prefix, "shop")
	for sku, q := range map[string]int64{"UP": 2, "DOWN": 9, "PARK": 1, "HELD": 3, "ONLY": 4, "NEWER": 1} {
		if err := old.SetReported(ctx, sku, q); err != nil {
			t.Fatal(err)
		}
	}
	cause := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if _, err := old.Enqueue(ctx, []Want{{SKU: "UP", Quantity: 5, Cause: cause}, {SKU: "DOWN", Quantity: 0, Cause: cause},
		{SKU: "PARK", Quantity: 8}, {SKU: "HELD", Quantity: 6}, {SKU: "NEWER", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	before, err := old.Due(ctx, 10, time.Now())
	if err != nil || len(before) != 5 {
		t.Fatalf("due before %v %v", before, err)
	}
	attempt := map[string]string{}
	for _, it := range before {
		attempt[it.SKU] = it.Attempt
	}
	if _, err := old.Complete(ctx, "", []Outcome{{SKU: "PARK", Quantity: 8, Park: true, Reason: "refused"},
		{SKU: "HELD", Quantity: 6, Held: true, RetryAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	ob := NewPartitioned(rdb, prefix, "shop", 4)
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "NEWER", Quantity: 7}}); err != nil { // after the upgrade
		t.Fatal(err)
	}
	if left, err := ob.Leftover(ctx); err != nil || !left {
		t.Fatalf("leftover %v %v", left, err)
	}
	if n, err := ob.Migrate(ctx); err != nil || n != 6 {
		t.Fatalf("migrated %d, %v; want 6 items", n, err)
	}
	for run := range 2 {
		checkMigrated(t, ob, attempt, cause)
		if left, err := ob.Leftover(ctx); err != nil || left {
			t.Fatalf("run %d: leftover %v %v", run, left, err)
		}
		if n, err := ob.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("run %d: a second migrate moved %d (%v)", run, n, err)
		}
	}
}

func checkMigrated(t *testing.T, ob *Outbox, attempt map[string]string, cause time.Time) {
	t.Helper()
	ctx := context.Background()
	st, err := ob.States(ctx, []string{"UP", "DOWN", "PARK", "HELD", "ONLY", "NEWER"})
	if err != nil || len(st) != 4 || st["UP"] != PushQueued || st["DOWN"] != PushQueued || st["HELD"] != PushHeld || st["NEWER"] != PushQueued {
		t.Fatalf("states after migrate %v %v", st, err)
	}
	if p, err := ob.Parked(ctx); err != nil || len(p) != 1 || p[0].SKU != "PARK" || p[0].Quantity != 8 || p[0].Reason != "refused" {
		t.Fatalf("parked %+v %v", p, err)
	}
	if q, ok, _ := ob.Accepted(ctx, "ONLY"); !ok || q != 4 {
		t.Fatalf("accepted ONLY %d %v", q, ok)
	}
	items, err := ob.Due(ctx, 10, time.Now())
	if err != nil || len(items) != 3 || items[0].SKU != "DOWN" {
		t.Fatalf("due after migrate %+v %v, want DOWN (urgent) first, then UP and NEWER", items, err)
	}
	for _, it := range items {
		switch it.SKU {
		case "DOWN", "UP":
			prev := map[string]int64{"DOWN": 9, "UP": 2}[it.SKU]
			if it.Attempt != attempt[it.SKU] || !it.Cause.Equal(cause) || it.Previous == nil || *it.Previous != prev {
				t.Errorf("%s after migrate %+v, want attempt %s, cause %v, previous %d", it.SKU, it, attempt[it.SKU], cause, prev)
			}
		case "NEWER":
			if it.Quantity != 7 || it.Attempt == attempt["NEWER"] || *it.Previous != 1 {
				t.Errorf("NEWER after migrate %+v, want the partition's own 7 against 1", it)
			}
		}
	}
}
