package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// layouts are the partition counts every test runs with: the outbox of
// before partitions, and one whose items spread over partitions (the
// tests' SKUs fall in several of them).
var layouts = []int{1, 5}

// eachLayout runs test once per layout.
func eachLayout(t *testing.T, test func(t *testing.T, parts int)) {
	for _, n := range layouts {
		t.Run(fmt.Sprintf("partitions=%d", n), func(t *testing.T) { test(t, n) })
	}
}

func newOutbox(t *testing.T, parts int) *Outbox {
	rdb, prefix := redistest.New(t)
	return NewPartitioned(rdb, prefix, "shop", parts)
}

func skus(items []Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.SKU
	}
	return out
}

func TestLatestValueWinsAndUnchangedIsNotQueued(t *testing.T) {
	eachLayout(t, testLatestValueWinsAndUnchangedIsNotQueued)
}

func testLatestValueWinsAndUnchangedIsNotQueued(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	for _, q := range []int64{9, 8, 7} {
		if _, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: q}}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := ob.Due(ctx, 10, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Quantity != 7 || items[0].Previous != nil {
		t.Fatalf("due %+v, want one item A=7 with no previous", items)
	}
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 7, Accepted: true}}); err != nil {
		t.Fatal(err)
	}
	n, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 7}})
	if err != nil || n != 0 {
		t.Fatalf("re-enqueue of the accepted value queued %d (%v), want 0", n, err)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 0 {
		t.Fatalf("due after accept: %+v", items)
	}
	// A value going back to what the channel had while a push is queued
	// (maybe in flight with the other value) stays queued: the channel
	// must end with the latest value.
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 5}})
	inflight, _ := ob.Due(ctx, 10, time.Now())
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 7}})
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: inflight[0].Quantity, Accepted: true}}); err != nil {
		t.Fatal(err)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 1 || items[0].Quantity != 7 || *items[0].Previous != 5 {
		t.Fatalf("after the in-flight 5 was accepted, want 7 queued against 5: %+v", items)
	}
	ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 7, Accepted: true}})
	// Force queues it anyway (reconcile: the channel really differs).
	if n, _ := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 7, Force: true}}); n != 1 {
		t.Fatalf("forced enqueue queued %d", n)
	}
}

func TestDropsAndDecreasesGoBeforeIncreases(t *testing.T) {
	eachLayout(t, testDropsAndDecreasesGoBeforeIncreases)
}

func testDropsAndDecreasesGoBeforeIncreases(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	for _, s := range []string{"UP", "DOWN", "ZERO"} {
		ob.SetReported(ctx, s, 5)
	}
	ob.Enqueue(ctx, []Want{{SKU: "UP", Quantity: 9}})
	time.Sleep(5 * time.Millisecond)
	ob.Enqueue(ctx, []Want{{SKU: "DOWN", Quantity: 3}, {SKU: "ZERO", Quantity: 0}})
	items, err := ob.Due(ctx, 2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := skus(items)
	if len(got) != 2 || got[0] == "UP" || got[1] == "UP" {
		t.Fatalf("first batch %v, want the decrease and the drop before the increase", got)
	}
	if items[0].Previous == nil || *items[0].Previous != 5 {
		t.Fatalf("previous not carried: %+v", items[0])
	}
}

func TestFailuresRetryLaterThenPark(t *testing.T) { eachLayout(t, testFailuresRetryLaterThenPark) }

func testFailuresRetryLaterThenPark(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}})
	later := time.Now().Add(time.Hour)
	if _, err := ob.Complete(ctx, "", []Outcome{
		{SKU: "A", Quantity: 1, RetryAt: later, Reason: "retry: 500"},
		{SKU: "B", Quantity: 2, Park: true, Reason: "unknown on channel"},
	}); err != nil {
		t.Fatal(err)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 0 {
		t.Fatalf("items due before their retry time: %+v", items)
	}
	items, _ := ob.Due(ctx, 10, later.Add(time.Second))
	if len(items) != 1 || items[0].SKU != "A" || items[0].Attempts != 1 {
		t.Fatalf("due at retry time: %+v", items)
	}
	parked, err := ob.Parked(ctx)
	if err != nil || len(parked) != 1 || parked[0].SKU != "B" || parked[0].Reason != "unknown on channel" {
		t.Fatalf("parked %+v %v", parked, err)
	}
	// The same value again leaves a parked SKU parked...
	ob.Enqueue(ctx, []Want{{SKU: "B", Quantity: 2}})
	if items, _ := ob.Due(ctx, 10, later.Add(time.Second)); len(items) != 1 {
		t.Fatalf("parked item queued again: %+v", items)
	}
	// ...a different value brings it back (the channel may take that one)...
	ob.Enqueue(ctx, []Want{{SKU: "B", Quantity: 3}})
	if items, _ := ob.Due(ctx, 10, later.Add(time.Second)); len(items) != 2 {
		t.Fatalf("parked item with a new value not queued: %+v", items)
	}
	// ...and so does a forced one.
	ob.Complete(ctx, "", []Outcome{{SKU: "B", Quantity: 3, Park: true, Reason: "refused"}})
	ob.Enqueue(ctx, []Want{{SKU: "B", Quantity: 3, Force: true}})
	if items, _ := ob.Due(ctx, 10, later.Add(time.Second)); len(items) != 2 {
		t.Fatalf("forced parked item not queued: %+v", items)
	}
	st, err := ob.Stats(ctx)
	if err != nil || st.Backlog != 2 || st.Parked != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestAcceptOfAnOlderValueKeepsTheNewerQueued(t *testing.T) {
	eachLayout(t, testAcceptOfAnOlderValueKeepsTheNewerQueued)
}

func testAcceptOfAnOlderValueKeepsTheNewerQueued(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	t1 := t0.Add(300 * time.Millisecond)
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 4, Cause: t0}}); err != nil {
		t.Fatal(err)
	}
	items, _ := ob.Due(ctx, 10, time.Now())
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 2, Cause: t1}}) // a sale while the push was in flight
	causes, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: items[0].Quantity, Accepted: true}})
	if err != nil {
		t.Fatal(err)
	}
	// The pushed 4 carried the change of t0: its latency ends here.
	if !causes[0].Equal(t0) {
		t.Fatalf("cause of the accepted older value = %v, want %v", causes[0], t0)
	}
	items, _ = ob.Due(ctx, 10, time.Now())
	if len(items) != 1 || items[0].Quantity != 2 || items[0].Previous == nil || *items[0].Previous != 4 {
		t.Fatalf("after accept of 4 with 2 wanted: %+v", items)
	}
	// The 2 waits from its own change, not from the one already pushed.
	if !items[0].Cause.Equal(t1) {
		t.Fatalf("queued item's cause = %v, want %v", items[0].Cause, t1)
	}
	causes, err = ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 2, Accepted: true}})
	if err != nil || !causes[0].Equal(t1) {
		t.Fatalf("second push: causes %v, err %v; want %v", causes, err, t1)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 0 {
		t.Fatalf("still queued: %+v", items)
	}
}

// A change between two takes of the same item (the pusher's coalescing
// wait takes again) travels with the second take: it is not "next".
func TestChangeBeforeARetakeTravelsWithIt(t *testing.T) {
	eachLayout(t, testChangeBeforeARetakeTravelsWithIt)
}

func testChangeBeforeARetakeTravelsWithIt(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 4, Cause: t0}})
	ob.Due(ctx, 10, time.Now())
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 3, Cause: t0.Add(time.Second)}})
	items, _ := ob.Due(ctx, 10, time.Now())
	if len(items) != 1 || items[0].Quantity != 3 || !items[0].Cause.Equal(t0) {
		t.Fatalf("retake: %+v", items)
	}
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 1, Cause: t0.Add(2 * time.Second)}})
	causes, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 3, Accepted: true}})
	if err != nil || !causes[0].Equal(t0) {
		t.Fatalf("causes %v, err %v", causes, err)
	}
	items, _ = ob.Due(ctx, 10, time.Now())
	if len(items) != 1 || items[0].Quantity != 1 || !items[0].Cause.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("after the push of 3: %+v", items)
	}
	// A failed push ends the flight too: a change after it is timed with
	// the item's oldest change, which the next push carries.
	ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 1, RetryAt: time.Now().Add(-time.Millisecond)}})
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 0, Cause: t0.Add(3 * time.Second)}})
	items, _ = ob.Due(ctx, 10, time.Now())
	if len(items) != 1 || items[0].Quantity != 0 || !items[0].Cause.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("after a failed push: %+v", items)
	}
}

func TestEnqueueAllSurvivesAFlushedScriptCache(t *testing.T) {
	eachLayout(t, testEnqueueAllSurvivesAFlushedScriptCache)
}

func testEnqueueAllSurvivesAFlushedScriptCache(t *testing.T, parts int) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	a, b := NewPartitioned(rdb, prefix, "a", parts), NewPartitioned(rdb, prefix, "b", parts)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := EnqueueAll(ctx, rdb, []Batch{{Outbox: a, Wants: []Want{{SKU: "X", Quantity: 1}}}, {Outbox: b}, {Outbox: b, Wants: []Want{{SKU: "Y", Quantity: 2}, {SKU: "Z", Quantity: 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n[0] != 1 || n[1] != 0 || n[2] != 2 {
		t.Fatalf("queued %v, want [1 0 2]", n)
	}
	if items, _ := b.Due(ctx, 10, time.Now()); len(items) != 2 || items[0].SKU != "Z" {
		t.Fatalf("b due %+v, want the drop to zero first", items)
	}
}

func TestStaleRetriesAreNotFailedAttempts(t *testing.T) {
	eachLayout(t, testStaleRetriesAreNotFailedAttempts)
}

func testStaleRetriesAreNotFailedAttempts(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 5}})
	seven := int64(7)
	at := time.Now().Add(time.Minute)
	for i := 0; i < 3; i++ {
		if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 5, Stale: true, Reported: &seven, RetryAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := ob.Due(ctx, 10, at.Add(time.Second))
	if len(items) != 1 || items[0].Attempts != 0 || items[0].Previous == nil || *items[0].Previous != 7 {
		t.Fatalf("after stale retries: %+v", items)
	}
}

// A sale on a compare-and-set channel lowers the figure the next push
// compares from by the units sold, and the item is queued even when that
// figure equals the wanted quantity: the figure may already have held the
// sale (a push or a read recorded after it), and only the channel's
// compare-and-set can tell.
func TestEchoLowersTheCompareFigureAndStillPushes(t *testing.T) {
	eachLayout(t, testEchoLowersTheCompareFigureAndStillPushes)
}

func testEchoLowersTheCompareFigureAndStillPushes(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 10}})
	items, _ := ob.Due(ctx, 10, time.Now())
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: items[0].Quantity, Accepted: true}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name                   string
		want, echo, believed   int64
		queued, prev, queueQty int64
	}{
		{"the channel's own sale: pushed, from the lowered figure", 9, 1, 9, 1, 9, 9},
		{"a negative echo is ignored (9 is accepted now: nothing to do)", 9, -3, 9, 0, 0, 0},
		{"a sale elsewhere: pushed from the figure", 7, 0, 9, 1, 9, 7},
	} {
		n, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: c.want, Echo: c.echo}})
		if err != nil {
			t.Fatal(err)
		}
		acc, _, _ := ob.Accepted(ctx, "A")
		if int64(n) != c.queued || acc != c.believed {
			t.Fatalf("%s: queued %d, figure %d; want queued %d, figure %d", c.name, n, acc, c.queued, c.believed)
		}
		if c.queued == 0 {
			continue
		}
		items, _ := ob.Due(ctx, 10, time.Now())
		if len(items) != 1 || items[0].Quantity != c.queueQty || items[0].Previous == nil || *items[0].Previous != c.prev {
			t.Fatalf("%s: queued %+v", c.name, items)
		}
		if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: items[0].Quantity, Accepted: true}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttemptsNameIntendedWrites: a wanted value keeps its attempt across
// retries and re-queues of the same value; a new value, the same value
// wanted again after another (A, B, A), and a forced correction are new
// attempts. A channel that replays writes by key (Shopify's @idempotent)
// builds its key from them, so A-B-A never replays the first A.
func TestAttemptsNameIntendedWrites(t *testing.T) { eachLayout(t, testAttemptsNameIntendedWrites) }

func testAttemptsNameIntendedWrites(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	due := func() Item {
		t.Helper()
		items, err := ob.Due(ctx, 10, time.Now().Add(time.Hour))
		if err != nil || len(items) != 1 {
			t.Fatalf("due %+v %v, want one item", items, err)
		}
		if items[0].Attempt == "" {
			t.Fatalf("item without an attempt: %+v", items[0])
		}
		return items[0]
	}
	enqueue := func(w Want) {
		t.Helper()
		if _, err := ob.Enqueue(ctx, []Want{w}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]string{}
	fresh := func(what string, it Item) {
		t.Helper()
		if prev, ok := seen[it.Attempt]; ok {
			t.Fatalf("%s reuses the attempt of %s (%s)", what, prev, it.Attempt)
		}
		seen[it.Attempt] = what
	}

	enqueue(Want{SKU: "A", Quantity: 5})
	a1 := due()
	fresh("A=5", a1)
	// A retry keeps the attempt.
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 5, RetryAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if r := due(); r.Attempt != a1.Attempt {
		t.Fatalf("retry has attempt %s, want %s", r.Attempt, a1.Attempt)
	}
	// The same value queued again while it waits keeps it too.
	enqueue(Want{SKU: "A", Quantity: 5})
	if r := due(); r.Attempt != a1.Attempt {
		t.Fatalf("same value re-queued: attempt %s, want %s", r.Attempt, a1.Attempt)
	}
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 5, Accepted: true}}); err != nil {
		t.Fatal(err)
	}
	for i, q := range []int64{6, 5, 6} {
		enqueue(Want{SKU: "A", Quantity: q})
		it := due()
		fresh(fmt.Sprintf("write %d (A=%d)", i+2, q), it)
		if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: q, Accepted: true}}); err != nil {
			t.Fatal(err)
		}
	}
	// A forced correction of the value the channel accepted is a new write.
	enqueue(Want{SKU: "A", Quantity: 6, Force: true})
	fresh("forced A=6", due())
}

// TestCompleteIsFencedByThePushLease: outcomes recorded under a lease
// value that is no longer the lease's are refused whole, and the items
// stay queued for the new holder.
func TestCompleteIsFencedByThePushLease(t *testing.T) {
	eachLayout(t, testCompleteIsFencedByThePushLease)
}

func testCompleteIsFencedByThePushLease(t *testing.T, parts int) {
	rdb, prefix := redistest.New(t)
	ob := NewPartitioned(rdb, prefix, "shop", parts)
	ctx := context.Background()
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Due(ctx, 10, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A new holder holds the lease, and every partition's fence, with one
	// value (lease.Manager.HoldKeys).
	for _, k := range ob.LeaseKeys() {
		if err := rdb.Set(ctx, k, "new-holder", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := ob.Complete(ctx, "old-holder", []Outcome{{SKU: "A", Quantity: 3, Accepted: true}})
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("complete under a lost lease: %v, want ErrFenced", err)
	}
	if _, ok, _ := ob.Accepted(ctx, "A"); ok {
		t.Fatal("a fenced pusher recorded an accepted value")
	}
	items, err := ob.Due(ctx, 10, time.Now())
	if err != nil || len(items) != 1 || items[0].Quantity != 3 {
		t.Fatalf("after a fenced complete: due %+v %v, want A=3 still queued", items, err)
	}
	if _, err := ob.Complete(ctx, "new-holder", []Outcome{{SKU: "A", Quantity: 3, Accepted: true}}); err != nil {
		t.Fatalf("complete by the holder: %v", err)
	}
	if q, ok, _ := ob.Accepted(ctx, "A"); !ok || q != 3 {
		t.Fatalf("accepted %d %v, want 3", q, ok)
	}
}

// TestIncreasesAreNotStarvedByUrgentItems: while urgent items keep the
// urgent queue full, an increase waits at most StarveAfter, then takes up
// to a quarter of a batch ahead of them.
func TestIncreasesAreNotStarvedByUrgentItems(t *testing.T) {
	eachLayout(t, testIncreasesAreNotStarvedByUrgentItems)
}

func testIncreasesAreNotStarvedByUrgentItems(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "UP", Quantity: 5}}); err != nil {
		t.Fatal(err)
	}
	var drops []Want
	for i := range 20 {
		drops = append(drops, Want{SKU: fmt.Sprintf("Z%02d", i), Quantity: 0})
	}
	if _, err := ob.Enqueue(ctx, drops); err != nil {
		t.Fatal(err)
	}
	has := func(items []Item, sku string) bool {
		for _, it := range items {
			if it.SKU == sku {
				return true
			}
		}
		return false
	}
	soon, err := ob.Due(ctx, 4, time.Now().Add(time.Second))
	if err != nil || len(soon) != 4 || has(soon, "UP") {
		t.Fatalf("before StarveAfter: %v %v, want 4 urgent drops", skus(soon), err)
	}
	late, err := ob.Due(ctx, 4, time.Now().Add(StarveAfter+time.Second))
	if err != nil || len(late) != 4 || !has(late, "UP") {
		t.Fatalf("after StarveAfter: %v %v, want the waiting increase among 4", skus(late), err)
	}
	if late[0].SKU != "UP" || !has(late[1:], "Z00") {
		t.Fatalf("after StarveAfter: %v, want UP then the urgent drops", skus(late))
	}
}

// TestPendingIsQueuedOrInFlight: Pending names the SKUs a push is still
// due for (queued, or taken and on the wire), not those pushed, parked or
// never queued.
func TestPendingIsQueuedOrInFlight(t *testing.T) { eachLayout(t, testPendingIsQueuedOrInFlight) }

func testPendingIsQueuedOrInFlight(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	// D and E are pushed first: D accepted (done), E parked.
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "D", Quantity: 4}, {SKU: "E", Quantity: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Due(ctx, 10, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "D", Quantity: 4, Accepted: true}, {SKU: "E", Quantity: 5, Park: true, Reason: "refused"}}); err != nil {
		t.Fatal(err)
	}
	// C is taken (on the wire), A (a drop: urgent) and B (an increase) wait.
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "C", Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	if items, err := ob.Due(ctx, 10, time.Now()); err != nil || len(items) != 1 {
		t.Fatalf("due %+v %v", items, err)
	}
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: 0}, {SKU: "B", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	got, err := ob.Pending(ctx, []string{"A", "B", "C", "D", "E", "F"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sku  string
		want bool
	}{
		{"A", true},  // queued, urgent
		{"B", true},  // queued, normal
		{"C", true},  // in flight
		{"D", false}, // accepted
		{"E", false}, // parked
		{"F", false}, // never queued
	}
	for _, tc := range tests {
		if got[tc.sku] != tc.want {
			t.Errorf("Pending[%s] = %v, want %v", tc.sku, got[tc.sku], tc.want)
		}
	}
	if empty, err := ob.Pending(ctx, nil); err != nil || len(empty) != 0 {
		t.Fatalf("Pending(nil) = %v, %v", empty, err)
	}
}

// TestHeldItemsWaitForRelease: an item completed as held (shadow mode)
// leaves the due queues but stays wanted; a new value queues it again;
// Release makes every held item due, a decrease in the urgent queue.
func TestHeldItemsWaitForRelease(t *testing.T) { eachLayout(t, testHeldItemsWaitForRelease) }

func testHeldItemsWaitForRelease(t *testing.T, parts int) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	o := NewPartitioned(rdb, prefix, "shop", parts)
	if err := o.SetReported(ctx, "A", 9); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(ctx, []Want{{SKU: "A", Quantity: 4}, {SKU: "B", Quantity: 6}}); err != nil {
		t.Fatal(err)
	}
	hold := func(want int) {
		t.Helper()
		items, err := o.Due(ctx, 10, time.Now())
		if err != nil || len(items) != want {
			t.Fatalf("due %v, %v; want %d items", items, err, want)
		}
		var oc []Outcome
		for _, it := range items {
			oc = append(oc, Outcome{SKU: it.SKU, Quantity: it.Quantity, Held: true, RetryAt: time.Now()})
		}
		if _, err := o.Complete(ctx, "", oc); err != nil {
			t.Fatal(err)
		}
	}
	hold(2)
	if items, _ := o.Due(ctx, 10, time.Now().Add(time.Hour)); len(items) != 0 {
		t.Fatalf("held items are due: %v", items)
	}
	// Held is a state of its own, and pending: reconcile must not count a
	// push shadow mode holds on purpose as drift.
	if st, err := o.States(ctx, []string{"A", "B", "C"}); err != nil || len(st) != 2 || st["A"] != PushHeld || st["B"] != PushHeld {
		t.Fatalf("states of held items: %v, %v", st, err)
	}
	if p, err := o.Pending(ctx, []string{"A", "B", "C"}); err != nil || !p["A"] || !p["B"] || p["C"] {
		t.Fatalf("pending of held items: %v, %v; want A and B", p, err)
	}
	if n, _ := o.Held(ctx); n != 2 {
		t.Fatalf("held = %d, want 2", n)
	}
	// A new value of B is queued (and recorded next), then held again.
	if _, err := o.Enqueue(ctx, []Want{{SKU: "B", Quantity: 7}}); err != nil {
		t.Fatal(err)
	}
	items, _ := o.Due(ctx, 10, time.Now())
	if len(items) != 1 || items[0].SKU != "B" || items[0].Quantity != 7 {
		t.Fatalf("due after a new value: %v", items)
	}
	if _, err := o.Complete(ctx, "", []Outcome{{SKU: "B", Quantity: 7, Held: true, RetryAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	n, err := o.Release(ctx)
	if err != nil || n != 2 {
		t.Fatalf("released %d, %v; want 2", n, err)
	}
	items, _ = o.Due(ctx, 10, time.Now())
	got := map[string]int64{}
	for _, it := range items {
		got[it.SKU] = it.Quantity
	}
	if len(items) != 2 || items[0].SKU != "A" || got["A"] != 4 || got["B"] != 7 {
		t.Fatalf("due after release %v: want A (urgent: 9 -> 4) first, then B 7", items)
	}
	if n, _ := o.Release(ctx); n != 0 {
		t.Fatalf("second release moved %d", n)
	}
}

// TestQueueMovesKeepOneQueueAndTheEarliestDue: enqueue reads an item's
// queue scores once and reuses them; an item that moves between the
// urgent and normal queues is in exactly one of them afterwards, keeps
// the earlier of its due time and now, and one waiting for a retry in
// the future becomes due now when a new value comes.
func TestQueueMovesKeepOneQueueAndTheEarliestDue(t *testing.T) {
	eachLayout(t, testQueueMovesKeepOneQueueAndTheEarliestDue)
}

func testQueueMovesKeepOneQueueAndTheEarliestDue(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	keys := ob.parts[ob.partOf("A")].keys
	where := func() (urgent, normal float64, inU, inN bool) {
		t.Helper()
		u, errU := ob.rdb.ZScore(ctx, keys[kUrgent], "A").Result()
		n, errN := ob.rdb.ZScore(ctx, keys[kNormal], "A").Result()
		return u, n, errU == nil, errN == nil
	}
	enqueue := func(q int64) {
		t.Helper()
		if _, err := ob.Enqueue(ctx, []Want{{SKU: "A", Quantity: q}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.SetReported(ctx, "A", 10); err != nil {
		t.Fatal(err)
	}
	enqueue(12) // an increase: normal
	_, first, inU, inN := where()
	if inU || !inN {
		t.Fatalf("increase: urgent %v normal %v, want normal only", inU, inN)
	}
	time.Sleep(5 * time.Millisecond)
	enqueue(4) // a decrease: urgent, due from the first change
	u, _, inU, inN := where()
	if !inU || inN || u != first {
		t.Fatalf("decrease: urgent %v (%v) normal %v, want urgent only at %v", inU, u, inN, first)
	}
	enqueue(3) // another decrease: stays urgent, same due
	if u2, _, inU, inN := where(); !inU || inN || u2 != first {
		t.Fatalf("second decrease: urgent %v (%v) normal %v, want urgent only at %v", inU, u2, inN, first)
	}
	enqueue(11) // an increase again: back to normal, same due
	if _, n, inU, inN := where(); inU || !inN || n != first {
		t.Fatalf("increase after decreases: urgent %v normal %v (%v), want normal only at %v", inU, inN, n, first)
	}
	later := time.Now().Add(time.Hour)
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "A", Quantity: 11, RetryAt: later, Reason: "retry"}}); err != nil {
		t.Fatal(err)
	}
	if items, _ := ob.Due(ctx, 10, time.Now()); len(items) != 0 {
		t.Fatalf("due before its retry: %+v", items)
	}
	enqueue(2) // a new value: due now, urgent
	items, err := ob.Due(ctx, 10, time.Now())
	if err != nil || len(items) != 1 || items[0].Quantity != 2 {
		t.Fatalf("new value after a retry: %+v %v, want A=2 due now", items, err)
	}
	if _, _, inU, inN := where(); !inU || inN {
		t.Fatalf("after the retry: urgent %v normal %v, want urgent only", inU, inN)
	}
}

// TestWithdrawDropsOnlyWhatIsStillWantedAndNotOnTheWire: Withdraw drops a
// queued or parked item wanted with the given value; one wanted with
// another value, or taken (on the wire), stays; a dropped item is no more
// due, pending or parked.
func TestWithdrawDropsOnlyWhatIsStillWantedAndNotOnTheWire(t *testing.T) {
	eachLayout(t, testWithdrawDropsOnlyWhatIsStillWantedAndNotOnTheWire)
}

func testWithdrawDropsOnlyWhatIsStillWantedAndNotOnTheWire(t *testing.T, parts int) {
	ob := newOutbox(t, parts)
	ctx := context.Background()
	zero := func(skus ...string) {
		t.Helper()
		var ws []Want
		for _, s := range skus {
			ws = append(ws, Want{SKU: s, Quantity: 0, Force: true})
		}
		if _, err := ob.Enqueue(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	zero("WIRE", "PARKED")
	if items, err := ob.Due(ctx, 10, time.Now()); err != nil || len(items) != 2 {
		t.Fatalf("due %v, %v", items, err)
	}
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "PARKED", Quantity: 0, Park: true, Reason: "25709"}}); err != nil {
		t.Fatal(err)
	}
	zero("QUEUED", "OTHER")
	if _, err := ob.Enqueue(ctx, []Want{{SKU: "OTHER", Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	n, err := ob.Withdraw(ctx, []string{"WIRE", "PARKED", "QUEUED", "OTHER", "NONE"}, 0)
	if err != nil || n != 2 {
		t.Fatalf("withdrew %d, %v; want 2 (PARKED, QUEUED)", n, err)
	}
	pending, err := ob.Pending(ctx, []string{"WIRE", "QUEUED", "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	if !pending["WIRE"] || pending["QUEUED"] || !pending["OTHER"] {
		t.Fatalf("pending %v; want WIRE (on the wire) and OTHER (wanted 3), not QUEUED", pending)
	}
	parked, err := ob.Parked(ctx)
	if err != nil || len(parked) != 0 {
		t.Fatalf("parked %v, %v; want none", parked, err)
	}
	if _, err := ob.Complete(ctx, "", []Outcome{{SKU: "WIRE", Quantity: 0, Accepted: true}}); err != nil {
		t.Fatal(err)
	}
	items, err := ob.Due(ctx, 10, time.Now())
	if err != nil || len(items) != 1 || items[0].SKU != "OTHER" || items[0].Quantity != 3 {
		t.Fatalf("due %v, %v; want OTHER 3 only", items, err)
	}
}
