package signaltest

import (
	"strings"
	"testing"
)

func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		st          string
		a, point    int64
		types, next string
	}{
		{"", 9, 5, "", ""},
		{"", 5, 5, Low, "low"},
		{"", 0, 5, Low + " " + Out, "out"},
		{"", -2, 0, Out, "out"}, // a point of 0: no stock.low
		{"low", 3, 5, "", "low"},
		{"low", 6, 5, Rearm, ""},
		{"low", 0, 5, Out, "out"},
		{"out", 2, 5, Back, "low"},
		{"out", 9, 5, Back, ""},
		{"out", 0, 5, "", "out"},
	} {
		types, next := Transitions(c.st, c.a, c.point)
		if strings.Join(types, " ") != c.types || next != c.next {
			t.Errorf("from %q at %d (point %d): %v → %q, want %q → %q", c.st, c.a, c.point, types, next, c.types, c.next)
		}
	}
}

func TestReplay(t *testing.T) {
	got := Replay([]Step{{"A", 10, 0, 1}, {"B", 2, 0, 2}, {"A", 10, 8, 3}, {"B", 2, 4, 4}, {"A", 10, 1, 5}}, 5)
	want := []Event{
		{Seq: 1, Type: Low, Available: 4, OnHand: 12, Reserved: 8, At: 3},
		{Seq: 2, Type: Out, Available: 0, OnHand: 12, Reserved: 12, At: 4},
		{Seq: 3, Type: Back, Available: 7, OnHand: 12, Reserved: 5, At: 5},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestExplain: steps 2 and 3 share a millisecond, so they may be one
// script run (no event: nobody saw available 4) or two (stock.low, then a
// rearm); both are explained, and a lost, doubled, changed or extra event
// is not.
func TestExplain(t *testing.T) {
	steps := []Step{
		{"A", 10, 0, 50}, // before the point: an opening row
		{"A", 10, 3, 200},
		{"A", 10, 6, 300}, // available 4
		{"A", 10, 4, 300}, // available 6
		{"A", 10, 10, 400},
	}
	set := Set{After: 1, At: 100}
	low := func(seq, a, at int64) Event {
		return Event{Seq: seq, Type: Low, Available: a, OnHand: 10, Reserved: 10 - a, At: at}
	}
	out := func(seq int64) Event { return Event{Seq: seq, Type: Out, OnHand: 10, Reserved: 10, At: 400} }
	for _, c := range []struct {
		name  string
		seen  []Event
		state string
		err   string // "" explained
	}{
		{"one run", []Event{low(1, 0, 400), out(2)}, "out", ""},
		{"two runs", []Event{low(1, 4, 300), low(3, 0, 400), out(4)}, "out", ""},
		{"lost", []Event{low(1, 4, 300), out(4)}, "out", "never received"},
		{"lost last", []Event{low(1, 4, 300), low(3, 0, 400)}, "out", "never received"},
		{"doubled", []Event{low(1, 4, 300), low(3, 0, 400), low(3, 0, 400), out(4)}, "out", "received twice"},
		{"figures", []Event{low(1, 5, 300), low(3, 0, 400), out(4)}, "out", "want"},
		{"rearm published", []Event{low(1, 4, 300), {Seq: 2, Type: Back, Available: 6, OnHand: 10, Reserved: 4, At: 300}, low(3, 0, 400), out(4)}, "out", "rearm"},
		{"extra", []Event{low(1, 0, 400), out(2), {Seq: 3, Type: Back, Available: 1, OnHand: 10, Reserved: 9, At: 500}}, "out", "received up to seq 3"},
		{"state", []Event{low(1, 0, 400), out(2)}, "low", "the ledger's state"},
	} {
		err := Explain(steps, set, 5, c.seen, c.state)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
		}
	}
}

// TestExplainWhenSet: a SKU already at or below its new point is
// announced when the point is set, at the set's time.
func TestExplainWhenSet(t *testing.T) {
	steps := []Step{{"A", 3, 0, 50}, {"A", 3, 3, 200}}
	seen := []Event{
		{Seq: 1, Type: Low, Available: 3, OnHand: 3, Reserved: 0, At: 100},
		{Seq: 2, Type: Out, Available: 0, OnHand: 3, Reserved: 3, At: 200},
	}
	if err := Explain(steps, Set{After: 1, At: 100}, 5, seen, "out"); err != nil {
		t.Fatal(err)
	}
	if err := Explain(steps, Set{After: 1, At: 100}, 5, seen[1:], "out"); err == nil || !strings.Contains(err.Error(), "when the point was set") {
		t.Fatalf("the set's event lost: %v", err)
	}
}
