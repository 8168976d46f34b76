package inventory

import (
	"context"
	"fmt"
	"testing"
)

// TestRouting: each case stocks SKUs P and Q at locations A, B and C,
// applies its batches in turn (each line a new line of order "o" unless it
// names another) and checks where every line went and which rule chose it.
func TestRouting(t *testing.T) {
	single := RouteStep{Rule: "single_location", Kind: RouteWhole}
	prio := RouteStep{Rule: "priority", Kind: RouteFirst}
	most := RouteStep{Rule: "most_available", Kind: RouteMost}
	region := func(locs ...string) RouteStep { return RouteStep{Rule: "region", Kind: RouteFirst, Locations: locs} }
	type ln struct {
		id, sku string
		qty     int64
		order   string
		loc     string // given by the channel
	}
	type want struct{ loc, rule string }
	cases := []struct {
		name    string
		stock   map[string]figs // sku -> location -> {on hand, 0}
		route   []RouteStep
		batches [][]ln
		want    [][]want
	}{
		{
			name:    "one location holds both lines: the whole order goes there",
			stock:   map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"B": {5, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}, {id: "2", sku: "Q", qty: 1}}},
			want:    [][]want{{{"B", "single_location"}, {"B", "single_location"}}},
		},
		{
			name:    "without the whole-order rule priority splits it",
			stock:   map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"B": {5, 0}}},
			route:   []RouteStep{prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}, {id: "2", sku: "Q", qty: 1}}},
			want:    [][]want{{{"A", "priority"}, {"B", "priority"}}},
		},
		{
			name:    "no location holds both: the next rule",
			stock:   map[string]figs{"P": {"A": {5, 0}}, "Q": {"B": {5, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}, {id: "2", sku: "Q", qty: 1}}},
			want:    [][]want{{{"A", "priority"}, {"B", "priority"}}},
		},
		{
			name:    "two lines of one SKU are summed",
			stock:   map[string]figs{"P": {"A": {5, 0}, "B": {6, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 3}, {id: "2", sku: "P", qty: 3}}},
			want:    [][]want{{{"B", "single_location"}, {"B", "single_location"}}},
		},
		{
			name:  "a line recorded before pins the order's location",
			stock: map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"A": {1, 0}, "B": {5, 0}}},
			route: []RouteStep{single, prio},
			batches: [][]ln{
				{{id: "1", sku: "P", qty: 2}},
				{{id: "1", sku: "P", qty: 2}, {id: "2", sku: "Q", qty: 1}},
			},
			want: [][]want{{{"A", "single_location"}}, {{"A", ""}, {"A", "single_location"}}},
		},
		{
			name:  "a line recorded elsewhere rules the whole order out",
			stock: map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"B": {5, 0}}},
			route: []RouteStep{single, prio},
			batches: [][]ln{
				{{id: "1", sku: "P", qty: 2}},
				{{id: "1", sku: "P", qty: 2}, {id: "2", sku: "Q", qty: 1}},
			},
			want: [][]want{{{"A", "single_location"}}, {{"A", ""}, {"B", "priority"}}},
		},
		{
			name:    "another order's lines do not count",
			stock:   map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"B": {5, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}, {id: "1", sku: "Q", qty: 1, order: "other"}}},
			want:    [][]want{{{"A", "single_location"}, {"B", "single_location"}}},
		},
		{
			name:    "a region's list comes first",
			stock:   map[string]figs{"P": {"A": {5, 0}, "C": {5, 0}}},
			route:   []RouteStep{region("C"), prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}}},
			want:    [][]want{{{"C", "region"}}},
		},
		{
			name:    "a region's list without enough passes",
			stock:   map[string]figs{"P": {"A": {5, 0}, "C": {1, 0}}},
			route:   []RouteStep{region("C"), prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2}}},
			want:    [][]want{{{"A", "priority"}}},
		},
		{
			name:    "most available takes the largest even when short",
			stock:   map[string]figs{"P": {"A": {1, 0}, "B": {3, 0}, "C": {2, 0}}},
			route:   []RouteStep{prio, most},
			batches: [][]ln{{{id: "1", sku: "P", qty: 4}}},
			want:    [][]want{{{"B", "most_available"}}},
		},
		{
			name:    "nothing found: the first candidate",
			stock:   map[string]figs{"P": {"A": {1, 0}, "B": {1, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 4}}},
			want:    [][]want{{{"A", "fallback"}}},
		},
		{
			name:    "the channel's location wins, and pins the order's",
			stock:   map[string]figs{"P": {"A": {5, 0}, "B": {5, 0}}, "Q": {"B": {5, 0}}},
			route:   []RouteStep{single, prio},
			batches: [][]ln{{{id: "1", sku: "P", qty: 2, loc: "C"}, {id: "2", sku: "Q", qty: 1}}},
			want:    [][]want{{{"C", RuleChannel}, {"B", "priority"}}},
		},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for ci, c := range cases {
			l := e.ledger(Options{})
			sku := func(s string) string { return fmt.Sprintf("R%d-%s", ci, s) }
			for s, fs := range c.stock {
				for loc, f := range fs {
					receive(t, l, sku(s), loc, f[0])
				}
			}
			var touched []string
			for bi, batch := range c.batches {
				var states []LineState
				for _, x := range batch {
					order := x.order
					if order == "" {
						order = "o"
					}
					states = append(states, LineState{Channel: "shop", OrderID: order, LineID: x.id, SKU: sku(x.sku), Location: x.loc,
						Candidates: []string{"A", "B", "C"}, Route: c.route, Ordered: x.qty, Version: 1})
					touched = append(touched, sku(x.sku))
				}
				got, err := l.ApplyLines(ctx, states)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				for i, w := range c.want[bi] {
					if got[i].Location != w.loc || got[i].Rule != w.rule {
						t.Errorf("%s: batch %d line %d at %q by %q, want %q by %q", c.name, bi, i, got[i].Location, got[i].Rule, w.loc, w.rule)
					}
				}
			}
			mustVerify(t, l, touched)
		}
	})
}

// TestRoutingJournal: a routed line's first journal entry names the rule;
// its later entries do not.
func TestRoutingJournal(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "J", "B", 5)
		s := LineState{Channel: "shop", OrderID: "o", LineID: "1", SKU: "J", Candidates: []string{"A", "B"},
			Route: []RouteStep{{Rule: "single_location", Kind: RouteWhole}}, Ordered: 2, Version: 1}
		if _, err := l.ApplyLines(ctx, []LineState{s}); err != nil {
			t.Fatal(err)
		}
		s.Shipped, s.Version = 2, 2
		if _, err := l.ApplyLines(ctx, []LineState{s}); err != nil {
			t.Fatal(err)
		}
		h, err := l.History(ctx, "J", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 3 || h[1].Rule != "single_location" || h[1].Location != "B" || h[1].Cause != "v=1" || h[2].Rule != "" || h[2].Cause != "v=2" {
			t.Fatalf("journal %+v", h)
		}
	})
}

// TestRoutingNoSignals: routing keys after the run's own keys work
// whether the run carries the signal keys or not: signals off (KEYS[5] =
// KEYS[1] stands for none), on but skipped (no reorder point ever set),
// and on with one set (six keys before the routing keys).
func TestRoutingNoSignals(t *testing.T) {
	for _, c := range []struct {
		name      string
		noSignals bool
		point     bool
	}{{"signals off", true, false}, {"no reorder point set", false, false}, {"a reorder point set", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			e := realRedis(t)
			ctx := context.Background()
			l := e.ledger(Options{NoSignals: c.noSignals})
			receive(t, l, "N1", "B", 5)
			receive(t, l, "N2", "B", 5)
			if c.point {
				receive(t, l, "N3", "B", 5)
				if _, err := l.SetReorder(ctx, Reorder{SKU: "N3", Location: "B", Point: 1}, "test"); err != nil {
					t.Fatal(err)
				}
			}
			route := []RouteStep{{Rule: "single_location", Kind: RouteWhole}}
			lines := []LineState{
				{Channel: "shop", OrderID: "o", LineID: "1", SKU: "N1", Candidates: []string{"A", "B"}, Route: route, Ordered: 1, Version: 1},
				{Channel: "shop", OrderID: "o", LineID: "2", SKU: "N2", Candidates: []string{"A", "B"}, Route: route, Ordered: 1, Version: 1},
			}
			groups, _ := l.groupLines(ctx, lines, orderLines(lines))
			if n, want := len(groups[0].call.keys), 4+2+2; n != want {
				t.Fatalf("the first run's keys: %d (%v), want %d", n, groups[0].call.keys, want)
			}
			if got := len(groups[0].call.sigs) > 0; got != c.point {
				t.Fatalf("the first run carries signal keys: %v, want %v", got, c.point)
			}
			got, err := l.ApplyLines(ctx, lines)
			if err != nil || got[0].Location != "B" || got[1].Location != "B" || got[1].Rule != "single_location" {
				t.Fatalf("%+v %v", got, err)
			}
		})
	}
}

// TestRouteArgsCluster: on Cluster, a whole-order step whose order has a
// line in another slot goes as 'x' (passes), one whose lines share the
// slot goes as 's' with the other line's keys.
func TestRouteArgsCluster(t *testing.T) {
	route := []RouteStep{{Rule: "single_location", Kind: RouteWhole}, {Rule: "priority", Kind: RouteFirst}}
	mk := func(skus ...string) []LineState {
		var out []LineState
		for i, s := range skus {
			out = append(out, LineState{Channel: "c", OrderID: "o", LineID: fmt.Sprint(i), SKU: s, Candidates: []string{"A"}, Route: route, Ordered: 1, Version: 1})
		}
		return out
	}
	for _, c := range []struct {
		name    string
		cluster bool
		lines   []LineState
		kind    string
		keys    int
	}{
		{"standalone, two SKUs", false, mk("foo", "bar"), "s", 2},
		{"cluster, two slots", true, mk("foo", "bar"), "x", 0},
		{"cluster, one SKU twice", true, mk("foo", "foo"), "s", 0},
		{"cluster, two SKUs in one slot", true, mk("foo", sameSlotAs("foo")), "s", 2},
	} {
		l := &Ledger{cluster: c.cluster, opts: Options{Prefix: "p:"}}
		rk := routeKeys{base: 6}
		args := l.appendRoute(nil, c.lines, 0, orderLines(c.lines)["c"+string(fieldSep)+"o"], &rk)
		// candidates: 1, "A"; then the whole step's kind and name
		if got := args[2].(string); got[:1] != c.kind {
			t.Errorf("%s: step sent as %q, want kind %s", c.name, got, c.kind)
		}
		if len(rk.keys) != c.keys {
			t.Errorf("%s: %d extra keys, want %d", c.name, len(rk.keys), c.keys)
		}
	}
	if keySlot("123456789") != 0x31C3 || keySlot("foo") != 12182 {
		t.Error("keySlot disagrees with the Cluster specification")
	}
}

// sameSlotAs finds another SKU whose keys share sku's Cluster slot.
func sameSlotAs(sku string) string {
	want := keySlot(keySKU(sku))
	for i := 0; ; i++ {
		if c := fmt.Sprintf("s%d", i); c != sku && keySlot(keySKU(c)) == want {
			return c
		}
	}
}
