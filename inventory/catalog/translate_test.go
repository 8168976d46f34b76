package catalog

import (
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/inventory"
)

func TestExpandLine(t *testing.T) {
	base := inventory.LineState{Channel: "shop", OrderID: "O1", LineID: "7", SKU: "LISTING", Candidates: []string{"main"},
		Ordered: 3, Shipped: 2, Cancelled: 1, Returned: 1, Restock: true, Version: 42}
	with := func(f func(*inventory.LineState)) inventory.LineState {
		s := base
		f(&s)
		return s
	}
	cases := []struct {
		name string
		res  Resolution
		want []inventory.LineState
	}{
		{"unknown to the catalog: the same-named SKU", Resolution{}, []inventory.LineState{base}},
		{"identity", identity("LISTING"), []inventory.LineState{base}},
		{"mapped, multiplier 1", Resolution{Parts: []Part{{SKU: "A", Per: 1}}},
			[]inventory.LineState{with(func(s *inventory.LineState) { s.SKU = "A" })}},
		{"mapped 6-pack: every figure times 6, same line id", Resolution{Parts: []Part{{SKU: "A", Per: 6}}},
			[]inventory.LineState{with(func(s *inventory.LineState) {
				s.SKU, s.Ordered, s.Shipped, s.Cancelled, s.Returned = "A", 18, 12, 6, 6
			})}},
		{"kit: one line per component, derived ids", Resolution{Kit: "K", Parts: []Part{{SKU: "A", Per: 2}, {SKU: "B", Per: 1}}},
			[]inventory.LineState{
				with(func(s *inventory.LineState) {
					s.SKU, s.LineID, s.Ordered, s.Shipped, s.Cancelled, s.Returned = "A", "7#A", 6, 4, 2, 2
				}),
				with(func(s *inventory.LineState) { s.SKU, s.LineID = "B", "7#B" }),
			}},
	}
	for _, c := range cases {
		got := ExpandLine(base, c.res)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
		for _, s := range got {
			if err := s.Validate(); err != nil {
				t.Errorf("%s: the ledger refuses %+v: %v", c.name, s, err)
			}
		}
	}
}

func TestKitATS(t *testing.T) {
	comps := []Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}
	cases := []struct {
		name string
		comp []Component
		ats  map[string]int64
		want int64
	}{
		{"least of floor(ats/qty)", comps, map[string]int64{"A": 7, "B": 10}, 3},
		{"the single component limits", comps, map[string]int64{"A": 100, "B": 4}, 4},
		{"a component at zero", comps, map[string]int64{"A": 100, "B": 0}, 0},
		{"a component short of one kit", comps, map[string]int64{"A": 1, "B": 5}, 0},
		{"a missing component", comps, map[string]int64{"A": 10}, 0},
		{"a negative figure never lists", comps, map[string]int64{"A": -4, "B": 5}, 0},
		{"no components lists nothing", nil, map[string]int64{"A": 10}, 0},
		{"exact multiple", []Component{{SKU: "A", Quantity: 3}}, map[string]int64{"A": 9}, 3},
	}
	for _, c := range cases {
		if got := KitATS(c.comp, func(s string) int64 { return c.ats[s] }); got != c.want {
			t.Errorf("%s: KitATS = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestListingQuantity(t *testing.T) {
	cases := []struct{ ats, mult, want int64 }{
		{10, 1, 10}, {10, 6, 1}, {12, 6, 2}, {5, 6, 0}, {0, 6, 0}, {-3, 1, 0}, {7, 0, 0},
	}
	for _, c := range cases {
		if got := ListingQuantity(c.ats, c.mult); got != c.want {
			t.Errorf("ListingQuantity(%d, %d) = %d, want %d", c.ats, c.mult, got, c.want)
		}
	}
}

func TestComponentsRoundTrip(t *testing.T) {
	in := []Component{{SKU: "A", Quantity: 2}, {SKU: "B:with,odd chars", Quantity: 10}}
	got, err := decodeComponents(encodeComponents(in))
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "2", "x\x1fA", "0\x1fA", "2\x1f"} {
		if _, err := decodeComponents(bad); err == nil {
			t.Errorf("decodeComponents(%q) accepted", bad)
		}
	}
}

// Unchanged is a shortcut of ExpandLine and Translation: exactly when it
// says so, ExpandLine gives the line alone and Translation nothing.
func TestUnchangedAgreesWithExpandLineAndTranslation(t *testing.T) {
	st := inventory.LineState{Channel: "shop", OrderID: "1", LineID: "7", SKU: "A", Ordered: 3, Shipped: 1, Version: 5}
	cases := []struct {
		name string
		r    Resolution
		want bool
	}{
		{"not resolved", Resolution{}, true},
		{"its own SKU", identity("A"), true},
		{"mapped to another SKU", Resolution{Parts: []Part{{SKU: "B", Per: 1}}}, false},
		{"a pack of itself", Resolution{Parts: []Part{{SKU: "A", Per: 6}}}, false},
		{"a kit of one component", Resolution{Kit: "A", Parts: []Part{{SKU: "A", Per: 1}}}, false},
		{"a kit", Resolution{Kit: "K", Parts: []Part{{SKU: "A", Per: 1}, {SKU: "B", Per: 2}}}, false},
	}
	for _, c := range cases {
		if got := Unchanged(st, c.r); got != c.want {
			t.Errorf("%s: Unchanged %v, want %v", c.name, got, c.want)
		}
		_, translated := Translation(st, c.r)
		same := reflect.DeepEqual(ExpandLine(st, c.r), []inventory.LineState{st}) && !translated
		if same != c.want {
			t.Errorf("%s: ExpandLine and Translation leave the line alone: %v, want %v", c.name, same, c.want)
		}
	}
}
