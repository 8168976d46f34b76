package shadow

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

type reader struct {
	qty   map[string]int64
	err   error
	calls int
}

func (r *reader) ReadQuantities(_ context.Context, skus []string) ([]connectors.LiveQuantity, error) {
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	var out []connectors.LiveQuantity
	for _, s := range skus {
		if q, ok := r.qty[s]; ok {
			out = append(out, connectors.LiveQuantity{SKU: s, Quantity: q})
		}
	}
	return out, nil
}

// TestRecordKeepsTheNewestPerListingWithinTheBound: a listing recorded
// again keeps its newest value; past the bound the oldest listings go.
func TestRecordKeepsTheNewestPerListingWithinTheBound(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	r := New(rdb, prefix, 3)
	t0 := time.Now().Truncate(time.Millisecond)
	steps := [][]Entry{
		{{SKU: "A", Quantity: 1, At: t0}, {SKU: "B", Quantity: 2, At: t0.Add(time.Second)}},
		{{SKU: "A", Quantity: 7, At: t0.Add(2 * time.Second)}, {SKU: "C", Quantity: 3, At: t0.Add(3 * time.Second)}},
		{{SKU: "D", Quantity: 4, At: t0.Add(4 * time.Second)}},
	}
	for _, s := range steps {
		if err := r.Record(ctx, "shop", s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Entries(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"A": 7, "C": 3, "D": 4} // B was the oldest
	if len(got) != len(want) {
		t.Fatalf("entries %+v, want %v", got, want)
	}
	for _, e := range got {
		if want[e.SKU] != e.Quantity {
			t.Errorf("%s = %d, want %d", e.SKU, e.Quantity, want[e.SKU])
		}
	}
	if other, _ := r.Entries(ctx, "ebay"); len(other) != 0 {
		t.Errorf("another channel's record has %v", other)
	}
}

func TestReport(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	r := New(rdb, prefix, 0)
	now := time.Now()
	var entries []Entry
	for i, sku := range []string{"A", "B", "C"} {
		entries = append(entries, Entry{SKU: sku, Quantity: int64(i + 5), At: now})
	}
	if err := r.Record(ctx, "shop", entries); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		reader    *reader
		differing int
		readErr   string
	}{
		{"A equal, B differs, C unknown to the channel", &reader{qty: map[string]int64{"A": 5, "B": 1}}, 2, ""},
		{"read fails", &reader{err: errors.New("boom")}, 0, "boom"},
		{"no read role", nil, 0, "no read role"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rd connectors.QuantityReader
			if c.reader != nil {
				rd = c.reader
			}
			rep, err := r.Report(ctx, "shop", rd)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Differing != c.differing || !strings.Contains(rep.ReadError, c.readErr) || len(rep.Lines) != 3 {
				t.Fatalf("report %+v", rep)
			}
			if c.readErr == "" && (rep.Lines[0].Differs || !rep.Lines[1].Differs || *rep.Lines[1].Channel != 1 || rep.Lines[2].Channel != nil) {
				t.Fatalf("lines %+v", rep.Lines)
			}
			if !strings.Contains(rep.Text(), "would push") {
				t.Errorf("text %q", rep.Text())
			}
		})
	}
}
