package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDeltas(t *testing.T) {
	type step struct {
		name    string
		do      func(context.Context, *Ledger) (DeltaResult, error)
		want    DeltaResult
		wantErr error
		after   figs // nil: the SKU must not exist
	}
	recv := func(key string, q int64) func(context.Context, *Ledger) (DeltaResult, error) {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Receive(ctx, Delta{Key: key, SKU: "D", Location: "A", Quantity: q})
		}
	}
	adj := func(key string, q int64, reason string) func(context.Context, *Ledger) (DeltaResult, error) {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Adjust(ctx, Delta{Key: key, SKU: "D", Location: "A", Quantity: q, Reason: reason})
		}
	}
	ret := func(key string, q int64, restock bool) func(context.Context, *Ledger) (DeltaResult, error) {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Return(ctx, ReturnOp{Key: key, SKU: "D", Location: "A", Quantity: q, Restock: restock, Reason: "rma"})
		}
	}
	count := func(q, v int64, net bool) func(context.Context, *Ledger) (DeltaResult, error) {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.SetCount(ctx, Count{SKU: "D", Location: "A", Quantity: q, Version: v, Net: net})
		}
	}
	reserve := func(o, v int64) func(context.Context, *Ledger) (DeltaResult, error) {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			r, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "o", LineID: "1", SKU: "D", Location: "A", Ordered: o, Version: v}})
			if err != nil {
				return DeltaResult{}, err
			}
			st, err := l.Stock(ctx, "D")
			lv := st.Locations["A"]
			return DeltaResult{Applied: r[0].Applied, OnHand: lv.OnHand, Reserved: lv.Reserved, Available: lv.Available}, err
		}
	}
	steps := []step{
		{"return on an unknown SKU", ret("r0", 1, true), DeltaResult{}, ErrUnknownSKU, nil},
		{"zero receive rejected", recv("k0", 0), DeltaResult{}, ErrInvalid, nil},
		{"negative receive rejected", recv("k0", -3), DeltaResult{}, ErrInvalid, nil},
		{"receive creates the SKU", recv("k1", 10), DeltaResult{true, 10, 0, 10}, nil, figs{"A": {10, 0}}},
		{"repeated key returns the first result", recv("k1", 10), DeltaResult{false, 10, 0, 10}, nil, figs{"A": {10, 0}}},
		{"repeated key with another quantity is refused", recv("k1", 99), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"adjust needs a reason", adj("a1", -2, ""), DeltaResult{}, ErrInvalid, figs{"A": {10, 0}}},
		{"zero adjust rejected", adj("a1", 0, "x"), DeltaResult{}, ErrInvalid, figs{"A": {10, 0}}},
		{"adjust down", adj("a1", -2, "damaged"), DeltaResult{true, 8, 0, 8}, nil, figs{"A": {8, 0}}},
		{"adjust repeat", adj("a1", -2, "damaged"), DeltaResult{false, 8, 0, 8}, nil, figs{"A": {8, 0}}},
		{"adjust below zero refused", adj("a2", -9, "lost"), DeltaResult{false, 8, 0, 8}, ErrInsufficient, figs{"A": {8, 0}}},
		{"a refused key is not remembered", adj("a2", -8, "lost"), DeltaResult{true, 0, 0, 0}, nil, figs{"A": {0, 0}}},
		{"adjust up", adj("a3", 5, "found"), DeltaResult{true, 5, 0, 5}, nil, figs{"A": {5, 0}}},
		{"reserve 2", reserve(2, 1), DeltaResult{true, 5, 2, 3}, nil, figs{"A": {5, 2}}},
		{"restocked return", ret("r1", 2, true), DeltaResult{true, 7, 2, 5}, nil, figs{"A": {7, 2}}},
		{"return once per key", ret("r1", 2, true), DeltaResult{false, 7, 2, 5}, nil, figs{"A": {7, 2}}},
		{"return key reused for a write-off is refused", ret("r1", 2, false), DeltaResult{}, ErrKeyConflict, figs{"A": {7, 2}}},
		{"written-off return keeps on_hand", ret("r2", 3, false), DeltaResult{true, 7, 2, 5}, nil, figs{"A": {7, 2}}},
		{"physical count", count(40, 100, false), DeltaResult{true, 40, 2, 38}, nil, figs{"A": {40, 2}}},
		{"same count version is a no-op", count(41, 100, false), DeltaResult{false, 40, 2, 38}, nil, figs{"A": {40, 2}}},
		{"older count never overwrites", count(12, 99, false), DeltaResult{false, 40, 2, 38}, nil, figs{"A": {40, 2}}},
		{"net count adds the reservations back", count(30, 101, true), DeltaResult{true, 32, 2, 30}, nil, figs{"A": {32, 2}}},
		{"zero count", count(0, 102, false), DeltaResult{true, 0, 2, -2}, nil, figs{"A": {0, 2}}},
		{"negative count rejected", count(-1, 103, false), DeltaResult{}, ErrInvalid, figs{"A": {0, 2}}},
		{"negative count version rejected", count(1, -1, false), DeltaResult{}, ErrInvalid, figs{"A": {0, 2}}},
		{"deltas still apply after a count", recv("k2", 3), DeltaResult{true, 3, 2, 1}, nil, figs{"A": {3, 2}}},
		{"a count keeps its version through other movements", count(5, 102, false), DeltaResult{false, 3, 2, 1}, nil, figs{"A": {3, 2}}},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		for _, s := range steps {
			got, err := s.do(ctx, l)
			if s.wantErr != nil {
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
				}
			} else if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got != s.want {
				t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
			}
			if s.after == nil {
				if _, err := l.Stock(ctx, "D"); !errors.Is(err, ErrUnknownSKU) {
					t.Fatalf("%s: SKU exists: %v", s.name, err)
				}
				continue
			}
			if f := stockOf(t, l, "D"); !sameFigs(f, s.after) {
				t.Fatalf("%s: figures %v, want %v", s.name, f, s.after)
			}
		}
		mustVerify(t, l, []string{"D"})
		h, err := l.History(ctx, "D", 100)
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, e := range h {
			ops = append(ops, e.Op)
		}
		want := []string{"receive", "adjust", "adjust", "adjust", "line", "restock", "writeoff", "count", "count_net", "count", "receive"}
		if len(ops) != len(want) {
			t.Fatalf("journal ops %v, want %v", ops, want)
		}
		for i := range want {
			if ops[i] != want[i] {
				t.Fatalf("journal ops %v, want %v", ops, want)
			}
		}
		if h[1].Cause != "damaged" || h[1].Ref != "a1" || h[1].Before.OnHand != 10 || h[1].After.OnHand != 8 || h[1].Location != "A" {
			t.Errorf("adjust entry %+v", h[1])
		}
		if h[4].Ref != "c/o/1" || h[4].Cause != "v=1" || h[4].After.Reserved != 2 {
			t.Errorf("line entry %+v", h[4])
		}
		if !h[0].Time.Equal(e.clock.Now()) {
			t.Errorf("entry time %v, want %v", h[0].Time, e.clock.Now())
		}
		last, err := l.History(ctx, "D", 2)
		if err != nil || len(last) != 2 || last[1].ID != h[len(h)-1].ID || last[0].ID != h[len(h)-2].ID {
			t.Fatalf("History(2) = %+v, %v", last, err)
		}
		if _, err := l.History(ctx, "D", 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("History(0): %v", err)
		}
	})
}

func TestDeltaInvalid(t *testing.T) {
	e := realRedis(t)
	l := e.ledger(Options{})
	ctx := context.Background()
	cases := []struct {
		name string
		do   func() error
	}{
		{"receive without key", func() error { _, err := l.Receive(ctx, Delta{SKU: "s", Location: "A", Quantity: 1}); return err }},
		{"receive without sku", func() error { _, err := l.Receive(ctx, Delta{Key: "k", Location: "A", Quantity: 1}); return err }},
		{"receive without location", func() error { _, err := l.Receive(ctx, Delta{Key: "k", SKU: "s", Quantity: 1}); return err }},
		{"receive too many", func() error {
			_, err := l.Receive(ctx, Delta{Key: "k", SKU: "s", Location: "A", Quantity: MaxQuantity + 1})
			return err
		}},
		{"adjust too many", func() error {
			_, err := l.Adjust(ctx, Delta{Key: "k", SKU: "s", Location: "A", Quantity: -MaxQuantity - 1, Reason: "x"})
			return err
		}},
		{"return zero", func() error { _, err := l.Return(ctx, ReturnOp{Key: "k", SKU: "s", Location: "A"}); return err }},
		{"return negative", func() error {
			_, err := l.Return(ctx, ReturnOp{Key: "k", SKU: "s", Location: "A", Quantity: -1})
			return err
		}},
		{"count without location", func() error { _, err := l.SetCount(ctx, Count{SKU: "s", Quantity: 1}); return err }},
		{"count without sku", func() error { _, err := l.SetCount(ctx, Count{Location: "A", Quantity: 1}); return err }},
		{"receive sku .", func() error {
			_, err := l.Receive(ctx, Delta{Key: "k", SKU: ".", Location: "A", Quantity: 1})
			return err
		}},
		{"receive sku ..", func() error {
			_, err := l.Receive(ctx, Delta{Key: "k", SKU: "..", Location: "A", Quantity: 1})
			return err
		}},
		{"receive at location .", func() error {
			_, err := l.Receive(ctx, Delta{Key: "k", SKU: "s", Location: ".", Quantity: 1})
			return err
		}},
		{"adjust sku ..", func() error {
			_, err := l.Adjust(ctx, Delta{Key: "k", SKU: "..", Location: "A", Quantity: 1, Reason: "x"})
			return err
		}},
		{"adjust at location ..", func() error {
			_, err := l.Adjust(ctx, Delta{Key: "k", SKU: "s", Location: "..", Quantity: 1, Reason: "x"})
			return err
		}},
		{"return sku .", func() error {
			_, err := l.Return(ctx, ReturnOp{Key: "k", SKU: ".", Location: "A", Quantity: 1, Restock: true})
			return err
		}},
		{"return at location ..", func() error {
			_, err := l.Return(ctx, ReturnOp{Key: "k", SKU: "s", Location: "..", Quantity: 1, Restock: true})
			return err
		}},
		{"count sku ..", func() error { _, err := l.SetCount(ctx, Count{SKU: "..", Location: "A", Quantity: 1}); return err }},
		{"count sku .", func() error { _, err := l.SetCount(ctx, Count{SKU: ".", Location: "A", Quantity: 1}); return err }},
		{"count at location .", func() error { _, err := l.SetCount(ctx, Count{SKU: "s", Location: ".", Quantity: 1}); return err }},
	}
	for _, c := range cases {
		if err := c.do(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	// The refusal of "." and ".." says why; a dot elsewhere is a name.
	if _, err := l.Receive(ctx, Delta{Key: "k", SKU: "..", Location: "A", Quantity: 1}); err == nil || !strings.Contains(err.Error(), `sku ".." is not allowed: URL paths resolve`) {
		t.Errorf("sku ..: %v", err)
	}
	for _, ok := range []string{"...", ".a", "a.", "./"} {
		if err := (Delta{Key: "k", SKU: ok, Location: ok, Quantity: 1}).check(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if keys, _ := e.rdb.Keys(ctx, globEscape(e.prefix)+"*").Result(); len(keys) != 0 {
		t.Fatalf("rejected operations wrote %v", keys)
	}
}

func TestStockReads(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		// SKUs with braces, a leading '~' and glob characters must keep
		// their keys in one slot and read back as themselves.
		skus := []string{"plain", "a{b}c", "}x{", "~tilde", "glob*?[x]", "ünï cødé"}
		for i, s := range skus {
			receive(t, l, s, "A", int64(i+1))
			receive(t, l, s, "B", 10)
		}
		for i, s := range skus {
			st, err := l.Stock(ctx, s)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if st.SKU != s || st.Locations["A"] != (Level{int64(i + 1), 0, int64(i + 1)}) || len(st.Locations) != 2 {
				t.Errorf("%q: %+v", s, st)
			}
			if av := st.Available(); av["B"] != 10 {
				t.Errorf("%q: Available %v", s, av)
			}
		}
		if _, err := l.Stock(ctx, "missing"); !errors.Is(err, ErrUnknownSKU) {
			t.Fatalf("missing: %v", err)
		}
		many, err := l.StockMany(ctx, append([]string{"missing"}, skus...))
		if err != nil {
			t.Fatal(err)
		}
		if len(many) != len(skus) || many["a{b}c"].Locations["A"].OnHand != 2 {
			t.Fatalf("StockMany: %+v", many)
		}
		seen := map[string]int{}
		err = l.SKUs(ctx, func(page []string) error {
			for _, s := range page {
				seen[s]++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(skus) {
			t.Fatalf("SKUs found %v, want %v", seen, skus)
		}
		for _, s := range skus {
			if seen[s] != 1 {
				t.Errorf("SKUs: %q seen %d times", s, seen[s])
			}
		}
		stop := errors.New("stop")
		if err := l.SKUs(ctx, func([]string) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("SKUs must return fn's error: %v", err)
		}
		mustVerify(t, l, nil)
		if _, err := l.Verify(ctx, []string{"missing"}); !errors.Is(err, ErrUnknownSKU) {
			t.Fatalf("Verify(missing): %v", err)
		}
	})
}

// TestFiguresStayWithinTheirBound: a movement that would take on_hand past
// ±MaxQuantity is refused with ErrOutOfRange and changes nothing, so the
// figures never reach where Lua's doubles stop adding exactly (past 2^53,
// +1 used to be "applied" with on_hand unchanged).
func TestFiguresStayWithinTheirBound(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		if _, err := l.Receive(ctx, Delta{Key: "r1", SKU: "BIG", Location: "A", Quantity: MaxQuantity, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name string
			op   func() (DeltaResult, error)
		}{
			{"receive one more", func() (DeltaResult, error) {
				return l.Receive(ctx, Delta{Key: "r2", SKU: "BIG", Location: "A", Quantity: 1, Reason: "more"})
			}},
			{"adjust one more", func() (DeltaResult, error) {
				return l.Adjust(ctx, Delta{Key: "a1", SKU: "BIG", Location: "A", Quantity: 1, Reason: "found"})
			}},
			{"restock one more", func() (DeltaResult, error) {
				return l.Return(ctx, ReturnOp{Key: "ret1", SKU: "BIG", Location: "A", Quantity: 1, Restock: true})
			}},
		}
		for _, s := range steps {
			res, err := s.op()
			if !errors.Is(err, ErrOutOfRange) || res.Applied {
				t.Fatalf("%s: %+v, %v; want ErrOutOfRange, nothing applied", s.name, res, err)
			}
		}
		if _, err := l.SetCount(ctx, Count{SKU: "BIG", Location: "B", Quantity: MaxQuantity, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.SetCount(ctx, Count{SKU: "BIG", Location: "A", Quantity: MaxQuantity, Version: 2}); err != nil {
			t.Fatalf("a count at the bound: %v", err)
		}
		st, err := l.Stock(ctx, "BIG")
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Locations["A"].OnHand; got != MaxQuantity {
			t.Fatalf("on_hand %d, want %d", got, MaxQuantity)
		}
		// The same key again after a refusal is still refused, not "repeat".
		if _, err := l.Adjust(ctx, Delta{Key: "a1", SKU: "BIG", Location: "A", Quantity: 1, Reason: "found"}); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("refused key again: %v", err)
		}
		mustVerify(t, l, []string{"BIG"})
	})
}
