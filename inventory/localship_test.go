package inventory

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

func ship(order, id string, n int64) LocalShipment {
	return LocalShipment{Channel: "shop", OrderID: order, LineID: id, SKU: "SKU-1", Location: "A", Shipped: n}
}

// TestShipLinesAgainstChannelStates walks a line through local shipments
// and channel states in every order that matters: a channel state that
// has not seen the shipment (shipped 0) does not undo it, the channel's
// own report of it does not count it twice, repeats and older totals
// change nothing. Each step states the result and the figures after it.
func TestShipLinesAgainstChannelStates(t *testing.T) {
	type step struct {
		name  string
		state *LineState     // a channel state, or
		ship  *LocalShipment // a local shipment
		want  LineResult
		after figs
	}
	st := func(s LineState) *LineState { return &s }
	sh := func(s LocalShipment) *LocalShipment { return &s }
	steps := []step{
		{"sale of 3 reserves", st(line("1", "1", 3, 0, 0, 0, 100)), nil, LineResult{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: 7}, figs{"A": {10, 3}}},
		{"local shipment of 2 takes them off the shelf", nil, sh(ship("1", "1", 2)), LineResult{Applied: true, Location: "A", Available: 7}, figs{"A": {8, 1}}},
		{"the same total again is a duplicate", nil, sh(ship("1", "1", 2)), LineResult{Ignored: IgnoredDuplicate, Location: "A", Available: 7}, figs{"A": {8, 1}}},
		{"an older, lower total is a duplicate", nil, sh(ship("1", "1", 1)), LineResult{Ignored: IgnoredDuplicate, Location: "A", Available: 7}, figs{"A": {8, 1}}},
		{"a later channel state without the shipment does not undo it", st(line("1", "1", 3, 0, 0, 0, 101)), nil, LineResult{Location: "A", Available: 7}, figs{"A": {8, 1}}},
		{"the channel's report of the same shipment does not count twice", st(line("1", "1", 3, 2, 0, 0, 102)), nil, LineResult{Location: "A", Available: 7}, figs{"A": {8, 1}}},
		{"the channel ships the last unit itself", st(line("1", "1", 3, 3, 0, 0, 103)), nil, LineResult{Applied: true, Location: "A", Available: 7}, figs{"A": {7, 0}}},
		{"a local total below the channel's changes no figure", nil, sh(ship("1", "1", 3)), LineResult{Location: "A", Available: 7}, figs{"A": {7, 0}}},
		{"a stale channel state is ignored", st(line("1", "1", 3, 0, 0, 0, 99)), nil, LineResult{Ignored: IgnoredStale, Location: "A", Available: 7}, figs{"A": {7, 0}}},
		{"a second order's sale", st(line("2", "1", 4, 0, 0, 0, 100)), nil, LineResult{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: 3}, figs{"A": {7, 4}}},
		{"shipped locally before the channel's cancel of 2", nil, sh(ship("2", "1", 3)), LineResult{Applied: true, Location: "A", Available: 3}, figs{"A": {4, 1}}},
		{"a cancel of units that left gives way to the shipped ones", st(line("2", "1", 4, 0, 2, 0, 101)), nil, LineResult{Applied: true, Location: "A", Available: 4}, figs{"A": {4, 0}}},
		{"a line the ledger does not hold is refused", nil, sh(ship("3", "1", 1)), LineResult{Ignored: IgnoredRefused, Location: "A", Available: 4}, figs{"A": {4, 0}}},
		{"a return after a local shipment", st(func() LineState { s := line("1", "1", 3, 3, 0, 1, 104); s.Restock = true; return s }()), nil, LineResult{Applied: true, Location: "A", Available: 5}, figs{"A": {5, 0}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "SKU-1", "A", 10)
		for _, s := range steps {
			var got []LineResult
			var err error
			if s.ship != nil {
				got, err = l.ShipLines(ctx, []LocalShipment{*s.ship})
			} else {
				got, err = l.ApplyLines(ctx, []LineState{*s.state})
			}
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if !reflect.DeepEqual(got[0], s.want) {
				t.Errorf("%s: result %+v, want %+v", s.name, got[0], s.want)
			}
			if f := stockOf(t, l, "SKU-1"); !sameFigs(f, s.after) {
				t.Fatalf("%s: figures %v, want %v", s.name, f, s.after)
			}
		}
		mustVerify(t, l, []string{"SKU-1"})
		recs, err := l.Lines(ctx, "shop", "2")
		if err != nil || len(recs) != 1 {
			t.Fatalf("Lines: %v %v", recs, err)
		}
		want := LineRecord{Channel: "shop", OrderID: "2", LineID: "1", SKU: "SKU-1", Location: "A", Version: 101, Ordered: 4, Shipped: 3, Cancelled: 1, LocalShipped: 3}
		if !reflect.DeepEqual(recs[0], want) {
			t.Errorf("Lines = %+v, want %+v", recs[0], want)
		}
	})
}

// TestShipLinesInAnyOrderEndsTheSame: the same local totals and channel
// states, applied in every order and each twice, leave the same figures.
func TestShipLinesInAnyOrderEndsTheSame(t *testing.T) {
	type op struct {
		state *LineState
		ship  *LocalShipment
	}
	s1, s2 := line("1", "1", 5, 0, 0, 0, 100), line("1", "1", 5, 1, 0, 0, 200)
	l2, l4 := ship("1", "1", 2), ship("1", "1", 4)
	ops := []op{{state: &s1}, {state: &s2}, {ship: &l2}, {ship: &l4}}
	perms := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}, {0, 2, 1, 3}, {3, 1, 2, 0}}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		base := e.prefix
		defer func() { e.prefix = base }() // the cleanup deletes base*
		for i, p := range perms {
			e.prefix = fmt.Sprintf("%s%d:", base, i) // a fresh ledger per order
			l := e.ledger(Options{})
			receive(t, l, "SKU-1", "A", 10)
			for _, k := range append(p, p...) {
				o := ops[k]
				var err error
				if o.ship != nil {
					_, err = l.ShipLines(context.Background(), []LocalShipment{*o.ship})
				} else {
					_, err = l.ApplyLines(context.Background(), []LineState{*o.state})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			// Whatever came first, the line ends with 4 shipped, 1 reserved.
			if f := stockOf(t, l, "SKU-1"); !sameFigs(f, figs{"A": {6, 1}}) {
				t.Errorf("order %v: figures %v, want A {6,1}", p, f)
			}
			mustVerify(t, l, []string{"SKU-1"})
		}
	})
}

// TestShipLinesFromAnotherLocation: units shipped from a location other
// than the line's leave that location's on hand and release the line's
// reservation where it is; units that already left the line's location
// are never credited back to it.
func TestShipLinesFromAnotherLocation(t *testing.T) {
	at := func(loc string, n int64) LocalShipment { s := ship("1", "1", n); s.Location = loc; return s }
	cases := []struct {
		name  string
		ships []LocalShipment
		after figs
	}{
		{"one from A, then one from B", []LocalShipment{at("A", 1), at("B", 2)}, figs{"A": {9, 0}, "B": {9, 0}}},
		{"one from B, then one from A", []LocalShipment{at("B", 1), at("A", 2)}, figs{"A": {9, 0}, "B": {9, 0}}},
		{"both from B", []LocalShipment{at("B", 2)}, figs{"A": {10, 0}, "B": {8, 0}}},
		{"one from B, the same total again from A", []LocalShipment{at("B", 1), at("A", 1)}, figs{"A": {10, 1}, "B": {9, 0}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		base := e.prefix
		defer func() { e.prefix = base }()
		for i, c := range cases {
			e.prefix = fmt.Sprintf("%s%d:", base, i)
			l := e.ledger(Options{})
			ctx := context.Background()
			receive(t, l, "SKU-1", "A", 10)
			receive(t, l, "SKU-1", "B", 10)
			if _, err := l.ApplyLines(ctx, []LineState{line("1", "1", 2, 0, 0, 0, 100)}); err != nil {
				t.Fatal(err)
			}
			for _, s := range c.ships {
				if _, err := l.ShipLines(ctx, []LocalShipment{s}); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			if f := stockOf(t, l, "SKU-1"); !sameFigs(f, c.after) {
				t.Errorf("%s: figures %v, want %v", c.name, f, c.after)
			}
			// The channel's own report of both shipments changes nothing.
			if _, err := l.ApplyLines(ctx, []LineState{line("1", "1", 2, 2, 0, 0, 101)}); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, l, []string{"SKU-1"})
		}
	})
}
