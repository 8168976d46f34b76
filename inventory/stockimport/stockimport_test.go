package stockimport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

var locs = map[string]bool{"main": true, "store": true}

func TestParseCSV(t *testing.T) {
	cases := []struct {
		name, in string
		rows     int
		problems []string // each "line N: ..." substring, in order
	}{
		{"three columns", "sku,location,on_hand\nA,main,5\nB,store,0\n", 2, nil},
		{"with versions, one empty", "sku,location,on_hand,version\nA,main,5,10\nA,store,1,\n", 2, nil},
		{"byte order mark and spaces in the header", "\xef\xbb\xbfSKU, location ,on_hand\nA,main,5\n", 1, nil},
		{"header only", "sku,location,on_hand\n", 0, nil},
		{"empty file", "", 0, []string{"line 1: the file is empty"}},
		{"wrong header", "sku,loc,qty\nA,main,5\n", 0, []string{`line 1: header "sku,loc,qty"`}},
		{"every bad row named", "sku,location,on_hand,version\n" +
			"A,main,five,1\n" + // 2
			"B,main,-3,1\n" + // 3
			"C,attic,1,1\n" + // 4
			"D,main,1,1\n" + // 5
			"D,main,2,2\n" + // 6
			"E,main,1,v2\n" + // 7
			",main,1,1\n" + // 8
			"F,main,1\n" + // 9
			"..,main,1,1\n" + // 10
			"G,main,1,-1\n", // 11
			0, []string{
				`line 2: on_hand "five" is not a whole number`,
				"line 3: on_hand must not be negative, got -3",
				`line 4: unknown location "attic"`,
				"line 6: D at main again (first at line 5)",
				`line 7: version "v2" is not a whole number`,
				"line 8: sku is required",
				"line 9: 3 fields, the header has 4",
				`line 10: sku ".." is not allowed`,
				"line 11: version must not be negative",
			}},
		{"a quoting error stops the read", "sku,location,on_hand\nA,main,\"5\nB,main,1\n", 0, []string{"line 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counts, err := ParseCSV(strings.NewReader(c.in), Options{Locations: locs, Version: 7})
			if len(c.problems) == 0 {
				if err != nil || len(counts) != c.rows {
					t.Fatalf("%d counts, %v; want %d, nil", len(counts), err, c.rows)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || counts != nil {
				t.Fatalf("counts %v, err %v; want an *Error and nothing", counts, err)
			}
			if len(pe.Problems) != len(c.problems) {
				t.Fatalf("problems %v, want %d", pe.Problems, len(c.problems))
			}
			for i, want := range c.problems {
				if got := pe.Problems[i].String(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestParseCSVVersions(t *testing.T) {
	counts, err := ParseCSV(strings.NewReader("sku,location,on_hand,version\nA,main,5,10\nB,main,1,\n"), Options{Version: 7, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if counts[0].Version != 10 || counts[1].Version != 7 || counts[0].Quantity != 5 || counts[1].Reason != "r" {
		t.Fatalf("counts %+v", counts)
	}
}

func TestParseJSON(t *testing.T) {
	cases := []struct {
		name, in string
		rows     int
		problems []string
	}{
		{"good", `{"counts":[{"sku":"A","location":"main","on_hand":5,"version":3},{"sku":"B","location":"store","on_hand":0}]}`, 2, nil},
		{"bad items", `{"counts":[{"sku":"A","location":"main"},{"sku":"B","location":"attic","on_hand":1},{"sku":"C","location":"main","on_hand":-1}]}`, 0,
			[]string{"counts[0]: on_hand is required", `counts[1]: unknown location "attic"`, "counts[2]: on_hand must not be negative"}},
		{"unknown field", `{"counts":[{"sku":"A","location":"main","on_hand":1,"qty":2}]}`, 0, []string{"body: not a JSON object"}},
		{"not a number", `{"counts":[{"sku":"A","location":"main","on_hand":"1"}]}`, 0, []string{"body: not a JSON object"}},
		{"two values", `{"counts":[]} {}`, 0, []string{"body: more than one JSON value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counts, err := ParseJSON(strings.NewReader(c.in), Options{Locations: locs})
			if len(c.problems) == 0 {
				if err != nil || len(counts) != c.rows {
					t.Fatalf("%d counts, %v", len(counts), err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) != len(c.problems) {
				t.Fatalf("err %v, want %d problems", err, len(c.problems))
			}
			for i, want := range c.problems {
				if got := pe.Problems[i].String(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestMaxProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("sku,location,on_hand\n")
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "S%d,main,x\n", i)
	}
	_, err := ParseCSV(strings.NewReader(b.String()), Options{})
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Problems) != 100 || pe.More != 150 || !strings.Contains(err.Error(), "250 problem(s)") {
		t.Fatalf("err %v", err)
	}
}

// TestApplyIsIdempotentAndMarksIntents: applied once, the counts are the
// ledger's figures and every SKU has a push intent; applied again they
// change nothing; a newer version applies.
func TestApplyIsIdempotentAndMarksIntents(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	var b strings.Builder
	b.WriteString("sku,location,on_hand,version\n")
	const n = 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "SKU-%05d,main,%d,1\n", i, i%50)
	}
	counts, err := ParseCSV(strings.NewReader(b.String()), Options{Locations: locs})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name            string
		applied, unchgd int
	}{{"first", n, 0}, {"again", 0, n}}
	for _, s := range steps {
		var last int
		sum, err := Apply(ctx, l, counts, 700, 3, func(done int) { last = done })
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != n || sum.Applied != s.applied || sum.Stale != s.unchgd || len(sum.Failed) != 0 || last != n {
			t.Fatalf("%s: summary %+v, progress %d", s.name, sum, last)
		}
	}
	st, err := l.Stock(ctx, "SKU-00049")
	if err != nil || st.Locations["main"].OnHand != 49 {
		t.Fatalf("SKU-00049 %+v, %v", st, err)
	}
	if pending, err := l.PendingCount(ctx); err != nil || pending != n {
		t.Fatalf("push intents %d, %v; want %d", pending, err, n)
	}
	newer := []inventory.Count{{SKU: "SKU-00049", Location: "main", Quantity: 3, Version: 2, Reason: "recount"}}
	if sum, err := Apply(ctx, l, newer, 0, 0, nil); err != nil || sum.Applied != 1 {
		t.Fatalf("newer version: %+v, %v", sum, err)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("sku,location,on_hand\nA,main,5\n")
	f.Add("sku,location,on_hand,version\nA,main,5,1\nA,main,5,2\n")
	f.Add("\xef\xbb\xbfsku,location,on_hand\n\"A,\"\"x\",main,1\n")
	f.Add("sku,location,on_hand\nA,main,\"5\n")
	f.Add("sku,location,on_hand\n..,main,1\nB,attic,-1\nC,main,99999999999999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		counts, err := ParseCSV(strings.NewReader(in), Options{Locations: locs})
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || counts != nil {
				t.Fatalf("err %v (%T) with %d counts", err, err, len(counts))
			}
			for _, p := range pe.Problems {
				if p.Line < 1 {
					t.Fatalf("problem without a line: %+v", p)
				}
			}
			return
		}
		seen := map[[2]string]bool{}
		for _, c := range counts {
			if c.Check() != nil || !locs[c.Location] || seen[[2]string{c.SKU, c.Location}] {
				t.Fatalf("accepted a bad or duplicate count %+v", c)
			}
			seen[[2]string{c.SKU, c.Location}] = true
		}
	})
}
