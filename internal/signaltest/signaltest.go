// Package signaltest is the ledger's stock-signal state machine (signal()
// in inventory/lua/lib.lua, described in inventory/signals.go) written
// again in Go, for tests: it replays a SKU's journal and says which events
// the ledger must have emitted (Replay), or whether the events a consumer
// received downstream are exactly those, none lost and none doubled
// (Explain). It imports nothing of the module, so the ledger's own tests
// use it too.
package signaltest

import (
	"fmt"
	"slices"
)

// Event types, as inventory's Signal* constants (the ledger's tests
// compare what it emitted with these).
const (
	Low   = "stock.low"
	Out   = "stock.out"
	Back  = "stock.back"
	Rearm = "rearm" // internal, never published
)

// Step is one journal entry of a SKU: the figures its location has after
// it, and the time of the script run that wrote it (ms; every entry of one
// run has the run's time).
type Step struct {
	Location         string
	OnHand, Reserved int64
	At               int64
}

// Event is one transition, with the SKU's figures summed over its
// locations when it was emitted.
type Event struct {
	Seq                         int64
	Type                        string
	Available, OnHand, Reserved int64
	At                          int64
}

// Transitions are the events one evaluation emits from state st ("",
// "low" or "out") at available a, against the point, and the state after:
// stock.low from above the point to at or below it (not for a point of
// 0), stock.out to zero or below, stock.back from out to above zero, and
// rearm from low to above the point.
func Transitions(st string, a, point int64) ([]string, string) {
	ns := ""
	switch {
	case a <= 0:
		ns = "out"
	case a <= point:
		ns = "low"
	}
	switch {
	case ns == st:
		return nil, st
	case st == "out":
		return []string{Back}, ns
	case ns == "":
		return []string{Rearm}, ns
	}
	var out []string
	if st == "" && point > 0 {
		out = append(out, Low)
	}
	if ns == "out" {
		out = append(out, Out)
	}
	return out, ns
}

// figures are a SKU's figures per location and their sums.
type figures struct {
	at   map[string][2]int64
	h, r int64
}

func (f *figures) apply(s Step) {
	if f.at == nil {
		f.at = map[string][2]int64{}
	}
	old := f.at[s.Location]
	f.at[s.Location] = [2]int64{s.OnHand, s.Reserved}
	f.h += s.OnHand - old[0]
	f.r += s.Reserved - old[1]
}

// Replay is what the ledger emits when every step is a script run of its
// own and the point was set, armed, before the first: each step evaluated,
// seq from 1, rearms included.
func Replay(steps []Step, point int64) []Event {
	var f figures
	var out []Event
	st := ""
	for _, s := range steps {
		f.apply(s)
		var types []string
		types, st = Transitions(st, f.h-f.r, point)
		for _, typ := range types {
			out = append(out, Event{Seq: int64(len(out) + 1), Type: typ, Available: f.h - f.r, OnHand: f.h, Reserved: f.r, At: s.At})
		}
	}
	return out
}

// Set is when a SKU's point was set (one run of its own, evaluated at
// once): after the first After steps of its journal, at At (ms).
type Set struct {
	After int
	At    int64
}

// path is one way of splitting the journal into runs, as far as it
// matters: the state and the last seq it leads to.
type path struct {
	st  string
	seq int64
}

// Explain says whether seen, the events a consumer received of one SKU
// (each once: rearms are never published), are exactly the events the
// ledger must have emitted for its journal steps (oldest first), the
// point set as set says, and the ledger's state is state at the end. The
// ledger evaluates a SKU at the end of each script run, and the journal
// does not mark where a run ends: where the time changes one did, but two
// runs of the same millisecond can not be told apart. So Explain accepts
// any split of such steps into runs, and nil means some split explains
// seen: every event emitted reached the consumer with its seq, type and
// figures, and no other did. Otherwise it says where the last split tried
// failed.
func Explain(steps []Step, set Set, point int64, seen []Event, state string) error {
	x := explainer{bySeq: map[int64]Event{}, point: point, furthest: -1}
	var maxSeq int64
	for _, e := range seen {
		if _, dup := x.bySeq[e.Seq]; dup {
			return fmt.Errorf("seq %d received twice", e.Seq)
		}
		x.bySeq[e.Seq] = e
		maxSeq = max(maxSeq, e.Seq)
	}
	if set.After > len(steps) {
		return fmt.Errorf("the point was set after step %d of %d", set.After, len(steps))
	}
	for _, s := range steps[:set.After] {
		x.f.apply(s)
	}
	p, err := x.evaluate(path{}, set.At)
	if err != nil {
		return fmt.Errorf("when the point was set: %w", err)
	}
	paths := []path{p}
	rest := steps[set.After:]
	for i, s := range rest {
		x.f.apply(s)
		runEnds := i == len(rest)-1 || rest[i+1].At != s.At
		if paths = x.advance(paths, s.At, runEnds, fmt.Sprintf("journal step %d (%s at %d ms)", set.After+i, s.Location, s.At)); len(paths) == 0 {
			return x.why
		}
	}
	for _, p := range paths {
		if p.seq >= maxSeq && p.st == state {
			return nil
		}
	}
	return fmt.Errorf("the journal ends at %v (state, last seq), received up to seq %d, the ledger's state is %q", paths, maxSeq, state)
}

// explainer holds what Explain compares with and its most telling failure
// so far: that of the split which matched the most events.
type explainer struct {
	bySeq    map[int64]Event
	point    int64
	f        figures
	why      error
	furthest int64
}

// advance is every path after one more step: evaluated (a run ended
// there), or, unless runEnds, not (the run goes on).
func (x *explainer) advance(paths []path, at int64, runEnds bool, where string) []path {
	var next []path
	for _, p := range paths {
		if !runEnds && !slices.Contains(next, p) {
			next = append(next, p)
		}
		q, err := x.evaluate(p, at)
		if err != nil {
			if q.seq > x.furthest {
				x.why, x.furthest = fmt.Errorf("%s: %w", where, err), q.seq
			}
			continue
		}
		if !slices.Contains(next, q) {
			next = append(next, q)
		}
	}
	return next
}

// evaluate is p after an evaluation at the figures so far: each event it
// emits must have been received with its seq and figures, each rearm not.
func (x *explainer) evaluate(p path, at int64) (path, error) {
	f := &x.f
	types, ns := Transitions(p.st, f.h-f.r, x.point)
	for _, typ := range types {
		p.seq++
		got, ok := x.bySeq[p.seq]
		want := Event{Seq: p.seq, Type: typ, Available: f.h - f.r, OnHand: f.h, Reserved: f.r, At: at}
		switch {
		case typ == Rearm && ok:
			return p, fmt.Errorf("seq %d is a rearm (never published), received %+v", p.seq, got)
		case typ == Rearm:
		case !ok:
			return p, fmt.Errorf("%+v never received", want)
		case got != want:
			return p, fmt.Errorf("received %+v, want %+v", got, want)
		}
	}
	p.st = ns
	return p, nil
}
