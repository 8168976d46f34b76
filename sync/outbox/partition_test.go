package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// TestPollFillsTheBatchWhenAnItemChangedQueue: Poll counts what each
// partition has due, then takes each partition's share of the batch by
// queue (urgent, increases) a round trip later. An item that moved between
// the queues meanwhile (a sale turned an increase into a drop to zero, or
// stock came back to an item queued as a decrease) still leaves the batch
// full while more are due. The interleaving is forced between the count
// and the take.
func TestPollFillsTheBatchWhenAnItemChangedQueue(t *testing.T) {
	const parts, batch = 12, 10
	var small, large []string // 3 SKUs of partition 0, 20 of partition 1
	for i := 0; len(small) < 3 || len(large) < 20; i++ {
		sku := fmt.Sprintf("S%03d", i)
		switch p := stream.PartitionOf(sku, parts); {
		case p == 0 && len(small) < 3:
			small = append(small, sku)
		case p == 1 && len(large) < 20:
			large = append(large, sku)
		}
	}
	for _, c := range []struct {
		name               string
		accepted, from, to int64 // small's accepted figure (0: none), queued want, then the change
	}{
		{"increase becomes a drop to zero", 0, 5, 0},
		{"decrease becomes an increase", 10, 3, 15},
	} {
		t.Run(c.name, func(t *testing.T) {
			ob := newOutbox(t, parts)
			ctx := context.Background()
			var wants []Want
			for _, sku := range small {
				if c.accepted > 0 {
					if err := ob.SetReported(ctx, sku, c.accepted); err != nil {
						t.Fatal(err)
					}
				}
				wants = append(wants, Want{SKU: sku, Quantity: c.from})
			}
			for _, sku := range large {
				wants = append(wants, Want{SKU: sku, Quantity: 5})
			}
			if _, err := ob.Enqueue(ctx, wants); err != nil {
				t.Fatal(err)
			}
			ob.afterPeek = func() {
				ob.afterPeek = nil
				if _, err := ob.Enqueue(ctx, []Want{{SKU: small[0], Quantity: c.to}}); err != nil {
					t.Error(err)
				}
			}
			items, _, _, err := ob.Poll(ctx, batch, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var moved *Item
			for i := range items {
				if items[i].SKU == small[0] {
					moved = &items[i]
				}
			}
			if len(items) != batch || moved == nil || moved.Quantity != c.to {
				t.Fatalf("took %d items %v (%s: %+v), want %d with %s=%d", len(items), skus(items), small[0], moved, batch, small[0], c.to)
			}
		})
	}
}

// TestMigrateMovesTheOutboxOfBefore: what an outbox of one partition (the
// keys of a version before partitions) holds is moved into the
// partitions: queued items with their due queue, compare-from figure,
// cause and attempt id, parked and held items, accepted figures; of an
// item both hold with different wants the lower is kept; the outbox of before ends empty, and a
// second run (or one after a crash between the steps) changes nothing.
func TestMigrateMovesTheOutboxOfBefore(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old := New(rdb, prefix, "shop")
	attempt, cause := fillForMigrate(t, old)
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

// fillForMigrate fills old (its layout recorded first, as its pusher
// would) with every kind of item Migrate moves: UP and DOWN queued (normal,
// urgent) with a cause, PARK parked, HELD held, ONLY an accepted figure
// alone, NEWER queued (and queued again by the new layout in the tests).
// It returns the attempt ids and the cause.
func fillForMigrate(t *testing.T, old *Outbox) (map[string]string, time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := old.Relayout(ctx); err != nil {
		t.Fatal(err)
	}
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
	return attempt, cause
}

// TestRelayoutMovesBetweenPartitionCounts: redis.outbox_partitions changed
// between two values (12 → 5, 5 → 1, 1 → 5, and 5 → 6, whose layouts share
// two partitions' keys) loses nothing: the pusher's Relayout finds the
// recorded layout, moves every item of its partitions into the new ones
// as the migration of the outbox of before does, records the new layout,
// and a second run moves nothing. An item queued by a replica still on
// the old layout after that (a rolling change) is moved by
// MigrateLeftover.
func TestRelayoutMovesBetweenPartitionCounts(t *testing.T) {
	for _, c := range []struct{ from, to int }{{12, 5}, {5, 1}, {1, 5}, {5, 6}} {
		t.Run(fmt.Sprintf("%d_to_%d", c.from, c.to), func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			old := NewPartitioned(rdb, prefix, "shop", c.from)
			attempt, cause := fillForMigrate(t, old)
			ob := NewPartitioned(rdb, prefix, "shop", c.to)
			if _, err := ob.Enqueue(ctx, []Want{{SKU: "NEWER", Quantity: 7}}); err != nil { // after the change
				t.Fatal(err)
			}
			if n, err := ob.Relayout(ctx); err != nil || n != moves(old, ob) {
				t.Fatalf("relayout moved %d, %v; want %d items", n, err, moves(old, ob))
			}
			checkLayout(t, ob, c.to, c.from)
			checkMigrated(t, ob, attempt, cause)
			checkOldEmpty(t, old, ob)
			if n, err := ob.Relayout(ctx); err != nil || n != 0 {
				t.Fatalf("a second relayout moved %d (%v)", n, err)
			}
			// A replica still on the old layout queues; the holder's
			// periodic check moves it.
			if _, err := old.Enqueue(ctx, []Want{{SKU: "LATE", Quantity: 3}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ob.MigrateLeftover(ctx); err != nil {
				t.Fatal(err)
			}
			if st, err := ob.States(ctx, []string{"LATE"}); err != nil || st["LATE"] != PushQueued {
				t.Fatalf("LATE after the periodic check %v %v", st, err)
			}
			checkOldEmpty(t, old, ob)
		})
	}
}

// TestRelayoutCrashMidwayLosesNothing: a crash after items were merged
// into the new partitions and before they were forgotten in the old ones
// leaves them in both and the old layout recorded; the next lease take's
// Relayout merges them again (the partition keeps its copy, the old one
// is forgotten) and the outbox is as after one clean run.
func TestRelayoutCrashMidwayLosesNothing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	old := NewPartitioned(rdb, prefix, "shop", 12)
	attempt, cause := fillForMigrate(t, old)
	ob := NewPartitioned(rdb, prefix, "shop", 5)
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "NEWER", Quantity: 7}}); err != nil {
		t.Fatal(err)
	}
	crashes := 0
	afterImport = func() error {
		if crashes++; crashes == 2 {
			return errors.New("crash")
		}
		return nil
	}
	_, err := ob.Relayout(ctx)
	afterImport = nil
	if err == nil || crashes != 2 {
		t.Fatalf("relayout %v after %d chunks, want the crash in the second", err, crashes)
	}
	checkLayout(t, ob, 12, 0)
	if left, err := ob.Leftover(ctx); err != nil || !left {
		t.Fatalf("leftover after the crash %v %v", left, err)
	}
	n, err := ob.Relayout(ctx)
	if err != nil || n == 0 || n >= 6 {
		t.Fatalf("relayout after the crash moved %d (%v), want what the crash left", n, err)
	}
	checkLayout(t, ob, 5, 12)
	checkMigrated(t, ob, attempt, cause)
	checkOldEmpty(t, old, ob)
}

// moves is how many of fillForMigrate's items change partition keys from
// old to ob.
func moves(old, ob *Outbox) int {
	n := 0
	for _, sku := range []string{"UP", "DOWN", "PARK", "HELD", "ONLY", "NEWER"} {
		if old.parts[old.partOf(sku)].keys[kWant] != ob.parts[ob.partOf(sku)].keys[kWant] {
			n++
		}
	}
	return n
}

func checkLayout(t *testing.T, ob *Outbox, partitions, before int) {
	t.Helper()
	rec, err := ob.rdb.HGetAll(context.Background(), ob.LayoutKey()).Result()
	want := map[string]string{"partitions": fmt.Sprint(partitions)}
	if before > 0 {
		want["before"] = fmt.Sprint(before)
	}
	if err != nil || fmt.Sprint(rec) != fmt.Sprint(want) {
		t.Fatalf("layout recorded %v (%v), want %v", rec, err, want)
	}
}

// checkOldEmpty: no partition of old that ob does not share holds a
// key, and the shared ones hold only items of their own in ob.
func checkOldEmpty(t *testing.T, old, ob *Outbox) {
	t.Helper()
	ctx := context.Background()
	mine := map[string]bool{}
	for _, p := range ob.parts {
		mine[p.keys[kWant]] = true
	}
	for _, p := range old.parts {
		for _, k := range p.keys {
			if strings.HasSuffix(k, ":lease") {
				continue
			}
			if !mine[p.keys[kWant]] {
				if n, err := ob.rdb.Exists(ctx, k).Result(); err != nil || n != 0 {
					t.Errorf("%s left after the move (%v)", k, err)
				}
				continue
			}
			items, err := ob.rdb.HKeys(ctx, k).Result()
			if err != nil {
				items, err = ob.rdb.ZRange(ctx, k, 0, -1).Result()
			}
			for _, sku := range items {
				if ob.parts[ob.partOf(sku)].keys[kWant] != p.keys[kWant] {
					t.Errorf("%s holds %s, which is another partition's (%v)", k, sku, err)
				}
			}
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
			// Both layouts held it (7 here, 2 in the old one): the lower
			// stays until the ledger's figure is pushed again.
			if it.Quantity != 2 || it.Attempt != attempt["NEWER"] || *it.Previous != 1 {
				t.Errorf("NEWER after migrate %+v, want the lower 2 (the old layout's attempt) against 1", it)
			}
		}
	}
}

// marks records the SKUs Migrate marks for a push from the ledger; err,
// when set, fails the mark.
type marks struct {
	skus []string
	err  error
}

func (m *marks) MarkIntents(_ context.Context, skus []string) error {
	if m.err != nil {
		return m.err
	}
	m.skus = append(m.skus, skus...)
	return nil
}

// TestRelayoutItemInBothLayoutsKeepsTheLowerAndMarksIt: during a rolling
// change a replica on the new layout queues X 7 and then one on the old
// layout a later X 2 (the outbox records no write time per item). The
// move keeps neither by rule: the partition takes the lower want (2, which
// never oversells: the other order, a later 7, is undersold until the
// re-push) and the SKU is marked for a push from the ledger, per location
// key too (Y@main), before the old copy is forgotten: a failed mark
// leaves it for the next move. An item both hold with one want is not
// marked.
func TestRelayoutItemInBothLayoutsKeepsTheLowerAndMarksIt(t *testing.T) {
	for _, c := range []struct{ from, to int }{{1, 4}, {12, 5}, {5, 1}} {
		t.Run(fmt.Sprintf("%d_to_%d", c.from, c.to), func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			old := NewPartitioned(rdb, prefix, "shop", c.from)
			if _, err := old.Relayout(ctx); err != nil {
				t.Fatal(err)
			}
			ob := NewPartitioned(rdb, prefix, "shop", c.to)
			m := &marks{err: errors.New("mark refused")}
			ob.SetIntents(m)
			if _, err := ob.Enqueue(ctx, []Want{{SKU: "X", Quantity: 7}, {SKU: "Y@main", Quantity: 4}, {SKU: "SAME", Quantity: 3}}); err != nil {
				t.Fatal(err)
			}
			if _, err := old.Enqueue(ctx, []Want{{SKU: "X", Quantity: 2}, {SKU: "Y@main", Quantity: 9}, {SKU: "SAME", Quantity: 3}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ob.Relayout(ctx); err == nil {
				t.Fatal("relayout went on after a failed mark")
			}
			if left, err := ob.Leftover(ctx); err != nil || (!left && c.to > 1) {
				t.Fatalf("the old copies went before the mark: leftover %v %v", left, err)
			}
			m.err = nil
			if _, err := ob.Relayout(ctx); err != nil {
				t.Fatal(err)
			}
			slices.Sort(m.skus)
			if fmt.Sprint(m.skus) != "[X Y]" {
				t.Errorf("marked %v, want [X Y]", m.skus)
			}
			checkOldEmpty(t, old, ob)
			items, err := ob.Due(ctx, 10, time.Now())
			got := map[string]int64{}
			for _, it := range items {
				got[it.SKU] = it.Quantity
			}
			if err != nil || fmt.Sprint(got) != "map[SAME:3 X:2 Y@main:4]" {
				t.Fatalf("due after the move %v %v, want the lower of each", got, err)
			}
		})
	}
}
