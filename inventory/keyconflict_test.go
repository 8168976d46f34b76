package inventory

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestKeyConflicts: an operation key is bound to the request that first used
// it. The same request again is a no-op returning the first result; another
// request under the key (another operation, location, quantity or reason)
// is refused with ErrKeyConflict and changes nothing, as payment APIs treat
// idempotency keys. Operation records written before fingerprints match
// every request.
func TestKeyConflicts(t *testing.T) {
	type op func(context.Context, *Ledger) (DeltaResult, error)
	recv := func(key, loc string, q int64, reason string) op {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Receive(ctx, Delta{Key: key, SKU: "K", Location: loc, Quantity: q, Reason: reason})
		}
	}
	adj := func(key, loc string, q int64, reason string) op {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Adjust(ctx, Delta{Key: key, SKU: "K", Location: loc, Quantity: q, Reason: reason})
		}
	}
	ret := func(key, loc string, q int64, restock bool, reason string) op {
		return func(ctx context.Context, l *Ledger) (DeltaResult, error) {
			return l.Return(ctx, ReturnOp{Key: key, SKU: "K", Location: loc, Quantity: q, Restock: restock, Reason: reason})
		}
	}
	steps := []struct {
		name    string
		do      op
		want    DeltaResult
		wantErr error
		after   figs
	}{
		{"receive", recv("r", "A", 10, "po-1"), DeltaResult{true, 10, 0, 10}, nil, figs{"A": {10, 0}}},
		{"receive retried", recv("r", "A", 10, "po-1"), DeltaResult{false, 10, 0, 10}, nil, figs{"A": {10, 0}}},
		{"receive, other quantity", recv("r", "A", 11, "po-1"), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"receive, other location", recv("r", "B", 10, "po-1"), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"receive, other reason", recv("r", "A", 10, "po-2"), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"receive key used by an adjust", adj("r", "A", 10, "po-1"), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"receive key used by a return", ret("r", "A", 10, true, "po-1"), DeltaResult{}, ErrKeyConflict, figs{"A": {10, 0}}},
		{"receive retried after the conflicts", recv("r", "A", 10, "po-1"), DeltaResult{false, 10, 0, 10}, nil, figs{"A": {10, 0}}},
		{"adjust", adj("a", "A", -2, "damaged"), DeltaResult{true, 8, 0, 8}, nil, figs{"A": {8, 0}}},
		{"adjust retried", adj("a", "A", -2, "damaged"), DeltaResult{false, 8, 0, 8}, nil, figs{"A": {8, 0}}},
		{"adjust, other sign", adj("a", "A", 2, "damaged"), DeltaResult{}, ErrKeyConflict, figs{"A": {8, 0}}},
		{"adjust, other delta", adj("a", "A", -3, "damaged"), DeltaResult{}, ErrKeyConflict, figs{"A": {8, 0}}},
		{"adjust, other location", adj("a", "B", -2, "damaged"), DeltaResult{}, ErrKeyConflict, figs{"A": {8, 0}}},
		{"adjust, other reason", adj("a", "A", -2, "lost"), DeltaResult{}, ErrKeyConflict, figs{"A": {8, 0}}},
		{"adjust key used by a receive", recv("a", "A", 2, "damaged"), DeltaResult{}, ErrKeyConflict, figs{"A": {8, 0}}},
		{"refused adjust", adj("x", "A", -9, "lost"), DeltaResult{false, 8, 0, 8}, ErrInsufficient, figs{"A": {8, 0}}},
		{"a refused key is free for another request", adj("x", "A", -1, "lost"), DeltaResult{true, 7, 0, 7}, nil, figs{"A": {7, 0}}},
		{"return", ret("t", "A", 2, true, "rma"), DeltaResult{true, 9, 0, 9}, nil, figs{"A": {9, 0}}},
		{"return retried", ret("t", "A", 2, true, "rma"), DeltaResult{false, 9, 0, 9}, nil, figs{"A": {9, 0}}},
		{"return, written off instead", ret("t", "A", 2, false, "rma"), DeltaResult{}, ErrKeyConflict, figs{"A": {9, 0}}},
		{"return, other quantity", ret("t", "A", 3, true, "rma"), DeltaResult{}, ErrKeyConflict, figs{"A": {9, 0}}},
		{"return, other location", ret("t", "B", 2, true, "rma"), DeltaResult{}, ErrKeyConflict, figs{"A": {9, 0}}},
		{"return, other reason", ret("t", "A", 2, true, "rma-2"), DeltaResult{}, ErrKeyConflict, figs{"A": {9, 0}}},
		{"write-off", ret("w", "A", 1, false, ""), DeltaResult{true, 9, 0, 9}, nil, figs{"A": {9, 0}}},
		{"write-off retried", ret("w", "A", 1, false, ""), DeltaResult{false, 9, 0, 9}, nil, figs{"A": {9, 0}}},
		{"write-off, other quantity", ret("w", "A", 2, false, ""), DeltaResult{}, ErrKeyConflict, figs{"A": {9, 0}}},
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
			if f := stockOf(t, l, "K"); !sameFigs(f, s.after) {
				t.Fatalf("%s: figures %v, want %v", s.name, f, s.after)
			}
		}
		// A conflict journals nothing: receive, adjust, adjust, restock, writeoff.
		h, err := l.History(ctx, "K", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 5 {
			t.Fatalf("journal holds %d entries, want 5: %+v", len(h), h)
		}
		mustVerify(t, l, []string{"K"})

		// The message names the SKU and location, never the key.
		_, err = l.Adjust(ctx, Delta{Key: "secret-ish-key", SKU: "K", Location: "A", Quantity: 1, Reason: "found"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Adjust(ctx, Delta{Key: "secret-ish-key", SKU: "K", Location: "A", Quantity: 2, Reason: "found"})
		if !errors.Is(err, ErrKeyConflict) || !strings.Contains(err.Error(), "adjust K at A") || strings.Contains(err.Error(), "secret-ish-key") {
			t.Fatalf("conflict error %q", err)
		}
	})
}

// TestKeyConflictStoredRecords: records of keys written before fingerprints
// ("onhand,reserved") count as matching any request; a record that is
// neither form is an error, not a silent repeat.
func TestKeyConflictStoredRecords(t *testing.T) {
	cases := []struct {
		name, record string
		want         DeltaResult
		wantErr      string
	}{
		{"record without a fingerprint", "10,0", DeltaResult{false, 10, 0, 10}, ""},
		{"negative figures without a fingerprint", "-3,2", DeltaResult{false, -3, 2, -5}, ""},
		{"record with another request's fingerprint", "10,0,0123456789abcdef", DeltaResult{}, ErrKeyConflict.Error()},
		{"corrupt fingerprint", "10,0,xyz", DeltaResult{}, "corrupt operation record"},
		{"trailing comma", "10,0,", DeltaResult{}, "corrupt operation record"},
		{"not figures", "ten,0", DeltaResult{}, "corrupt operation record"},
	}
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "L", "A", 1)
		for _, c := range cases {
			key := "legacy-" + c.name
			if err := e.rdb.Set(ctx, l.keys("L").op(key), c.record, 0).Err(); err != nil {
				t.Fatal(err)
			}
			got, err := l.Adjust(ctx, Delta{Key: key, SKU: "L", Location: "A", Quantity: 5, Reason: "any"})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("%s: %+v, %v; want an error containing %q", c.name, got, err, c.wantErr)
				}
				continue
			}
			if err != nil || got != c.want {
				t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
			}
		}
		if f := stockOf(t, l, "L"); !sameFigs(f, figs{"A": {1, 0}}) {
			t.Fatalf("figures %v: a stored record must never apply", f)
		}
	})
}

// TestRequestFingerprint: every field changes the fingerprint, and fields
// can not be shifted into one another.
func TestRequestFingerprint(t *testing.T) {
	type req struct {
		op, sku, loc string
		q            int64
		reason       string
	}
	base := req{"adjust", "S", "A", -2, "damaged"}
	fp := func(r req) string { return requestFingerprint(r.op, r.sku, r.loc, r.q, r.reason) }
	if got := fp(base); len(got) != 16 || strings.Trim(got, "0123456789abcdef") != "" || got != fp(base) {
		t.Fatalf("fingerprint %q: want 16 stable hex digits", got)
	}
	others := []struct {
		name string
		r    req
	}{
		{"op", req{"receive", "S", "A", -2, "damaged"}},
		{"sku", req{"adjust", "T", "A", -2, "damaged"}},
		{"location", req{"adjust", "S", "B", -2, "damaged"}},
		{"quantity", req{"adjust", "S", "A", -3, "damaged"}},
		{"sign", req{"adjust", "S", "A", 2, "damaged"}},
		{"reason", req{"adjust", "S", "A", -2, "damage"}},
		{"sku and location shifted", req{"adjust", "SA", "", -2, "damaged"}},
		{"location and reason shifted", req{"adjust", "S", "Adamaged", -2, ""}},
	}
	for _, o := range others {
		if fp(o.r) == fp(base) {
			t.Errorf("%s: same fingerprint as the base request", o.name)
		}
	}
}
