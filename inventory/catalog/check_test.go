package catalog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// world is a ledger holding the SKUs A, B and C, and an empty catalog, on
// the real Redis under a fresh prefix.
func world(t *testing.T) (*inventory.Ledger, *catalog.Catalog) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for _, s := range []string{"A", "B", "C"} {
		if _, err := l.Receive(context.Background(), inventory.Delta{Key: "seed", SKU: s, Location: "main", Quantity: 10, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	return l, catalog.New(rdb, prefix)
}

// TestImportFileProblems: every kind of bad input is reported with its
// line, and the rest of the file is still checked (all problems at once).
func TestImportFileProblems(t *testing.T) {
	l, c := world(t)
	ctx := context.Background()
	// An existing kit, so a file can try to nest it.
	if _, err := c.Apply(ctx, catalog.Plan{Kits: []catalog.Kit{{SKU: "OLD-KIT", Components: []catalog.Component{{SKU: "A", Quantity: 1}}}}}, "test"); err != nil {
		t.Fatal(err)
	}
	const head = "kind,channel,listing,sku,component,quantity\n"
	cases := []struct {
		name, file, body string
		want             []string // each a substring of one problem, in line order
	}{
		{"good csv", "c.csv", head + "mapping,shop,6-PACK,A,,6\nmapping,shop,A-ALIAS,A,,\nkit,,,KIT,A,2\nkit,,,KIT,B,1\nmapping,bay,KIT-L,KIT,,1\n", nil},
		{"good yaml", "c.yaml", "mappings:\n  - {channel: shop, listing: 6-PACK, sku: A, multiplier: 6}\nkits:\n  - sku: KIT\n    components: [{sku: A, quantity: 2}]\n", nil},
		{"wrong csv header", "c.csv", "kind,channel,listing,sku,qty\nmapping,shop,X,A,1\n", []string{"line 1: wrong CSV header"}},
		{"empty csv", "c.csv", "", []string{"line 1: empty file"}},
		{"csv with a byte order mark", "c.csv", "\ufeff" + head + "mapping,shop,X,A,,1\n", nil},
		{"a component of an existing kit becoming a kit", "c.csv", head + "kit,,,A,B,1\n", []string{"kit A is a ledger SKU", "kit A is a component of kit OLD-KIT"}},
		{"non-numeric count", "c.csv", head + "mapping,shop,X,A,,six\n", []string{`line 2: quantity "six" is not a whole number`}},
		{"short row", "c.csv", head + "mapping,shop,X,A\n", []string{"line 2: 4 fields, want 6"}},
		{"unknown kind", "c.csv", head + "alias,shop,X,A,,1\n", []string{`line 2: kind "alias"`}},
		{"unknown ledger SKU", "c.csv", head + "mapping,shop,X,NOPE,,1\n", []string{"line 2: listing X on shop: unknown ledger SKU NOPE"}},
		{"zero multiplier", "c.csv", head + "mapping,shop,X,A,,0\n", []string{"line 2: listing X on shop: multiplier 0"}},
		{"negative multiplier", "c.csv", head + "mapping,shop,X,A,,-2\n", []string{"line 2: listing X on shop: multiplier -2"}},
		{"duplicate listing id", "c.csv", head + "mapping,shop,X,A,,1\nmapping,bay,X,A,,1\nmapping,shop,X,B,,1\n", []string{"line 4: duplicate listing id X on channel shop (first on line 2)"}},
		{"kit with unknown component", "c.csv", head + "kit,,,KIT,A,1\nkit,,,KIT,NOPE,1\n", []string{"line 3: kit KIT: unknown component NOPE"}},
		{"kit zero quantity", "c.csv", head + "kit,,,KIT,A,0\n", []string{"line 2: kit KIT: component A has quantity 0"}},
		{"kit containing itself", "c.csv", head + "kit,,,KIT,KIT,1\n", []string{"line 2: kit KIT contains itself: a cycle"}},
		{"kit of kits in the file", "c.csv", head + "kit,,,K1,A,1\nkit,,,K2,K1,1\n", []string{"line 3: kit K2: component K1 is a kit"}},
		{"kit of a kit in the catalog", "c.csv", head + "kit,,,K2,OLD-KIT,1\n", []string{"line 2: kit K2: component OLD-KIT is a kit"}},
		{"kit that is a ledger SKU", "c.csv", head + "kit,,,B,A,1\n", []string{"line 2: kit B is a ledger SKU"}},
		{"yaml non-numeric", "c.yaml", "mappings:\n  - channel: shop\n    listing: X\n    sku: A\n    multiplier: lots\n", []string{`line 5: multiplier "lots" is not a whole number`}},
		{"yaml unknown key", "c.yml", "mappings:\n  - {channel: shop, listing: X, sku: A, qty: 2}\n", []string{`line 2: unknown key "qty"`}},
		{"yaml missing listing", "c.yaml", "mappings:\n  - {channel: shop, sku: A}\n", []string{"line 2: listing is empty"}},
		{"unknown channel", "c.csv", head + "mapping,amazon,X,A,,1\n", []string{"line 2: unknown channel amazon"}},
		{"several problems, all reported", "c.csv", head + "mapping,shop,X,NOPE,,1\nmapping,shop,Y,A,,0\nkit,,,KIT,NOPE,1\n",
			[]string{"line 2: listing X on shop: unknown ledger SKU NOPE", "line 3: listing Y on shop: multiplier 0", "line 4: kit KIT: unknown component NOPE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, probs := catalog.ParseFile(tc.file, []byte(tc.body))
			if len(probs) == 0 {
				more, err := c.Check(ctx, plan, l, []string{"shop", "bay"})
				if err != nil {
					t.Fatal(err)
				}
				probs = more
			}
			if len(probs) != len(tc.want) {
				t.Fatalf("problems %v, want %d: %q", probs, len(tc.want), tc.want)
			}
			for i, p := range probs {
				if !strings.Contains(p.Error(), tc.want[i]) {
					t.Errorf("problem %d: %q, want it to contain %q", i, p.Error(), tc.want[i])
				}
			}
		})
	}
}

// TestApplyExportResolve: a checked plan applies; export gives it back;
// listings resolve to their SKUs and kits to their components; applying
// the same plan again changes nothing; a change is journaled and marked
// pending, and a kit's changed components leave no stale reverse entry.
func TestApplyExportResolve(t *testing.T) {
	l, c := world(t)
	ctx := context.Background()
	body := "kind,channel,listing,sku,component,quantity\n" +
		"mapping,shop,6-PACK,A,,6\nmapping,shop,KIT-L,KIT,,2\nkit,,,KIT,A,2\nkit,,,KIT,B,1\nkit,,,KIT2,B,3\n"
	plan, probs := catalog.ParseCSV([]byte(body))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	probs, err := c.Check(ctx, plan, l, nil)
	if err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	res, err := c.Apply(ctx, plan, "test.csv")
	if err != nil || res.Changed != 4 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if res, err := c.Apply(ctx, plan, "again"); err != nil || res.Changed != 0 || res.Unchanged != 4 {
		t.Fatalf("apply again: %+v %v", res, err)
	}
	var out strings.Builder
	exp, err := c.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.EncodeCSV(&out, exp); err != nil {
		t.Fatal(err)
	}
	want := "kind,channel,listing,sku,component,quantity\nmapping,shop,6-PACK,A,,6\nmapping,shop,KIT-L,KIT,,2\nkit,,,KIT,A,2\nkit,,,KIT,B,1\nkit,,,KIT2,B,3\n"
	if out.String() != want {
		t.Errorf("export:\n%s\nwant\n%s", out.String(), want)
	}
	got, _, err := c.Resolve(ctx, []catalog.Ref{{Channel: "shop", SKU: "6-PACK"}, {Channel: "bay", SKU: "6-PACK"}, {Channel: "shop", SKU: "KIT-L"}, {Channel: "bay", SKU: "KIT"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(r catalog.Ref, kit string, parts ...catalog.Part) {
		t.Helper()
		g := got[r]
		if g.Kit != kit || len(g.Parts) != len(parts) {
			t.Fatalf("%v resolves to %+v", r, g)
		}
		for i := range parts {
			if g.Parts[i] != parts[i] {
				t.Errorf("%v part %d: %+v, want %+v", r, i, g.Parts[i], parts[i])
			}
		}
	}
	check(catalog.Ref{Channel: "shop", SKU: "6-PACK"}, "", catalog.Part{SKU: "A", Per: 6})
	check(catalog.Ref{Channel: "bay", SKU: "6-PACK"}, "", catalog.Part{SKU: "6-PACK", Per: 1}) // mapped on shop only
	check(catalog.Ref{Channel: "shop", SKU: "KIT-L"}, "KIT", catalog.Part{SKU: "A", Per: 4}, catalog.Part{SKU: "B", Per: 2})
	check(catalog.Ref{Channel: "bay", SKU: "KIT"}, "KIT", catalog.Part{SKU: "A", Per: 2}, catalog.Part{SKU: "B", Per: 1})

	// KIT drops B for C: refused without Replace; with it, B no longer
	// points at KIT.
	change := catalog.Plan{Kits: []catalog.Kit{{SKU: "KIT", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "C", Quantity: 1}}}},
		Mappings: []catalog.Mapping{{Channel: "shop", Listing: "6-PACK", SKU: "A", Multiplier: 12}}}
	probs, err = c.Check(ctx, change, l, nil)
	if err != nil || len(probs) != 2 || !strings.Contains(probs[0].Msg, "kit KIT is already 2 x A + 1 x B; changing it needs --replace") ||
		!strings.Contains(probs[1].Msg, "listing 6-PACK on shop already stands for 6 x A; changing it needs --replace") {
		t.Fatalf("a change without Replace: %v %v", probs, err)
	}
	change.Replace = true
	if probs, err := c.Check(ctx, change, l, nil); err != nil || len(probs) > 0 {
		t.Fatalf("a change with Replace: %v %v", probs, err)
	}
	change.Mappings = nil
	if _, err := c.Apply(ctx, change, "api"); err != nil {
		t.Fatal(err)
	}
	b, err := c.Entry(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if _, still := b.Kits["KIT"]; still || b.Kits["KIT2"] != 3 {
		t.Errorf("B's kits after KIT dropped it: %v", b.Kits)
	}
	hist, err := c.History(ctx, 10)
	if err != nil || len(hist) != 5 || hist[0].Name != "KIT" || hist[0].Before != "2 x A + 1 x B" || hist[0].After != "2 x A + 1 x C" || hist[0].Source != "api" {
		t.Fatalf("journal: %+v %v", hist, err)
	}
	pend, err := c.PendingIntents(ctx, 100)
	if err != nil || len(pend) == 0 {
		t.Fatalf("pending: %v %v", pend, err)
	}
	for _, in := range pend {
		if err := c.ClearIntent(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if pend, _ := c.PendingIntents(ctx, 100); len(pend) != 0 {
		t.Errorf("pending after clear: %v", pend)
	}
}
