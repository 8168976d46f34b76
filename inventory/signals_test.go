package inventory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// signalTypes lists the SKU's pending events' types (rearm included).
func signalTypes(t *testing.T, l *Ledger, sku string) []string {
	t.Helper()
	evs, err := l.PendingSignals(context.Background(), sku, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestSignalCrossings(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		cases := []struct {
			name   string
			point  int64
			counts []int64 // on_hand at A after each step (starting at 10)
			want   []string
		}{
			{"above the point: nothing", 3, []int64{9, 4}, []string{}},
			{"down across the point", 3, []int64{3}, []string{SignalLow}},
			{"straight to zero", 3, []int64{0}, []string{SignalLow, SignalOut}},
			{"low then out", 3, []int64{2, 0}, []string{SignalLow, SignalOut}},
			{"out then back above zero", 3, []int64{0, 1}, []string{SignalLow, SignalOut, SignalBack}},
			{"back above the point: back re-arms", 3, []int64{0, 8, 2}, []string{SignalLow, SignalOut, SignalBack, SignalLow}},
			{"hover at and below the line: one event", 3, []int64{3, 2, 3, 1, 3, 2}, []string{SignalLow}},
			{"above again, then down: a new crossing", 3, []int64{3, 4, 3}, []string{SignalLow, SignalRearm, SignalLow}},
			{"point 0: out and back only", 0, []int64{0, 2}, []string{SignalOut, SignalBack}},
			{"below zero counts as out once", 3, []int64{0, 0, 0}, []string{SignalLow, SignalOut}},
		}
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				sku := fmt.Sprintf("SIG-%d", i)
				if _, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: 10, Version: 1}); err != nil {
					t.Fatal(err)
				}
				if _, err := l.SetReorder(ctx, Reorder{SKU: sku, Location: "A", Point: c.point}, "test"); err != nil {
					t.Fatal(err)
				}
				for v, q := range c.counts {
					if _, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: q, Version: int64(v + 2)}); err != nil {
						t.Fatal(err)
					}
					// a retry of the same count (stale) emits nothing
					if _, err := l.SetCount(ctx, Count{SKU: sku, Location: "A", Quantity: q, Version: int64(v + 2)}); err != nil {
						t.Fatal(err)
					}
				}
				if got := signalTypes(t, l, sku); !reflect.DeepEqual(got, c.want) {
					t.Errorf("events %v, want %v", got, c.want)
				}
			})
		}
	})
}

// TestSignalFiguresAndSum: the SKU's figures summed over locations, lines
// and deltas evaluate it too, a repeated delta or line makes no second
// event, and ids are SKU:seq.
func TestSignalFiguresAndSum(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		sku := "SUM:1"
		mustReceive := func(loc string, q int64, key string) {
			if _, err := l.Receive(ctx, Delta{Key: key, SKU: sku, Location: loc, Quantity: q}); err != nil {
				t.Fatal(err)
			}
		}
		mustReceive("A", 2, "r1")
		mustReceive("B", 5, "r2")
		qty := int64(20)
		for _, r := range []Reorder{{SKU: sku, Location: "A", Point: 1, Qty: &qty}, {SKU: sku, Location: "B", Point: 2}} {
			if _, err := l.SetReorder(ctx, r, "test"); err != nil {
				t.Fatal(err)
			}
		}
		line := LineState{Channel: "c", OrderID: "o", LineID: "1", SKU: sku, Location: "B", Ordered: 4, Version: 1}
		for range 2 { // the second is a duplicate
			if _, err := l.ApplyLines(ctx, []LineState{line}); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := l.PendingSignals(ctx, sku, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := SignalEvent{ID: "SUM:1:1", Type: SignalLow, SKU: sku, Seq: 1, State: "low", Available: 3, OnHand: 7, Reserved: 4,
			ReorderPoint: 3, ReorderQty: &qty, At: e.clock.Now().UnixMilli()}
		if len(evs) != 1 || !reflect.DeepEqual(evs[0], want) {
			t.Fatalf("events %+v, want [%+v]", evs, want)
		}
		mustReceive("A", 5, "r3")
		mustReceive("A", 5, "r3") // repeat
		if got := signalTypes(t, l, sku); !reflect.DeepEqual(got, []string{SignalLow, SignalRearm}) {
			t.Fatalf("events %v", got)
		}
		// Acknowledging removes up to the sequence moved, no further.
		if err := l.AckSignals(ctx, sku, 1); err != nil {
			t.Fatal(err)
		}
		if got := signalTypes(t, l, sku); !reflect.DeepEqual(got, []string{SignalRearm}) {
			t.Fatalf("after ack: %v", got)
		}
	})
}

func TestSignalsOffAndReorderSettings(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		on := e.ledger(Options{NoIntents: true})
		off := e.ledger(Options{NoIntents: true, NoSignals: true})
		if _, err := on.SetReorder(ctx, Reorder{SKU: "NEW", Location: "A", Point: 1}, "t"); !errors.Is(err, ErrUnknownSKU) {
			t.Fatalf("unknown SKU: %v", err)
		}
		if _, err := on.SetReorder(ctx, Reorder{SKU: "X", Location: "A", Point: -1}, "t"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative point: %v", err)
		}
		if _, err := on.SetCount(ctx, Count{SKU: "S", Location: "A", Quantity: 10, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := on.SetReorder(ctx, Reorder{SKU: "S", Location: "A", Point: 5}, "cli"); err != nil {
			t.Fatal(err)
		}
		if _, err := off.SetCount(ctx, Count{SKU: "S", Location: "A", Quantity: 1, Version: 2}); err != nil {
			t.Fatal(err)
		}
		if got := signalTypes(t, on, "S"); len(got) != 0 {
			t.Fatalf("signals off made events %v", got)
		}
		// The next step with signals on sees the state the off step left.
		if _, err := on.SetCount(ctx, Count{SKU: "S", Location: "A", Quantity: 0, Version: 3}); err != nil {
			t.Fatal(err)
		}
		if got := signalTypes(t, on, "S"); !reflect.DeepEqual(got, []string{SignalLow, SignalOut}) {
			t.Fatalf("events %v", got)
		}
		prev, err := on.SetReorder(ctx, Reorder{SKU: "S", Location: "A", Point: 7}, "api")
		if err != nil || prev == nil || prev.Point != 5 {
			t.Fatalf("previous %+v, %v", prev, err)
		}
		s, ok, err := on.ReorderOf(ctx, "S")
		if err != nil || !ok || s.Point != 7 || s.State != "out" || len(s.Locations) != 1 {
			t.Fatalf("setting %+v %v %v", s, ok, err)
		}
		if _, err := on.RemoveReorder(ctx, "S", "A", "api"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := on.ReorderOf(ctx, "S"); ok {
			t.Fatal("removed setting still there")
		}
		h, err := on.ReorderHistory(ctx, "S", 10)
		if err != nil || len(h) != 3 || h[0].Source != "cli" || h[1].Old != "5," || h[2].New != "" {
			t.Fatalf("history %+v %v", h, err)
		}
	})
}

func TestParseReorderCSV(t *testing.T) {
	cases := []struct {
		name, in string
		rows     int
		errs     []string
	}{
		{"good", "sku,location,reorder_point,reorder_qty\nA,w1,5,20\nB,w2,0,\n", 2, nil},
		{"three columns, BOM", "\ufeffsku,location,reorder_point\nA,w1,5\n", 1, nil},
		{"bad header", "sku,loc,point\nA,w1,5\n", 0, []string{"line 1: header"}},
		{"every bad row named", "sku,location,reorder_point,reorder_qty\nA,w1,-1,\nB,nowhere,2,\nC,w1,x,3\nD,w2,1,y\n,w1,1,\n", 0,
			[]string{"line 2: reorder_point", "line 3: location: unknown location", "line 4: reorder_point", "line 5: reorder_qty", "line 6: sku"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs := ParseReorderCSV(strings.NewReader(c.in), []string{"w1", "w2"})
			if len(errs) != len(c.errs) {
				t.Fatalf("errors %v, want %v", errs, c.errs)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), c.errs[i]) {
					t.Errorf("error %q, want prefix %q", e.Error(), c.errs[i])
				}
			}
			if len(errs) == 0 && len(rows) != c.rows {
				t.Errorf("%d rows, want %d", len(rows), c.rows)
			}
		})
	}
}
