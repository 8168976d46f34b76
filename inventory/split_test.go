package inventory

import (
	"context"
	"fmt"
	"reflect"
	"testing"
)

var (
	splitPrio = RouteStep{Rule: "priority", Kind: RouteFirst}
	splitStep = RouteStep{Rule: RuleSplit, Kind: RouteSplit}
)

// TestSplitRouting: where a new line goes with and without a split step.
// Each case receives its stock at A, B and C (a prior order may take
// some), places one line of qty over candidates A, B, C and checks the
// line's location, rule, parts and the figures after.
func TestSplitRouting(t *testing.T) {
	type part = SplitPart
	cases := []struct {
		name   string
		stock  map[string]int64
		taken  map[string]int64 // reserved first by another order at that location
		route  []RouteStep
		qty    int64
		loc    string
		rule   string
		split  []part
		over   int64
		after  figs
		strict bool
		refuse bool
	}{
		{name: "off: a short line goes whole to the first candidate, oversold there",
			stock: map[string]int64{"A": 1, "B": 3}, route: []RouteStep{splitPrio}, qty: 4,
			loc: "A", rule: RuleFallback, over: 3, after: figs{"A": {1, 4}, "B": {3, 0}}},
		{name: "on: each location gives what it has, in order",
			stock: map[string]int64{"A": 2, "B": 1, "C": 1}, route: []RouteStep{splitPrio, splitStep}, qty: 4,
			loc: "C", rule: RuleSplit, split: []part{{"A", 2}, {"B", 1}, {"C", 1}},
			after: figs{"A": {2, 2}, "B": {1, 1}, "C": {1, 1}}},
		{name: "on: what no location covers goes to the last part, oversold there",
			stock: map[string]int64{"A": 2, "B": 1}, route: []RouteStep{splitPrio, splitStep}, qty: 5,
			loc: "B", rule: RuleSplit, split: []part{{"A", 2}, {"B", 3}}, over: 2,
			after: figs{"A": {2, 2}, "B": {1, 3}}},
		{name: "on: a location that fills the line wins over a split",
			stock: map[string]int64{"A": 1, "B": 5}, route: []RouteStep{splitPrio, splitStep}, qty: 3,
			loc: "B", rule: "priority", after: figs{"A": {1, 0}, "B": {5, 3}}},
		{name: "on: one location with some is no split",
			stock: map[string]int64{"A": 2, "B": 1}, taken: map[string]int64{"A": 2}, route: []RouteStep{splitPrio, splitStep}, qty: 3,
			loc: "B", rule: RuleSplit, over: 2, after: figs{"A": {2, 2}, "B": {1, 3}}},
		{name: "on: nothing available anywhere: the split passes to the fallback",
			stock: map[string]int64{"A": 1, "B": 1}, taken: map[string]int64{"A": 1, "B": 1}, route: []RouteStep{splitPrio, splitStep}, qty: 2,
			loc: "A", rule: RuleFallback, over: 2, after: figs{"A": {1, 3}, "B": {1, 1}}},
		{name: "on: the split step's own list",
			stock: map[string]int64{"A": 1, "B": 1, "C": 1}, route: []RouteStep{{Rule: RuleSplit, Kind: RouteSplit, Locations: []string{"C", "B"}}}, qty: 2,
			loc: "B", rule: RuleSplit, split: []part{{"C", 1}, {"B", 1}}, after: figs{"A": {1, 0}, "B": {1, 1}, "C": {1, 1}}},
		{name: "strict: a split that would oversell is refused",
			stock: map[string]int64{"A": 2, "B": 1}, route: []RouteStep{splitPrio, splitStep}, qty: 5, strict: true, refuse: true,
			loc: "B", rule: RuleSplit, split: []part{{"A", 2}, {"B", 3}}, after: figs{"A": {2, 0}, "B": {1, 0}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for ci, c := range cases {
			l := e.ledger(Options{})
			sku := fmt.Sprintf("SP%d", ci)
			for loc, q := range c.stock {
				receive(t, l, sku, loc, q)
			}
			for loc, q := range c.taken {
				if _, err := l.ApplyLines(ctx, []LineState{{Channel: "shop", OrderID: "prior-" + loc, LineID: "1", SKU: sku, Location: loc, Ordered: q, Version: 1}}); err != nil {
					t.Fatal(err)
				}
			}
			s := LineState{Channel: "shop", OrderID: "o", LineID: "1", SKU: sku, Candidates: []string{"A", "B", "C"},
				Route: c.route, Ordered: c.qty, Version: 1, Strict: c.strict}
			got, err := l.ApplyLines(ctx, []LineState{s})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			r := got[0]
			if r.Location != c.loc || r.Rule != c.rule || !reflect.DeepEqual(r.Split, c.split) || r.Oversold != c.over || (r.Ignored == IgnoredRefused) != c.refuse {
				t.Errorf("%s: %+v, want at %s by %q split %v oversold %d", c.name, r, c.loc, c.rule, c.split, c.over)
			}
			after := stockOf(t, l, sku)
			for loc := range after {
				if _, ok := c.after[loc]; !ok && after[loc] == [2]int64{0, 0} {
					delete(after, loc) // read by the script, never moved
				}
			}
			if !sameFigs(after, c.after) {
				t.Errorf("%s: figures %v, want %v", c.name, after, c.after)
			}
			mustVerify(t, l, []string{sku})
		}
	})
}

// splitLife is a split line's states over its life, in version order.
var splitLife = func() []LineState {
	s := LineState{Channel: "shop", OrderID: "o", LineID: "1", SKU: "LIFE", Candidates: []string{"A", "B", "C"},
		Route: []RouteStep{splitPrio, splitStep}, Ordered: 5, Restock: true, Version: 1}
	var out []LineState
	step := func(f func(*LineState)) { f(&s); s.Version++; out = append(out, s) }
	step(func(*LineState) {})                                  // v1: 5 ordered, split A2 B1 C2 (C oversold 1)
	step(func(s *LineState) { s.Cancelled = 1 })               // v2: the cancel comes off C, the last part
	step(func(s *LineState) { s.Shipped = 2 })                 // v3: shipped from A, the first
	step(func(s *LineState) { s.Ordered = 6 })                 // v4: one more ordered: the last part takes it
	step(func(s *LineState) { s.Shipped = 4 })                 // v5: B's unit and one of C's ship
	step(func(s *LineState) { s.Returned = 3 })                // v6: returned, restocked where they left
	step(func(s *LineState) { s.Shipped, s.Cancelled = 4, 2 }) // v7: the last unit cancelled, at C
	return out
}()

// splitLifeWant is the figures after each state of splitLife (A: 2, B: 1,
// C: 1 received first).
var splitLifeWant = []figs{
	{"A": {2, 2}, "B": {1, 1}, "C": {1, 2}},
	{"A": {2, 2}, "B": {1, 1}, "C": {1, 1}},
	{"A": {0, 0}, "B": {1, 1}, "C": {1, 1}},
	{"A": {0, 0}, "B": {1, 1}, "C": {1, 2}},
	{"A": {0, 0}, "B": {0, 0}, "C": {0, 1}},
	{"A": {2, 0}, "B": {1, 0}, "C": {0, 1}},
	{"A": {2, 0}, "B": {1, 0}, "C": {0, 0}},
}

// TestSplitLineLife: a split line's cancels, shipments, returns and edits
// move the figures of the locations it was split across, each state's
// figures are the same however the states arrive (repeats, old states,
// reorderings), the record and Verify agree, and a state naming a
// location gathers the line there.
func TestSplitLineLife(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		for loc, q := range map[string]int64{"A": 2, "B": 1, "C": 1} {
			receive(t, l, "LIFE", loc, q)
		}
		want := []SplitPart{{"A", 2}, {"B", 1}, {"C", 2}}
		for i, s := range splitLife {
			// Each state, then every older one again (stale), then itself
			// again (duplicate): only the first moves anything.
			batch := []LineState{s}
			for j := i - 1; j >= 0; j-- {
				batch = append(batch, splitLife[j])
			}
			batch = append(batch, s)
			got, err := l.ApplyLines(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for k, r := range got {
				if !reflect.DeepEqual(r.Split, want) || r.Location != "C" || (k > 0 && r.Applied) {
					t.Fatalf("v%d, result %d: %+v", s.Version, k, r)
				}
			}
			if f := stockOf(t, l, "LIFE"); !sameFigs(f, splitLifeWant[i]) {
				t.Fatalf("after v%d: %v, want %v", s.Version, f, splitLifeWant[i])
			}
			recs, err := l.Lines(ctx, "shop", "o")
			if err != nil || len(recs) != 1 || !reflect.DeepEqual(recs[0].Split, want) || recs[0].Location != "C" {
				t.Fatalf("after v%d: records %+v, %v", s.Version, recs, err)
			}
			mustVerify(t, l, []string{"LIFE"})
		}
		// The channel names a location: the whole line gathers there.
		last := splitLife[len(splitLife)-1]
		last.Location, last.Version = "B", last.Version+1
		got, err := l.ApplyLines(ctx, []LineState{last})
		if err != nil || got[0].Location != "B" || got[0].Split != nil {
			t.Fatalf("gathered: %+v, %v", got, err)
		}
		if f := stockOf(t, l, "LIFE"); !sameFigs(f, figs{"A": {2, 0}, "B": {0, 0}, "C": {1, 0}}) {
			t.Fatalf("gathered at B: %v", f)
		}
		recs, _ := l.Lines(ctx, "shop", "o")
		if len(recs) != 1 || recs[0].Location != "B" || recs[0].Split != nil {
			t.Fatalf("gathered record %+v", recs)
		}
		mustVerify(t, l, []string{"LIFE"})
	})
}

// TestSplitLineOrderFree: the final figures of a split line do not depend
// on the order its states arrive in (only the first state is the same,
// as it decides the split).
func TestSplitLineOrderFree(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		orders := [][]int{{0, 6, 1, 2, 3, 4, 5}, {0, 3, 1, 5, 2, 6, 4}, {0, 1, 2, 3, 4, 5, 6, 6, 0, 3}}
		for oi, order := range orders {
			l := e.ledger(Options{})
			for loc, q := range map[string]int64{"A": 2, "B": 1, "C": 1} {
				receive(t, l, "LIFE", loc, q)
			}
			for _, k := range order {
				if _, err := l.ApplyLines(ctx, []LineState{splitLife[k]}); err != nil {
					t.Fatal(err)
				}
			}
			if f := stockOf(t, l, "LIFE"); !sameFigs(f, splitLifeWant[len(splitLifeWant)-1]) {
				t.Errorf("order %d: %v, want %v", oi, f, splitLifeWant[len(splitLifeWant)-1])
			}
			mustVerify(t, l, []string{"LIFE"})
		}
	})
}

// TestSplitJournal: a split line's first entries (one per part) carry the
// rule, and each part's location and units are in the journal.
func TestSplitJournal(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "SJ", "A", 1)
		receive(t, l, "SJ", "B", 2)
		s := LineState{Channel: "shop", OrderID: "o", LineID: "1", SKU: "SJ", Candidates: []string{"A", "B"},
			Route: []RouteStep{splitPrio, splitStep}, Ordered: 3, Version: 7}
		if _, err := l.ApplyLines(ctx, []LineState{s}); err != nil {
			t.Fatal(err)
		}
		h, err := l.History(ctx, "SJ", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range h {
			if en.Op == OpLine {
				got = append(got, fmt.Sprintf("%s %s +%d", en.Location, en.Rule, en.After.Reserved-en.Before.Reserved))
			}
		}
		if !reflect.DeepEqual(got, []string{"A split +1", "B split +2"}) {
			t.Fatalf("journal %q (%+v)", got, h)
		}
	})
}

// TestShares: the Go spread of a split line's figures (Verify's) matches
// hand-worked cases.
func TestShares(t *testing.T) {
	parts := []SplitPart{{"A", 2}, {"B", 1}, {"C", 2}}
	for _, c := range []struct {
		rec  LineRecord
		want map[string]Level
	}{
		{LineRecord{Ordered: 5}, map[string]Level{"A": {Reserved: 2}, "B": {Reserved: 1}, "C": {Reserved: 2}}},
		{LineRecord{Ordered: 5, Cancelled: 3}, map[string]Level{"A": {Reserved: 2}, "B": {}, "C": {}}},
		{LineRecord{Ordered: 5, Shipped: 3, Restocked: 1}, map[string]Level{"A": {OnHand: -1}, "B": {OnHand: -1}, "C": {Reserved: 2}}},
		{LineRecord{Ordered: 3}, map[string]Level{"A": {Reserved: 2}, "B": {Reserved: 1}, "C": {}}},
		{LineRecord{Ordered: 8, Shipped: 1, Cancelled: 4}, map[string]Level{"A": {OnHand: -1, Reserved: 1}, "B": {Reserved: 1}, "C": {Reserved: 1}}},
	} {
		c.rec.Split, c.rec.Location = parts, "C"
		if got := c.rec.Shares(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.rec, got, c.want)
		}
	}
}

// TestSplitRulesOutWholeOrder: an order with a split line has no one
// location holding it, so a later line's whole-order step passes.
func TestSplitRulesOutWholeOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "W1", "A", 1)
		receive(t, l, "W1", "B", 1)
		receive(t, l, "W2", "A", 5)
		receive(t, l, "W2", "B", 5)
		route := []RouteStep{{Rule: "single_location", Kind: RouteWhole}, splitPrio, splitStep}
		mk := func(id, sku string) LineState {
			return LineState{Channel: "shop", OrderID: "o", LineID: id, SKU: sku, Candidates: []string{"A", "B"}, Route: route, Ordered: 2, Version: 1}
		}
		got, err := l.ApplyLines(ctx, []LineState{mk("1", "W1")})
		if err != nil || len(got[0].Split) != 2 || got[0].Rule != RuleSplit {
			t.Fatalf("first line %+v, %v", got, err)
		}
		got, err = l.ApplyLines(ctx, []LineState{mk("1", "W1"), mk("2", "W2")})
		if err != nil || got[1].Location != "A" || got[1].Rule != "priority" {
			t.Fatalf("second line %+v, %v: want A by priority (the whole-order step passes)", got, err)
		}
		mustVerify(t, l, []string{"W1", "W2"})
	})
}
