package inventory

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr(n int64) *int64 { return &n }

// TestEffectiveReorder: a SKU's own point wins at its location; other
// locations it has figures at take their default, else the "*" one;
// locations it has no figures at take none.
func TestEffectiveReorder(t *testing.T) {
	defs := map[string]ReorderDefault{
		"A": {Location: "A", Point: 5, Qty: ptr(20)},
		"*": {Location: "*", Point: 2},
	}
	onlyA := map[string]ReorderDefault{"A": defs["A"]}
	own := func(rs ...Reorder) ReorderSetting {
		s := ReorderSetting{SKU: "S", State: "low", Locations: rs}
		return s
	}
	cases := []struct {
		name      string
		own       ReorderSetting
		locs      []string
		defs      map[string]ReorderDefault
		ok        bool
		point     int64
		qty       *int64
		fromWhere map[string]string // location -> Default ("" own)
	}{
		{"no own, no defaults", own(), []string{"A", "B"}, nil, false, 0, nil, map[string]string{}},
		{"location default", own(), []string{"A"}, defs, true, 5, ptr(20), map[string]string{"A": "A"}},
		{"star default at the other locations", own(), []string{"A", "B", "C"}, defs, true, 9, ptr(20), map[string]string{"A": "A", "B": "*", "C": "*"}},
		{"no star: a location without a default has none", own(), []string{"A", "B"}, onlyA, true, 5, ptr(20), map[string]string{"A": "A"}},
		{"no figures at the default's location: none", own(), []string{"B"}, onlyA, false, 0, nil, map[string]string{}},
		{"own point overrides the default there", own(Reorder{SKU: "S", Location: "A", Point: 1}), []string{"A"}, defs, true, 1, nil, map[string]string{"A": ""}},
		{"own at A, star at B", own(Reorder{SKU: "S", Location: "A", Point: 1, Qty: ptr(3)}), []string{"A", "B"}, defs, true, 3, ptr(3), map[string]string{"A": "", "B": "*"}},
		{"own point where it has no figures still counts", own(Reorder{SKU: "S", Location: "Z", Point: 4}), []string{"A"}, defs, true, 9, ptr(20), map[string]string{"A": "A", "Z": ""}},
		{"own only, no defaults", own(Reorder{SKU: "S", Location: "A", Point: 4}), []string{"A", "B"}, nil, true, 4, nil, map[string]string{"A": ""}},
		{"zero default is a point", own(), []string{"B"}, map[string]ReorderDefault{"*": {Location: "*", Point: 0}}, true, 0, nil, map[string]string{"B": "*"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := EffectiveReorder(c.own, c.locs, c.defs)
			if ok != c.ok || got.Point != c.point || !reflect.DeepEqual(got.Qty, c.qty) {
				t.Fatalf("got %+v ok %v (qty %v), want point %d qty %v ok %v", got, ok, got.Qty, c.point, c.qty, c.ok)
			}
			from := map[string]string{}
			for _, r := range got.Locations {
				from[r.Location] = r.Default
			}
			if !reflect.DeepEqual(from, c.fromWhere) {
				t.Errorf("locations %v, want %v", from, c.fromWhere)
			}
			if got.State != "low" {
				t.Errorf("state %q lost", got.State)
			}
		})
	}
}

func TestReorderDefaultsArg(t *testing.T) {
	if got := (ReorderDefaults{}).arg(); got != "" {
		t.Errorf("never set: %q", got)
	}
	d := ReorderDefaults{Version: 7, Configured: true, Defaults: map[string]ReorderDefault{
		"w;2": {Location: "w;2", Point: 3},
		"*":   {Location: "*", Point: 10, Qty: ptr(40)},
	}}
	if got, want := d.arg(), "7;1:*10,40;3:w;23,;"; got != want {
		t.Errorf("arg %q, want %q", got, want)
	}
	if got := (ReorderDefaults{Version: 2, Configured: true}).arg(); got != "2;" {
		t.Errorf("all removed: %q", got)
	}
	// Without cfg no script evaluates signals: the stock scripts skip them.
	if got := (ReorderDefaults{Version: 2}).arg(); got != "" {
		t.Errorf("no reorder point ever set: %q", got)
	}
}

// order places (or moves) one order line of sku at A.
func order(t *testing.T, l *Ledger, sku, id string, q int64) {
	t.Helper()
	if _, err := l.ApplyLines(context.Background(), []LineState{{Channel: "c", OrderID: id, LineID: "1", SKU: sku, Location: "A", Ordered: q, Version: 1}}); err != nil {
		t.Fatal(err)
	}
}

func receiveKey(t *testing.T, l *Ledger, sku, loc, key string, q int64) {
	t.Helper()
	if _, err := l.Receive(context.Background(), Delta{Key: key, SKU: sku, Location: loc, Quantity: q}); err != nil {
		t.Fatal(err)
	}
}

func setDefault(t *testing.T, l *Ledger, loc string, p int64) {
	t.Helper()
	if _, err := l.SetReorderDefault(context.Background(), ReorderDefault{Location: loc, Point: p}, "test"); err != nil {
		t.Fatal(err)
	}
}

// TestReorderDefaultSignals: a default makes a SKU without a point of its
// own emit stock.low once when an order takes it across; an own point
// overrides the default at its location; "*" covers the other locations;
// the low listing shows defaulted SKUs with their effective point.
func TestReorderDefaultSignals(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		receiveKey(t, l, "D1", "A", "r", 10)
		receiveKey(t, l, "OWN", "A", "r", 10)
		receiveKey(t, l, "STAR", "B", "r", 10)
		if _, err := l.SetReorder(ctx, Reorder{SKU: "OWN", Location: "A", Point: 2}, "test"); err != nil {
			t.Fatal(err)
		}
		setDefault(t, l, "A", 5)
		setDefault(t, l, AllLocations, 7)

		order(t, l, "D1", "o1", 4) // available 6: above 5
		if got := signalTypes(t, l, "D1"); len(got) != 0 {
			t.Fatalf("above the default: %v", got)
		}
		order(t, l, "D1", "o2", 1) // 5: at the point
		order(t, l, "D1", "o3", 1) // 4: hovering, no second event
		evs, err := l.PendingSignals(ctx, "D1", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Type != SignalLow || evs[0].ReorderPoint != 5 || evs[0].Available != 5 {
			t.Fatalf("events %+v, want one stock.low at point 5, available 5", evs)
		}

		order(t, l, "OWN", "o1", 5) // 5: at the default, above its own 2
		if got := signalTypes(t, l, "OWN"); len(got) != 0 {
			t.Fatalf("own point 2 overridden by the default: %v", got)
		}
		order(t, l, "OWN", "o2", 3)
		if got := signalTypes(t, l, "OWN"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("own point: %v", got)
		}

		if _, err := l.Adjust(ctx, Delta{Key: "a", SKU: "STAR", Location: "B", Quantity: -3, Reason: "damage"}); err != nil {
			t.Fatal(err)
		}
		if got := signalTypes(t, l, "STAR"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("the * default at B: %v", got)
		}

		// A bulk count (count_bulk.lua) evaluates with the defaults too.
		receiveKey(t, l, "BULK", "A", "r", 10)
		if out, err := l.SetCounts(ctx, []Count{{SKU: "BULK", Location: "A", Quantity: 5, Version: 1}}); err != nil || out[0].Err != nil {
			t.Fatalf("bulk count: %v %+v", err, out)
		}
		if got := signalTypes(t, l, "BULK"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("bulk count across the default: %v", got)
		}
		// A SKU a bulk count creates (a day-one import) at or below a
		// default is announced, as a count of one would announce it.
		if out, err := l.SetCounts(ctx, []Count{{SKU: "FRESH", Location: "A", Quantity: 2, Version: 1}}); err != nil || out[0].Err != nil {
			t.Fatalf("bulk count: %v %+v", err, out)
		}
		if got := signalTypes(t, l, "FRESH"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("new SKU counted in below the default: %v", got)
		}

		low, err := l.BelowReorder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range low {
			got[r.SKU] = r.ReorderPoint
		}
		if want := map[string]int64{"D1": 5, "OWN": 2, "STAR": 7, "BULK": 5, "FRESH": 5}; !reflect.DeepEqual(got, want) {
			t.Fatalf("below reorder %+v, want points %v", low, want)
		}
		// The gauges' sets, as a starting sweeper records them, count the
		// defaulted SKUs too.
		if _, err := l.RecoverSignals(ctx); err != nil {
			t.Fatal(err)
		}
		if below, _, err := l.SignalCounts(ctx); err != nil || below != 5 {
			t.Fatalf("below reorder point (gauge): %d, %v; want 5", below, err)
		}
	})
}

// TestReorderDefaultChangeReevaluates: changing a default moves no state
// by itself; the re-evaluation, once due, emits each crossing the change
// caused once, and neither a second pass nor a replica still holding the
// old defaults emits again or undoes it.
func TestReorderDefaultChangeReevaluates(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		// A replica whose copy is never refreshed in this test.
		stale := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: time.Hour})
		receiveKey(t, l, "R1", "A", "r", 8)
		receiveKey(t, l, "R2", "A", "r", 8)
		if _, err := l.SetReorder(ctx, Reorder{SKU: "R2", Location: "A", Point: 1}, "test"); err != nil {
			t.Fatal(err)
		}
		setDefault(t, l, "A", 5)
		if _, err := stale.RefreshReorderDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		setDefault(t, l, "A", 10) // R1 (8) is now below its point
		if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || ran {
			t.Fatalf("re-evaluation before it is due: ran %v, %v", ran, err)
		}
		if got := signalTypes(t, l, "R1"); len(got) != 0 {
			t.Fatalf("events before the re-evaluation: %v", got)
		}
		e.clock.Advance(l.ReorderDefaultsSettle())
		// Once one replica took the due pass, another does not run it too,
		// until the taker's lease has passed (it died during the pass).
		if _, ok, err := stale.claimReevaluation(ctx); err != nil || !ok {
			t.Fatalf("taking the due re-evaluation: %v %v", ok, err)
		}
		if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || ran {
			t.Fatalf("re-evaluation another replica took: ran %v, %v", ran, err)
		}
		e.clock.Advance(ReevaluationLease)
		ran, n, err := l.ReevaluateIfDue(ctx)
		if err != nil || !ran || n != 2 {
			t.Fatalf("due re-evaluation: ran %v, %d SKUs, %v", ran, n, err)
		}
		if got := signalTypes(t, l, "R1"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("after the re-evaluation: %v", got)
		}
		if got := signalTypes(t, l, "R2"); len(got) != 0 {
			t.Fatalf("R2 has its own point: %v", got)
		}
		if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || ran {
			t.Fatalf("a done re-evaluation ran again: %v %v", ran, err)
		}
		if _, err := l.ReevaluateSignals(ctx); err != nil {
			t.Fatal(err)
		}
		// The stale replica (point 5) sees R1 above its point: it must not
		// re-arm what the newer defaults moved.
		receiveKey(t, stale, "R1", "A", "r2", 1)
		receiveKey(t, l, "R1", "A", "r3", 1)
		if got := signalTypes(t, l, "R1"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("after a second pass and a stale replica's run: %v", got)
		}

		// Removing the default forgets the state it made (a rearm the
		// sweeper records as neither low nor out), and the listing drops it.
		if _, err := l.RemoveReorderDefault(ctx, "A", "test"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(l.ReorderDefaultsSettle())
		if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("re-evaluation after removing: %v %v", ran, err)
		}
		if got := signalTypes(t, l, "R1"); !reflect.DeepEqual(got, []string{SignalLow, SignalRearm}) {
			t.Fatalf("after removing the default: %v", got)
		}
		low, err := l.BelowReorder(ctx)
		if err != nil || len(low) != 0 {
			t.Fatalf("below reorder after removing: %+v %v", low, err)
		}
		d, err := l.ReorderDefaults(ctx)
		// 4: R2's point (the first reorder point set: cfg) and the three
		// changes of the default.
		if err != nil || d.Version != 4 || !d.Configured || len(d.Defaults) != 0 {
			t.Fatalf("defaults %+v %v", d, err)
		}
		h, err := l.ReorderDefaultHistory(ctx, 10)
		if err != nil || len(h) != 3 || h[0].New != "5," || h[1].Old != "5," || h[1].New != "10," || h[2].New != "" || h[2].Source != "test" {
			t.Fatalf("history %+v %v", h, err)
		}
	})
}

func TestReorderDefaultInput(t *testing.T) {
	l := New(nil, Options{})
	ctx := context.Background()
	for _, d := range []ReorderDefault{{Location: "", Point: 1}, {Location: "A", Point: -1}, {Location: "A", Point: 1, Qty: ptr(-2)}, {Location: "..", Point: 1}} {
		if _, err := l.SetReorderDefault(ctx, d, "t"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", d, err)
		}
	}
	cases := []struct {
		name, in string
		rows     int
		errs     []string
	}{
		{"good", "location,reorder_point,reorder_qty\nw1,5,20\n*,2,\n", 2, nil},
		{"two columns, BOM", "\ufefflocation,reorder_point\nw2,5\n", 1, nil},
		{"bad header", "sku,location,reorder_point\nA,w1,5\n", 0, []string{"line 1: header"}},
		{"every bad row named", "location,reorder_point,reorder_qty\nw1,-1,\nnowhere,2,\nw2,x,3\n*,1,y\n,1,\nw1,2,\nw2,1\n", 0,
			[]string{"line 2: reorder_point", "line 3: location: unknown location", "line 4: reorder_point", "line 5: reorder_qty", "line 6: location",
				"line 7: location: location \"w1\" given twice", "line 8: row"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs := ParseReorderDefaultsCSV(strings.NewReader(c.in), []string{"w1", "w2"})
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

// TestFirstReorderPointOnAStaleReplica: before any reorder point is set,
// the stock scripts skip the signals. A replica whose copy of the
// defaults predates the first point goes on skipping them until it
// refreshes, so a sale it applies that takes the SKU below its new point
// is not announced then; the first point records a re-evaluation, like a
// change of the defaults, and that pass announces it, once.
func TestFirstReorderPointOnAStaleReplica(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{NoIntents: true})
		stale := e.ledger(Options{NoIntents: true, ReorderDefaultsRefresh: time.Hour})
		receiveKey(t, l, "F1", "A", "r", 8)
		if _, err := stale.RefreshReorderDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.SetReorder(ctx, Reorder{SKU: "F1", Location: "A", Point: 5}, "test"); err != nil {
			t.Fatal(err)
		}
		d, err := l.ReorderDefaults(ctx)
		if err != nil || !d.Configured || d.Version != 1 || d.Due.IsZero() {
			t.Fatalf("defaults after the first point: %+v %v", d, err)
		}
		order(t, stale, "F1", "o1", 4) // 8 -> 4: below 5, on a replica skipping signals
		if got := signalTypes(t, l, "F1"); len(got) != 0 {
			t.Fatalf("events before the re-evaluation: %v", got)
		}
		// A second point changes nothing in the defaults.
		if _, err := l.SetReorder(ctx, Reorder{SKU: "F1", Location: "B", Point: 0}, "test"); err != nil {
			t.Fatal(err)
		}
		if d2, err := l.ReorderDefaults(ctx); err != nil || d2.Version != 1 {
			t.Fatalf("defaults after a second point: %+v %v", d2, err)
		}
		e.clock.Advance(l.ReorderDefaultsSettle())
		if ran, _, err := l.ReevaluateIfDue(ctx); err != nil || !ran {
			t.Fatalf("re-evaluation after the first point: %v %v", ran, err)
		}
		if got := signalTypes(t, l, "F1"); !reflect.DeepEqual(got, []string{SignalLow}) {
			t.Fatalf("after the re-evaluation: %v", got)
		}
		// A ledger with a fresh copy evaluates at once.
		order(t, l, "F1", "o2", 4) // 4 -> 0: out
		if got := signalTypes(t, l, "F1"); !reflect.DeepEqual(got, []string{SignalLow, SignalOut}) {
			t.Fatalf("after selling out: %v", got)
		}
	})
}
