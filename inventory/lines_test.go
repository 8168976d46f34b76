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

// figs is a compact stock snapshot for expectations: location -> {on_hand, reserved}.
type figs map[string][2]int64

func stockOf(t *testing.T, l *Ledger, sku string) figs {
	t.Helper()
	st, err := l.Stock(context.Background(), sku)
	if err != nil {
		t.Fatalf("Stock(%s): %v", sku, err)
	}
	out := figs{}
	for loc, lv := range st.Locations {
		if lv.Available != lv.OnHand-lv.Reserved {
			t.Fatalf("available %d != on_hand %d - reserved %d", lv.Available, lv.OnHand, lv.Reserved)
		}
		out[loc] = [2]int64{lv.OnHand, lv.Reserved}
	}
	return out
}

func (f figs) String() string { return fmt.Sprint(map[string][2]int64(f)) }

func sameFigs(a, b figs) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func receive(t *testing.T, l *Ledger, sku, loc string, q int64) {
	t.Helper()
	if _, err := l.Receive(context.Background(), Delta{Key: fmt.Sprintf("recv-%s-%s-%d", sku, loc, q), SKU: sku, Location: loc, Quantity: q}); err != nil {
		t.Fatalf("Receive: %v", err)
	}
}

func mustVerify(t *testing.T, l *Ledger, skus []string) {
	t.Helper()
	inc, err := l.Verify(context.Background(), skus)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, i := range inc {
		t.Errorf("inconsistency: %s", i)
	}
}

func line(order, id string, o, s, c, r, v int64) LineState {
	return LineState{Channel: "shop", OrderID: order, LineID: id, SKU: "SKU-1", Location: "A", Ordered: o, Shipped: s, Cancelled: c, Returned: r, Version: v}
}

// TestApplyLinesSequence walks one SKU through every kind of line change;
// each step states the result and the figures after it.
func TestApplyLinesSequence(t *testing.T) {
	type step struct {
		name  string
		state LineState
		want  LineResult
		after figs
	}
	restock := func(s LineState) LineState { s.Restock = true; return s }
	at := func(s LineState, loc string) LineState { s.Location = loc; return s }
	steps := []step{
		{"new line reserves", line("1", "1", 3, 0, 0, 0, 100), LineResult{Applied: true, Lowered: true, New: true, Rule: RuleChannel, Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"same version is a no-op", line("1", "1", 3, 0, 0, 0, 100), LineResult{Ignored: "duplicate", Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"same version with a lower figure is still a no-op", line("1", "1", 2, 0, 0, 0, 100), LineResult{Ignored: "duplicate", Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"older version is ignored", line("1", "1", 1, 0, 0, 0, 99), LineResult{Ignored: "stale", Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"partial cancel releases the difference", line("1", "1", 3, 0, 1, 0, 101), LineResult{Applied: true, Location: "A", Available: 8}, figs{"A": {10, 2}, "B": {5, 0}}},
		{"shipping one takes it off the shelf", line("1", "1", 3, 1, 1, 0, 102), LineResult{Applied: true, Location: "A", Available: 8}, figs{"A": {9, 1}, "B": {5, 0}}},
		{"quantity edit moves the difference", line("1", "1", 5, 1, 1, 0, 103), LineResult{Applied: true, Lowered: true, Location: "A", Available: 6}, figs{"A": {9, 3}, "B": {5, 0}}},
		{"newer version with equal figures changes nothing", line("1", "1", 5, 1, 1, 0, 104), LineResult{Location: "A", Available: 6}, figs{"A": {9, 3}, "B": {5, 0}}},
		{"restocked return comes back", restock(line("1", "1", 5, 1, 1, 1, 105)), LineResult{Applied: true, Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"repeated return is not restocked twice", restock(line("1", "1", 5, 1, 1, 1, 106)), LineResult{Location: "A", Available: 7}, figs{"A": {10, 3}, "B": {5, 0}}},
		{"ship all and cancel the rest closes the line", line("1", "1", 5, 4, 1, 1, 107), LineResult{Applied: true, Location: "A", Available: 7}, figs{"A": {7, 0}, "B": {5, 0}}},
		{"written-off return leaves on_hand", line("1", "1", 5, 4, 1, 2, 108), LineResult{Location: "A", Available: 7}, figs{"A": {7, 0}, "B": {5, 0}}},
		{"oversold line still applies", line("2", "1", 9, 0, 0, 0, 1), LineResult{Applied: true, Lowered: true, New: true, Rule: RuleChannel, Location: "A", Available: -2, Oversold: 2}, figs{"A": {7, 9}, "B": {5, 0}}},
		{"moving a line moves its reservation", at(line("2", "1", 9, 0, 0, 0, 2), "B"), LineResult{Applied: true, Lowered: true, Location: "B", Available: -4, Oversold: 4}, figs{"A": {7, 0}, "B": {5, 9}}},
		{"cancel the oversold line", at(line("2", "1", 9, 0, 9, 0, 3), "B"), LineResult{Applied: true, Location: "B", Available: 5}, figs{"A": {7, 0}, "B": {5, 0}}},
		{"a zero line records but moves nothing", line("3", "1", 0, 0, 0, 0, 1), LineResult{Location: "A", Available: 7}, figs{"A": {7, 0}, "B": {5, 0}}},
		{"a line at a location the SKU lacks creates it", at(line("4", "1", 2, 0, 0, 0, 1), "C"), LineResult{Applied: true, Lowered: true, New: true, Rule: RuleChannel, Location: "C", Available: -2, Oversold: 2}, figs{"A": {7, 0}, "B": {5, 0}, "C": {0, 2}}},
		{"nanosecond versions compare exactly", line("5", "1", 1, 0, 0, 0, 1_763_700_000_000_000_001), LineResult{Applied: true, Lowered: true, New: true, Rule: RuleChannel, Location: "A", Available: 6}, figs{"A": {7, 1}, "B": {5, 0}, "C": {0, 2}}},
		{"one nanosecond older is stale", line("5", "1", 1, 0, 1, 0, 1_763_700_000_000_000_000), LineResult{Ignored: "stale", Location: "A", Available: 6}, figs{"A": {7, 1}, "B": {5, 0}, "C": {0, 2}}},
		{"shorter version string is older", line("5", "1", 1, 0, 1, 0, 999_999_999), LineResult{Ignored: "stale", Location: "A", Available: 6}, figs{"A": {7, 1}, "B": {5, 0}, "C": {0, 2}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "SKU-1", "A", 10)
		receive(t, l, "SKU-1", "B", 5)
		for _, s := range steps {
			got, err := l.ApplyLines(ctx, []LineState{s.state})
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
		recs, err := l.Lines(ctx, "shop", "1")
		if err != nil || len(recs) != 1 {
			t.Fatalf("Lines: %v %v", recs, err)
		}
		want := LineRecord{Channel: "shop", OrderID: "1", LineID: "1", SKU: "SKU-1", Location: "A", Version: 108, Ordered: 5, Shipped: 4, Cancelled: 1, Restocked: 1, WrittenOff: 1}
		if !reflect.DeepEqual(recs[0], want) {
			t.Errorf("Lines = %+v, want %+v", recs[0], want)
		}
	})
}

func TestApplyLinesLocationChoice(t *testing.T) {
	cases := []struct {
		name       string
		candidates []string
		ordered    int64
		strict     bool
		want       LineResult
	}{
		{"first with enough", []string{"A", "B"}, 2, false, LineResult{Rule: RulePriority, Applied: true, Lowered: true, New: true, Location: "A", Available: 1}},
		{"skips one without enough", []string{"A", "B"}, 4, false, LineResult{Rule: RulePriority, Applied: true, Lowered: true, New: true, Location: "B", Available: 1}},
		{"none with enough takes the first", []string{"A", "B"}, 9, false, LineResult{Rule: RuleFallback, Applied: true, Lowered: true, New: true, Location: "A", Available: -6, Oversold: 6}},
		{"priority order is the caller's", []string{"B", "A"}, 2, false, LineResult{Rule: RulePriority, Applied: true, Lowered: true, New: true, Location: "B", Available: 3}},
		{"an unknown candidate has nothing", []string{"Z", "B"}, 2, false, LineResult{Rule: RulePriority, Applied: true, Lowered: true, New: true, Location: "B", Available: 3}},
		{"strict with none enough refuses", []string{"A", "B"}, 9, true, LineResult{Rule: RuleFallback, Ignored: "refused", Location: "A", Available: 3}},
		{"strict with one enough takes it", []string{"A", "B"}, 5, true, LineResult{Rule: RulePriority, Applied: true, Lowered: true, New: true, Location: "B", Available: 0}},
		{"zero ordered takes the first", []string{"B", "A"}, 0, false, LineResult{Rule: RulePriority, Location: "B", Available: 5}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		for i, c := range cases {
			l := e.ledger(Options{})
			sku := fmt.Sprintf("CHOICE-%d", i)
			receive(t, l, sku, "A", 3)
			receive(t, l, sku, "B", 5)
			s := LineState{Channel: "shop", OrderID: "o", LineID: "l", SKU: sku, Candidates: c.candidates, Ordered: c.ordered, Version: 1, Strict: c.strict}
			got, err := l.ApplyLines(ctx, []LineState{s})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !reflect.DeepEqual(got[0], c.want) {
				t.Errorf("%s: %+v, want %+v", c.name, got[0], c.want)
			}
			// A recorded line keeps its location even when availability changes.
			s.Version, s.Ordered, s.Strict = 2, 0, false
			s.Cancelled = 0
			again, err := l.ApplyLines(ctx, []LineState{s})
			if err != nil {
				t.Fatal(err)
			}
			if c.want.Ignored == "" && again[0].Location != c.want.Location {
				t.Errorf("%s: recorded line moved from %s to %s", c.name, c.want.Location, again[0].Location)
			}
			mustVerify(t, l, []string{sku})
		}
	})
}

func TestStrictReserve(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "S", "A", 4)
		strict := func(o, v int64) LineResult {
			t.Helper()
			r, err := l.ApplyLines(ctx, []LineState{{Channel: "own", OrderID: "1", LineID: "1", SKU: "S", Location: "A", Ordered: o, Version: v, Strict: true}})
			if err != nil {
				t.Fatal(err)
			}
			return r[0]
		}
		if r := strict(5, 1); r.Ignored != "refused" || r.Available != 4 {
			t.Fatalf("5 of 4: %+v", r)
		}
		if f := stockOf(t, l, "S"); !sameFigs(f, figs{"A": {4, 0}}) {
			t.Fatalf("refusal changed figures: %v", f)
		}
		if recs, _ := l.Lines(ctx, "own", "1"); len(recs) != 0 {
			t.Fatalf("refusal left a record: %+v", recs)
		}
		if r := strict(4, 1); !r.Applied || r.Available != 0 {
			t.Fatalf("4 of 4: %+v", r)
		}
		// Raising an existing line is checked against the increase only.
		receive(t, l, "S", "A", 1)
		if r := strict(5, 2); !r.Applied || r.Available != 0 {
			t.Fatalf("+1 with 1 available: %+v", r)
		}
		if r := strict(6, 3); r.Ignored != "refused" {
			t.Fatalf("+1 with 0 available: %+v", r)
		}
		if r := strict(2, 4); !r.Applied || r.Available != 3 {
			t.Fatalf("decrease is never refused: %+v", r)
		}
		mustVerify(t, l, []string{"S"})
	})
}

func TestApplyLinesUnknownSKU(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		s := LineState{Channel: "shop", OrderID: "1", LineID: "1", SKU: "NOPE", Location: "A", Ordered: 1, Version: 1}
		r, err := l.ApplyLines(ctx, []LineState{s})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r[0], LineResult{Ignored: "unknown_sku", Location: "A"}) {
			t.Fatalf("%+v", r[0])
		}
		if _, err := l.Stock(ctx, "NOPE"); !errors.Is(err, ErrUnknownSKU) {
			t.Fatalf("Stock after unknown line: %v", err)
		}
		if n, _ := e.rdb.Exists(ctx, l.keys("NOPE").lines, l.keys("NOPE").journal).Result(); n != 0 {
			t.Fatalf("unknown SKU left %d keys", n)
		}
		// Parked and re-applied once the SKU exists, the same state applies.
		receive(t, l, "NOPE", "A", 2)
		r, err = l.ApplyLines(ctx, []LineState{s})
		if err != nil || !r[0].Applied || r[0].Available != 1 {
			t.Fatalf("re-applied: %+v %v", r, err)
		}
	})
}

func TestApplyLinesBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "P", "A", 10)
		receive(t, l, "Q", "A", 10)
		batch := []LineState{
			{Channel: "shop", OrderID: "9", LineID: "1", SKU: "P", Location: "A", Ordered: 2, Version: 5},
			{Channel: "shop", OrderID: "9", LineID: "2", SKU: "Q", Location: "A", Ordered: 3, Version: 5},
			{Channel: "shop", OrderID: "9", LineID: "3", SKU: "UNKNOWN", Location: "A", Ordered: 3, Version: 5},
			{Channel: "shop", OrderID: "9", LineID: "1", SKU: "P", Location: "A", Ordered: 2, Version: 5},
		}
		r, err := l.ApplyLines(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		want := []LineResult{
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: 8},
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: 7},
			{Ignored: "unknown_sku", Location: "A"},
			{Ignored: "duplicate", Location: "A", Available: 8},
		}
		for i := range want {
			if !reflect.DeepEqual(r[i], want[i]) {
				t.Errorf("line %d: %+v, want %+v", i, r[i], want[i])
			}
		}
		recs, err := l.Lines(ctx, "shop", "9")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0].SKU != "P" || recs[1].SKU != "Q" || recs[1].Reserved != 3 {
			t.Fatalf("Lines: %+v", recs)
		}
		if recs, err := l.Lines(ctx, "shop", "never"); err != nil || recs != nil {
			t.Fatalf("unknown order: %v %v", recs, err)
		}
	})
}

func TestApplyLinesInvalid(t *testing.T) {
	ok := LineState{Channel: "c", OrderID: "o", LineID: "l", SKU: "s", Location: "A", Ordered: 3, Shipped: 1, Cancelled: 1, Returned: 1, Version: 1}
	cases := []struct {
		name string
		mod  func(*LineState)
	}{
		{"no channel", func(s *LineState) { s.Channel = "" }},
		{"no order", func(s *LineState) { s.OrderID = "" }},
		{"no line", func(s *LineState) { s.LineID = "" }},
		{"no sku", func(s *LineState) { s.SKU = "" }},
		{"separator in an id", func(s *LineState) { s.OrderID = "a\x1fb" }},
		{"no location nor candidates", func(s *LineState) { s.Location = "" }},
		{"empty candidate", func(s *LineState) { s.Location = ""; s.Candidates = []string{"A", ""} }},
		{"sku .", func(s *LineState) { s.SKU = "." }},
		{"sku ..", func(s *LineState) { s.SKU = ".." }},
		{"location .", func(s *LineState) { s.Location = "." }},
		{"location ..", func(s *LineState) { s.Location = ".." }},
		{"candidate ..", func(s *LineState) { s.Location = ""; s.Candidates = []string{"A", ".."} }},
		{"negative ordered", func(s *LineState) { s.Ordered = -1 }},
		{"negative shipped", func(s *LineState) { s.Shipped = -1 }},
		{"negative cancelled", func(s *LineState) { s.Cancelled = -1 }},
		{"negative returned", func(s *LineState) { s.Returned = -1 }},
		{"negative version", func(s *LineState) { s.Version = -1 }},
		{"huge quantity", func(s *LineState) { s.Ordered = MaxQuantity + 1 }},
		{"shipped and cancelled exceed ordered", func(s *LineState) { s.Shipped = 3 }},
		{"returned exceed shipped", func(s *LineState) { s.Returned = 2 }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid state rejected: %v", err)
	}
	e := realRedis(t)
	l := e.ledger(Options{})
	for _, c := range cases {
		s := ok
		c.mod(&s)
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v", c.name, err)
		}
		r, err := l.ApplyLines(context.Background(), []LineState{ok, s})
		if !errors.Is(err, ErrInvalid) || r != nil {
			t.Errorf("%s: ApplyLines = %v, %v", c.name, r, err)
		}
	}
	// Nothing at all was written, not even the valid line's intent or index.
	if keys, _ := e.rdb.Keys(context.Background(), globEscape(e.prefix)+"*").Result(); len(keys) != 0 {
		t.Fatalf("rejected batches wrote %v", keys)
	}
}

func TestClosedLinesArePruned(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{OperationTTL: time.Hour, LineTTL: time.Hour})
		receive(t, l, "SKU-1", "A", 10)
		apply := func(s LineState) LineResult { t.Helper(); return applyOne(t, l, s) }
		apply(line("1", "1", 2, 0, 0, 0, 1))
		apply(line("1", "1", 2, 0, 2, 0, 2)) // closed now
		e.clock.Advance(30 * time.Minute)
		if r := apply(line("1", "1", 2, 0, 0, 0, 1)); r.Ignored != "stale" {
			t.Fatalf("within the TTL a closed line remembers its version: %+v", r)
		}
		// Reopened and closed again, it is remembered from the new close.
		apply(line("1", "1", 3, 0, 2, 0, 3))
		apply(line("1", "1", 3, 0, 3, 0, 4))
		e.clock.Advance(61 * time.Minute)
		apply(line("2", "1", 1, 0, 1, 0, 1)) // closing another line prunes expired ones
		recs, err := l.Lines(ctx, "shop", "1")
		if err != nil || len(recs) != 0 {
			t.Fatalf("expired closed line still held: %+v %v", recs, err)
		}
		if recs, _ := l.Lines(ctx, "shop", "2"); len(recs) != 1 {
			t.Fatalf("the just-closed line must stay: %+v", recs)
		}
		if f := stockOf(t, l, "SKU-1"); !sameFigs(f, figs{"A": {10, 0}}) {
			t.Fatalf("figures %v", f)
		}
		mustVerify(t, l, nil)
	})
}

// TestClosedLinesOutliveOperationKeys: a refund or edit of an order closed
// weeks ago (past the operation keys' TTL, within the line TTL) is
// recognised as that line, never applied as a new one.
func TestClosedLinesOutliveOperationKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		l := e.ledger(Options{OperationTTL: time.Hour}) // LineTTL: the default
		receive(t, l, "SKU-1", "A", 10)
		apply := func(s LineState) LineResult { t.Helper(); return applyOne(t, l, s) }
		apply(line("1", "1", 2, 2, 0, 0, 1)) // ordered 2, shipped 2: closed
		e.clock.Advance(30 * 24 * time.Hour)
		apply(line("2", "1", 1, 0, 1, 0, 1)) // closing another line prunes what expired
		// A month later the order is edited (a tag): same units, newer version.
		if r := apply(line("1", "1", 2, 2, 0, 0, 5)); r.Applied {
			t.Fatalf("an edit of a month-old shipped order moved stock again: %+v", r)
		}
		if f := stockOf(t, l, "SKU-1"); !sameFigs(f, figs{"A": {8, 0}}) {
			t.Fatalf("figures %v, want on hand 8 (the two shipped units once)", f)
		}
		mustVerify(t, l, nil)
	})
}

// applyOne applies one line state and returns its result.
func applyOne(t *testing.T, l *Ledger, s LineState) LineResult {
	t.Helper()
	r, err := l.ApplyLines(context.Background(), []LineState{s})
	if err != nil {
		t.Fatal(err)
	}
	return r[0]
}

// TestApplyLinesBatchOrder: lines of one SKU share a script run, and each
// sees the lines before it, as separate calls in batch order would.
func TestApplyLinesBatchOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "G", "A", 3)
		receive(t, l, "G", "B", 5)
		receive(t, l, "H", "A", 1)
		ls := func(order string, o, v int64, strict bool, loc string, cands ...string) LineState {
			return LineState{Channel: "c", OrderID: order, LineID: "1", SKU: "G", Location: loc, Candidates: cands, Ordered: o, Version: v, Strict: strict}
		}
		batch := []LineState{
			ls("1", 3, 1, false, "", "A", "B"), // takes A's 3
			{Channel: "c", OrderID: "9", LineID: "1", SKU: "H", Location: "A", Ordered: 1, Version: 1},
			ls("2", 1, 1, false, "", "A", "B"), // A has none left: B
			ls("3", 5, 1, true, "B"),           // B has 4 left: refused
			ls("4", 2, 2, false, "A"),
			ls("4", 1, 1, false, "A"), // older than the line before it: stale
			ls("5", 1, 1, false, "A"),
			ls("5", 2, 2, false, "A"), // newer: moves one more
		}
		got, err := l.ApplyLines(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		want := []LineResult{
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RulePriority, Available: 0},
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: 0},
			{Applied: true, New: true, Lowered: true, Location: "B", Rule: RulePriority, Available: 4},
			{Ignored: "refused", Location: "B", Available: 4},
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: -2, Oversold: 2},
			{Ignored: "stale", Location: "A", Available: -2, Oversold: 2},
			{Applied: true, New: true, Lowered: true, Location: "A", Rule: RuleChannel, Available: -3, Oversold: 3},
			{Applied: true, Lowered: true, Location: "A", Available: -4, Oversold: 4},
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if f := stockOf(t, l, "G"); !sameFigs(f, figs{"A": {3, 7}, "B": {5, 1}}) {
			t.Fatalf("figures %v", f)
		}
		mustVerify(t, l, nil)
	})
}

// TestApplyLinesRunFailsMidway: a run of several lines of one SKU that meets
// a corrupt record keeps the lines before it applied, figures, records and
// journal in agreement, and the batch applies again once the data is fixed.
func TestApplyLinesRunFailsMidway(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "M", "A", 10)
		k := l.keys("M")
		if err := e.rdb.HSet(ctx, k.lines, lineField("c", "2", "1"), "garbage").Err(); err != nil {
			t.Fatal(err)
		}
		ls := func(order string, o int64) LineState {
			return LineState{Channel: "c", OrderID: order, LineID: "1", SKU: "M", Location: "A", Ordered: o, Version: 1}
		}
		batch := []LineState{ls("1", 2), ls("1b", 1), ls("2", 3), ls("3", 4)}
		if _, err := l.ApplyLines(ctx, batch); err == nil || !strings.Contains(err.Error(), "corrupt line record") {
			t.Fatalf("want the corrupt record reported, got %v", err)
		}
		if f := stockOf(t, l, "M"); !sameFigs(f, figs{"A": {10, 3}}) {
			t.Fatalf("figures %v, want the two lines before the corrupt one", f)
		}
		inc, err := l.Verify(ctx, []string{"M"})
		if err != nil || len(inc) != 1 || !strings.Contains(inc[0].What, "undecodable line record") {
			t.Fatalf("Verify: %v, %v; want only the corrupt record", inc, err)
		}
		if err := e.rdb.HDel(ctx, k.lines, lineField("c", "2", "1")).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := l.ApplyLines(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Ignored != IgnoredDuplicate || got[1].Ignored != IgnoredDuplicate || !got[2].Applied || !got[3].Applied || got[3].Available != 0 {
			t.Fatalf("again: %+v", got)
		}
		mustVerify(t, l, []string{"M"})
	})
}

// TestDecodeLineReply covers line.lua's reply format, including what
// the script never sends.
func TestDecodeLineReply(t *testing.T) {
	type res struct {
		r    LineResult
		rest string
	}
	for _, c := range []struct {
		reply, given string
		want         res
		bad          bool
	}{
		{"a10,3;", "A", res{LineResult{Applied: true, Location: "A", Available: 7}, ""}, false},
		{"c10,3;", "A", res{LineResult{Applied: true, New: true, Location: "A", Rule: RuleChannel, Available: 7}, ""}, false},
		{"n1,4;d0,0;", "A", res{LineResult{Location: "A", Available: -3, Oversold: 3}, "d0,0;"}, false},
		{"c10,3=1:B@0;", "", res{LineResult{Applied: true, New: true, Location: "B", Rule: RuleFallback, Available: 7}, ""}, false},
		{"c10,3=1:B@1;", "", res{LineResult{Applied: true, New: true, Location: "B", Rule: RulePriority, Available: 7}, ""}, false},
		{"s5,0=2:B,;", "A", res{LineResult{Ignored: IgnoredStale, Location: "B,", Available: 5}, ""}, false},
		{"r-1,0=3:;x;;", "", res{LineResult{Ignored: IgnoredRefused, Location: ";x;", Available: -1, Oversold: 1}, ""}, false},
		{"u;", "A", res{LineResult{Ignored: IgnoredUnknownSKU, Location: "A"}, ""}, false},
		{"u=1:C;", "", res{LineResult{Ignored: IgnoredUnknownSKU, Location: "C"}, ""}, false},
		{"", "A", res{}, true},
		{"u;", "", res{}, true},    // no location at all
		{"a1,2", "A", res{}, true}, // unterminated
		{"a1;", "A", res{}, true},
		{"a+1,2;", "A", res{}, true},
		{"x1,2;", "A", res{}, true},
		{"a1,2=5:B;", "A", res{}, true},
		{"a1,2=0:;", "A", res{}, true},
		{"a1,2=1:BB", "A", res{}, true},
		{"a1,2=1:B@;", "", res{}, true},
		{"a1,2=1:B@x;", "", res{}, true},
		{"a1,2=1:B@1", "", res{}, true},
	} {
		r, rest, err := decodeLineReply(c.reply, &LineState{Location: c.given})
		if c.bad {
			if err == nil {
				t.Errorf("%q: decoded %+v, want an error", c.reply, r)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(r, c.want.r) || rest != c.want.rest {
			t.Errorf("%q: %+v %q %v, want %+v %q", c.reply, r, rest, err, c.want.r, c.want.rest)
		}
	}
}

// TestOneRunEqualsSeparateRuns: lines of one SKU applied in one run (one
// batch) end exactly as the same lines applied one call each, including a
// line whose record a closing line before it in the run prunes, and a line
// repeated in the run.
func TestOneRunEqualsSeparateRuns(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{LineTTL: time.Hour})
		at := func(sku string, s LineState) LineState { s.SKU = sku; return s }
		states := []LineState{
			line("2", "1", 1, 0, 1, 0, 1), // closes: prunes order 1's expired line
			line("1", "1", 2, 0, 0, 0, 1), // order 1 again, version 1: new once pruned
			line("3", "1", 4, 1, 0, 1, 1), // shipped and returned (written off)
			line("3", "1", 4, 2, 0, 1, 2), // the same line, one more shipped
			{Channel: "shop", OrderID: "4", LineID: "1", Candidates: []string{"B", "A"}, Ordered: 6, Version: 1},
			line("3", "1", 4, 2, 0, 0, 1), // stale
		}
		for _, sku := range []string{"ONE", "SEP"} {
			receive(t, l, sku, "A", 10)
			receive(t, l, sku, "B", 5)
			applyOne(t, l, at(sku, line("1", "1", 2, 0, 2, 0, 5))) // closed, expires
		}
		e.clock.Advance(2 * time.Hour)
		one := make([]LineState, len(states))
		for i, s := range states {
			one[i] = at("ONE", s)
		}
		got, err := l.ApplyLines(ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range states {
			want := applyOne(t, l, at("SEP", s))
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("line %d: one run %+v, separate runs %+v", i, got[i], want)
			}
		}
		if a, b := stockOf(t, l, "ONE"), stockOf(t, l, "SEP"); !sameFigs(a, b) {
			t.Errorf("figures: one run %v, separate runs %v", a, b)
		}
		for _, order := range []string{"1", "2", "3", "4"} {
			a, _ := e.rdb.HGet(ctx, l.keys("ONE").lines, lineField("shop", order, "1")).Result()
			b, _ := e.rdb.HGet(ctx, l.keys("SEP").lines, lineField("shop", order, "1")).Result()
			if a != b {
				t.Errorf("order %s: record %q in one run, %q in separate runs", order, a, b)
			}
		}
		if got[1].Applied != true {
			t.Errorf("the pruned line did not apply as new: %+v", got[1])
		}
		mustVerify(t, l, nil)
	})
}

// Channels whose versions are whole seconds (Shopify's updated_at) can
// change an order twice within one: a state of the same version that is
// further along (no figure lower, one higher) applies; any other state of
// that version is a duplicate.
func TestApplyLinesSameVersionFurtherAlong(t *testing.T) {
	restock := func(s LineState) LineState { s.Restock = true; return s }
	steps := []struct {
		name    string
		state   LineState
		applied bool
		after   figs
	}{
		{"new line", line("1", "1", 3, 0, 0, 0, 100), true, figs{"A": {10, 3}}},
		{"cancel in the same second", line("1", "1", 3, 0, 1, 0, 100), true, figs{"A": {10, 2}}},
		{"the earlier state again", line("1", "1", 3, 0, 0, 0, 100), false, figs{"A": {10, 2}}},
		{"ship in the same second", line("1", "1", 3, 1, 1, 0, 100), true, figs{"A": {9, 1}}},
		{"a lower quantity is not further along", line("1", "1", 2, 1, 1, 0, 100), false, figs{"A": {9, 1}}},
		{"less shipped but more cancelled is not", line("1", "1", 3, 0, 2, 0, 100), false, figs{"A": {9, 1}}},
		{"the same state", line("1", "1", 3, 1, 1, 0, 100), false, figs{"A": {9, 1}}},
		{"a restocked return in the same second", restock(line("1", "1", 3, 1, 1, 1, 100)), true, figs{"A": {10, 1}}},
		{"a quantity edit adding a unit in the same second", restock(line("1", "1", 4, 1, 1, 1, 100)), true, figs{"A": {10, 2}}},
		{"and its cancel in the same second", restock(line("1", "1", 4, 1, 3, 1, 100)), true, figs{"A": {10, 0}}},
		{"the edit again after the cancel", restock(line("1", "1", 4, 1, 1, 1, 100)), false, figs{"A": {10, 0}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "SKU-1", "A", 10)
		for _, s := range steps {
			got, err := l.ApplyLines(ctx, []LineState{s.state})
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got[0].Applied != s.applied || (!s.applied && got[0].Ignored != IgnoredDuplicate) {
				t.Errorf("%s: %+v, want applied %v (else duplicate)", s.name, got[0], s.applied)
			}
			if f := stockOf(t, l, "SKU-1"); !sameFigs(f, s.after) {
				t.Fatalf("%s: figures %v, want %v", s.name, f, s.after)
			}
		}
		mustVerify(t, l, []string{"SKU-1"})
	})
}
