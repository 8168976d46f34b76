package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestCatalogCLI: import checks the whole file first (a bad file applies
// nothing, every problem with its line), then applies; export gives back
// what was imported (re-importable); get shows a SKU's listings and kits.
func TestCatalogCLI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for _, s := range []string{"A", "B"} {
		if _, err := l.Receive(context.Background(), inventory.Delta{Key: "r", SKU: s, Location: "main", Quantity: 10, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "kind,channel,listing,sku,component,quantity\n"
	good := write("good.csv", head+"mapping,shop,6-PACK,A,,6\nkit,,,KIT,A,2\nkit,,,KIT,B,1\nmapping,bay,KIT-L,KIT,,\n")
	bad := write("bad.csv", head+"mapping,shop,X,A,,1\nmapping,shop,Y,NOPE,,1\nkit,,,K2,A,zero\n")
	change := write("change.csv", head+"mapping,shop,6-PACK,A,,12\n")
	badRefs := write("refs.yaml", "mappings:\n  - {channel: shop, listing: Z, sku: NOPE}\nkits:\n  - sku: K3\n    components: [{sku: KIT, quantity: 1}]\n")
	conn := []string{"--redis", redistest.Addr(), "--prefix", prefix}
	with := func(args ...string) []string { return append(append([]string{"catalog"}, args...), conn...) }
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"a bad row: nothing applied", with("import", bad), 2, nil, []string{"bad.csv: line 4: quantity \"zero\" is not a whole number", "nothing applied"}},
		{"export of the empty catalog", with("export", "--format", "csv"), 0, []string{head}, nil},
		{"unknown references, each with its line", with("import", badRefs), 2, nil, []string{"line 2: listing Z on shop: unknown ledger SKU NOPE", "line 5: kit K3: unknown component KIT", "2 problems; nothing applied"}},
		{"dry run", with("import", good, "--dry-run"), 0, []string{"nothing applied"}, nil},
		{"import", with("import", good), 0, []string{"ok: 3 changed, 0 unchanged"}, nil},
		{"import again", with("import", good), 0, []string{"ok: 0 changed, 3 unchanged"}, nil},
		{"now a kit of kits is refused", with("import", badRefs), 2, nil, []string{"line 5: kit K3: component KIT is a kit"}},
		{"a change needs --replace", with("import", change), 2, nil, []string{"line 2: listing 6-PACK on shop already stands for 6 x A; changing it needs --replace"}},
		{"with --replace", with("import", change, "--replace"), 0, []string{"ok: 1 changed, 0 unchanged"}, nil},
		{"back as it was", with("import", good, "--replace"), 0, []string{"ok: 1 changed, 2 unchanged"}, nil},
		{"export csv", with("export", "--format", "csv"), 0, []string{head + "mapping,bay,KIT-L,KIT,,1\nmapping,shop,6-PACK,A,,6\nkit,,,KIT,A,2\nkit,,,KIT,B,1\n"}, nil},
		{"export yaml", with("export"), 0, []string{"mappings:", "listing: 6-PACK", "multiplier: 6", "kits:", "sku: KIT"}, nil},
		{"get a component", with("get", "A"), 0, []string{"ledger SKU", "listing", "shop/6-PACK", "in kit", "KIT"}, nil},
		{"get a kit", with("get", "KIT"), 0, []string{"kit (holds no stock)", "component", "bay/KIT-L"}, nil},
		{"get json", with("get", "KIT", "--json"), 0, []string{`"components"`, `"in_ledger": false`}, nil},
		{"get unknown", with("get", "NOPE"), 1, nil, []string{"unknown to the catalog and the ledger"}},
		{"history", with("history"), 0, []string{"mapping", "shop/6-PACK", "6 x A", "import " + good}, nil},
		{"no file", with("import"), 2, nil, []string{"exactly one FILE"}},
		{"missing file", with("import", filepath.Join(dir, "none.csv")), 2, nil, []string{"no such file"}},
		{"bad format", with("export", "--format", "xml"), 2, nil, []string{"--format must be yaml or csv"}},
		{"unknown subcommand", with("remove"), 2, nil, []string{"unknown subcommand"}},
		{"delete usage", with("delete", "kit"), 2, nil, []string{"usage: catalog delete"}},
		{"delete a kit a listing maps to", with("delete", "kit", "KIT"), 3, nil, []string{"bay/KIT-L", "orphan"}},
		{"delete a mapping that would orphan its listing", with("delete", "mapping", "bay", "KIT-L"), 3, nil, []string{"stands for nothing", "delete with force"}},
		{"delete an unknown mapping", with("delete", "mapping", "shop", "NOPE"), 3, nil, []string{"not in the catalog"}},
		{"forced", with("delete", "mapping", "bay", "KIT-L", "--force"), 0, []string{"deleted: mapping bay/KIT-L (was 1 x KIT)"}, nil},
		{"then the kit", with("delete", "kit", "KIT"), 0, []string{"deleted: kit KIT (was 2 x A + 1 x B)"}, nil},
		{"history shows the deletes", with("history", "-n", "2"), 0, []string{"delete kit", "delete mapping", "bay/KIT-L"}, nil},
		{"back for the export check", with("import", good), 0, []string{"ok: 2 changed, 1 unchanged"}, nil},
	}
	for _, s := range steps {
		code, out, errs := runCLI(s.args...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, out, errs)
			continue
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", s.name, out, w)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr %q lacks %q", s.name, errs, w)
			}
		}
	}
	// What export wrote imports again unchanged.
	code, out, _ := runCLI(with("export")...)
	if code != 0 {
		t.Fatal("export failed")
	}
	again := write("again.yaml", out)
	if code, out, errs := runCLI(with("import", again)...); code != 0 || !strings.Contains(out, "0 changed, 3 unchanged") {
		t.Fatalf("re-import of the export: %d %s %s", code, out, errs)
	}
}
