package inventory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sameSlotSKUs returns n SKUs whose keys share one Cluster slot.
func sameSlotSKUs(t *testing.T, n int) []string {
	t.Helper()
	by := map[int][]string{}
	for i := 0; i < 200_000; i++ {
		sku := fmt.Sprintf("BULK-%d", i)
		s := SKUSlot(sku)
		by[s] = append(by[s], sku)
		if len(by[s]) == n {
			return by[s]
		}
	}
	t.Fatal("no slot with enough SKUs")
	return nil
}

func TestSKUSlot(t *testing.T) {
	for _, sku := range []string{"SKU-1", "we{ir}d", "~x", "{", "a}b", "123456789", "ß-ünï"} {
		l := New(nil, Options{Prefix: "p:"})
		if got, want := SKUSlot(sku), clusterSlot(l.keys(sku).stock); got != want {
			t.Errorf("SKUSlot(%q) = %d, the stock key's slot is %d", sku, got, want)
		}
	}
}

// TestOpeningKeySlot: each slot's opening hash is in that slot, so a
// count_bulk.lua run touches one slot.
func TestOpeningKeySlot(t *testing.T) {
	l := New(nil, Options{Prefix: "p:"})
	for slot := range 16384 {
		if got := clusterSlot(l.slotOpeningKey(slot)); got != slot {
			t.Fatalf("the opening key of slot %d, %s, is in slot %d", slot, l.slotOpeningKey(slot), got)
		}
	}
	for _, sku := range []string{"SKU-1", "we{ir}d", "~x"} {
		if a, b := clusterSlot(l.openingKey(sku)), clusterSlot(l.keys(sku).stock); a != b {
			t.Errorf("%s: opening key in slot %d, stock key in %d", sku, a, b)
		}
	}
}

// TestSetCountsMatchesSetCount applies the same counts one SetCount at a
// time on one ledger and in one SetCounts on another (several SKUs of one
// slot in one run, several locations of one SKU, net counts, stale
// versions, a count out of range) and compares outcomes, figures, journals
// and signals; a second SetCounts of the same counts changes nothing.
func TestSetCountsMatchesSetCount(t *testing.T) {
	e := realRedis(t)
	ctx := context.Background()
	slot := sameSlotSKUs(t, 3)
	one := New(e.rdb, Options{Prefix: e.prefix + "one:", Now: e.clock.Now})
	bulk := New(e.rdb, Options{Prefix: e.prefix + "bulk:", Now: e.clock.Now})
	skus := append([]string{"OTHER-1", "we{ir}d"}, slot...)
	for _, l := range []*Ledger{one, bulk} {
		setupCounted(t, ctx, l, slot)
	}
	counts := []Count{
		{SKU: slot[0], Location: "A", Quantity: 7, Version: 5},                        // over version 2
		{SKU: slot[0], Location: "B", Quantity: 3, Version: 1},                        // new location
		{SKU: slot[1], Location: "A", Quantity: 9, Version: 1},                        // stale: version 2 recorded
		{SKU: slot[1], Location: "B", Quantity: 4, Version: 3, Net: true},             // net: + the reservation
		{SKU: slot[2], Location: "A", Quantity: 2, Version: 1, Reason: "cycle"},       // below the reorder point
		{SKU: "OTHER-1", Location: "A", Quantity: MaxQuantity, Version: 9, Net: true}, // + reserved: out of range
		{SKU: "we{ir}d", Location: "A", Quantity: 0, Version: 1},                      // a new SKU at 0
	}
	var want []CountOutcome
	for _, c := range counts {
		res, err := one.SetCount(ctx, c)
		want = append(want, CountOutcome{DeltaResult: res, Err: err})
	}
	if !errors.Is(want[5].Err, ErrOutOfRange) || want[2].Applied || !want[3].Applied || want[3].OnHand != 6 {
		t.Fatalf("the cases are not what they say: %+v", want)
	}
	got, err := bulk.SetCounts(ctx, counts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range counts {
		w, g := want[i], got[i]
		if g.Applied != w.Applied || g.OnHand != w.OnHand || g.Reserved != w.Reserved || (g.Err == nil) != (w.Err == nil) {
			t.Errorf("count %d %+v: SetCounts %+v, SetCount %+v", i, counts[i], g, w)
		}
		if w.Err != nil && !errors.Is(g.Err, ErrOutOfRange) {
			t.Errorf("count %d: error %v, want ErrOutOfRange", i, g.Err)
		}
	}
	// The new SKU's count is an opening row (no stream): sameState compared
	// it, as History reads it, with SetCount's stream entry.
	if n := e.rdb.Exists(ctx, bulk.keys("we{ir}d").journal).Val(); n != 0 {
		t.Errorf("SetCounts gave a new SKU a journal stream")
	}
	sameState(t, ctx, one, bulk, skus)
	// Again: every count is stale or refused, nothing moves.
	again, err := bulk.SetCounts(ctx, counts)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range again {
		if o.Applied {
			t.Errorf("count %d applied twice", i)
		}
	}
	sameState(t, ctx, one, bulk, skus)
	if bad, err := bulk.Verify(ctx, skus); err != nil || len(bad) > 0 {
		t.Fatalf("verify: %v %v", bad, err)
	}
}

// setupCounted gives the slot SKUs stock, counts, a reservation and a
// reorder point.
func setupCounted(t *testing.T, ctx context.Context, l *Ledger, slot []string) {
	t.Helper()
	steps := []func() error{
		func() error {
			_, err := l.SetCount(ctx, Count{SKU: slot[0], Location: "A", Quantity: 4, Version: 2})
			return err
		},
		func() error {
			_, err := l.SetCount(ctx, Count{SKU: slot[1], Location: "A", Quantity: 4, Version: 2})
			return err
		},
		func() error {
			_, err := l.Receive(ctx, Delta{Key: "r1", SKU: slot[1], Location: "B", Quantity: 6})
			return err
		},
		func() error {
			_, err := l.Receive(ctx, Delta{Key: "r2", SKU: slot[2], Location: "A", Quantity: 20})
			return err
		},
		func() error {
			_, err := l.Receive(ctx, Delta{Key: "r3", SKU: "OTHER-1", Location: "A", Quantity: 5})
			return err
		},
		func() error {
			_, err := l.ApplyLines(ctx, []LineState{
				{Channel: "c", OrderID: "o", LineID: "1", SKU: slot[1], Location: "B", Ordered: 2, Version: 1},
				{Channel: "c", OrderID: "o", LineID: "2", SKU: "OTHER-1", Location: "A", Ordered: 1, Version: 1},
			})
			return err
		},
		func() error {
			_, err := l.SetReorder(ctx, Reorder{SKU: slot[2], Location: "A", Point: 5}, "test")
			return err
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
}

// sameState compares figures, journals and pending signals of skus.
func sameState(t *testing.T, ctx context.Context, a, b *Ledger, skus []string) {
	t.Helper()
	for _, sku := range skus {
		sa, err1 := a.Stock(ctx, sku)
		sb, err2 := b.Stock(ctx, sku)
		if err := errors.Join(err1, err2); err != nil && !errors.Is(err, ErrUnknownSKU) {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sa, sb) {
			t.Errorf("%s: stock %+v, want %+v", sku, sb, sa)
		}
		ja, err1 := a.History(ctx, sku, 100)
		jb, err2 := b.History(ctx, sku, 100)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if len(ja) != len(jb) {
			t.Errorf("%s: %d journal entries, want %d", sku, len(jb), len(ja))
			continue
		}
		for i := range ja {
			ja[i].ID, jb[i].ID = "", ""
			ja[i].Time, jb[i].Time = time.Time{}, time.Time{}
			if ja[i] != jb[i] {
				t.Errorf("%s: journal %d %+v, want %+v", sku, i, jb[i], ja[i])
			}
		}
		ea, err1 := a.PendingSignals(ctx, sku, 100)
		eb, err2 := b.PendingSignals(ctx, sku, 100)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		for i := range ea {
			ea[i].ID = ""
		}
		for i := range eb {
			eb[i].ID = ""
		}
		if !reflect.DeepEqual(ea, eb) {
			t.Errorf("%s: signals %+v, want %+v", sku, eb, ea)
		}
	}
}

// TestSetCountsOpeningRows: a SKU that SetCounts creates gets no journal
// stream; its counts are opening rows in its slot's opening hash, which
// History, Verify and JournalsSince read as its first entries, before
// the stream its next movement starts. A SKU that exists journals to its
// stream as before.
func TestSetCountsOpeningRows(t *testing.T) {
	e := realRedis(t)
	ctx := context.Background()
	l := New(e.rdb, Options{Prefix: e.prefix, Now: e.clock.Now})
	start := e.clock.Now()
	if _, err := l.SetCount(ctx, Count{SKU: "OLD", Location: "A", Quantity: 1, Version: 1}); err != nil {
		t.Fatal(err)
	}
	mustCounts(t, ctx, l, []Count{
		{SKU: "NEW", Location: "A", Quantity: 5, Version: 1, Reason: "opening stock"},
		{SKU: "NEW", Location: "B", Quantity: 3, Version: 1, Reason: "opening stock"},
		{SKU: "ONLY", Location: "A", Quantity: 2, Version: 1},
		{SKU: "OLD", Location: "A", Quantity: 7, Version: 2},
	})
	for sku, want := range map[string]int64{"NEW": 0, "ONLY": 0, "OLD": 2} {
		if n := e.rdb.XLen(ctx, l.keys(sku).journal).Val(); n != want {
			t.Errorf("%s: %d entries in its journal stream, want %d", sku, n, want)
		}
	}
	wantEntries(t, ctx, l, "NEW", 10, "0-1 count A 0->5", "0-2 count B 0->3")
	e.clock.Advance(time.Second)
	if _, err := l.Adjust(ctx, Delta{Key: "k1", SKU: "NEW", Location: "A", Quantity: 2, Reason: "found"}); err != nil {
		t.Fatal(err)
	}
	// A second count of a SKU that exists goes to its stream.
	mustCounts(t, ctx, l, []Count{{SKU: "NEW", Location: "B", Quantity: 1, Version: 2}})
	wantEntries(t, ctx, l, "NEW", 10, "0-1 count A 0->5", "0-2 count B 0->3", "adjust A 5->7", "count B 3->1")
	wantEntries(t, ctx, l, "NEW", 3, "0-2 count B 0->3", "adjust A 5->7", "count B 3->1")
	wantEntries(t, ctx, l, "NEW", 2, "adjust A 5->7", "count B 3->1")
	if bad, err := l.Verify(ctx, nil); err != nil || len(bad) > 0 {
		t.Fatalf("verify: %v %v", bad, err)
	}
	got := map[string][]string{}
	if err := l.JournalsSince(ctx, start, func(sku string, es []JournalMovement, short bool) error {
		if got[sku] != nil || short {
			t.Errorf("%s delivered again or short (%v)", sku, short)
		}
		for _, m := range es {
			got[sku] = append(got[sku], entryString(m.JournalEntry))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"NEW":  {"0-1 count A 0->5", "0-2 count B 0->3", "adjust A 5->7", "count B 3->1"},
		"ONLY": {"0-1 count A 0->2"},
		"OLD":  {"count A 0->1", "count A 1->7"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JournalsSince: %q, want %q", got, want)
	}
	// Verify reads the opening rows: a figure they do not explain is caught.
	e.rdb.HSet(ctx, l.keys("ONLY").stock, "A", "4,0,1")
	bad, err := l.Verify(ctx, []string{"ONLY"})
	if err != nil || len(bad) != 1 || !strings.Contains(bad[0].What, "last entry 0-1") {
		t.Fatalf("verify after a figure changed without a journal entry: %v %v", bad, err)
	}
}

// TestOpeningRowsOfATrimmedStream: once a SKU's stream was trimmed, its
// opening rows are older than what was trimmed and no longer read, even
// by a ledger whose JournalMaxLen is larger than the stream (it was
// trimmed while JournalMaxLen was lower: docs/redis.md suggests lowering
// it). A stream that follows its opening rows still shows them.
func TestOpeningRowsOfATrimmedStream(t *testing.T) {
	e := realRedis(t)
	ctx := context.Background()
	start := e.clock.Now()
	small := New(e.rdb, Options{Prefix: e.prefix, Now: e.clock.Now, JournalMaxLen: 10})
	mustCounts(t, ctx, small, []Count{
		{SKU: "S", Location: "A", Quantity: 5, Version: 1},
		{SKU: "WHOLE", Location: "A", Quantity: 5, Version: 1},
	})
	wantEntries(t, ctx, small, "S", 10, "0-1 count A 0->5")
	for i := range 250 {
		if _, err := small.Receive(ctx, Delta{Key: fmt.Sprint("r", i), SKU: "S", Location: "A", Quantity: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := small.Receive(ctx, Delta{Key: "w", SKU: "WHOLE", Location: "A", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	n := e.rdb.XLen(ctx, small.keys("S").journal).Val()
	if n >= 250 || n < 10 {
		t.Fatalf("the stream holds %d of 250 entries: not trimmed as the test needs", n)
	}
	for _, l := range []*Ledger{small, New(e.rdb, Options{Prefix: e.prefix, Now: e.clock.Now})} {
		h, err := l.History(ctx, "S", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(h)) != n || h[0].ID == "0-1" {
			t.Errorf("JournalMaxLen %d: History: %d entries (first %+v), want the stream's %d only", l.opts.JournalMaxLen, len(h), h[0], n)
		}
		wantEntries(t, ctx, l, "WHOLE", 10, "0-1 count A 0->5", "receive A 5->6")
		if bad, err := l.Verify(ctx, nil); err != nil || len(bad) > 0 {
			t.Errorf("JournalMaxLen %d: verify: %v %v", l.opts.JournalMaxLen, bad, err)
		}
		got := map[string]int{}
		if err := l.JournalsSince(ctx, start, func(sku string, es []JournalMovement, short bool) error {
			got[sku] = len(es)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"S": int(n), "WHOLE": 2}; !reflect.DeepEqual(got, want) {
			t.Errorf("JournalMaxLen %d: JournalsSince delivered %v entries, want %v", l.opts.JournalMaxLen, got, want)
		}
	}
}

func mustCounts(t *testing.T, ctx context.Context, l *Ledger, counts []Count) {
	t.Helper()
	out, err := l.SetCounts(ctx, counts)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Err != nil || !o.Applied {
			t.Fatalf("count %d %+v: %+v", i, counts[i], o)
		}
	}
}

// entryString is "[opening id ]op location h0->h1" (reserved is 0 in
// these tests).
func entryString(e JournalEntry) string {
	s := fmt.Sprintf("%s %s %d->%d", e.Op, e.Location, e.Before.OnHand, e.After.OnHand)
	if strings.HasPrefix(e.ID, "0-") {
		s = e.ID + " " + s
	}
	return s
}

func wantEntries(t *testing.T, ctx context.Context, l *Ledger, sku string, n int64, want ...string) {
	t.Helper()
	h, err := l.History(ctx, sku, n)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, entryString(e))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("History(%s, %d) = %q, want %q", sku, n, got, want)
	}
}
