package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

func TestStockReorderCLI(t *testing.T) {
	_, prefix := redistest.New(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "shelfsync.yaml")
	cfg := "redis:\n  addr: " + redistest.Addr() + "\n  key_prefix: \"" + prefix + "\"\nlocations:\n  - id: w1\n  - id: w2\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := file("bad.csv", "sku,location,reorder_point,reorder_qty\nK1,w1,5,10\nK1,w9,2,\nK2,w2,-3,\nK3,w1,abc,\n")
	unknown := file("unknown.csv", "sku,location,reorder_point\nK1,w1,5\nNOPE,w2,1\n")
	good := file("good.csv", "sku,location,reorder_point,reorder_qty\nK1,w1,5,10\nK1,w2,3,\n")
	with := func(args ...string) []string {
		return append(append([]string{"stock", "reorder"}, args...), "--config", cfgPath)
	}
	if code, _, e := runCLI("stock", "set", "K1", "--location", "w1", "--on-hand", "20", "--config", cfgPath); code != 0 {
		t.Fatal(e)
	}
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"bad rows, each with its line", with("import", bad), 1, nil, []string{"line 3: location: unknown location \"w9\"", "line 4: reorder_point", "line 5: reorder_point", "3 bad rows; nothing applied"}},
		{"nothing applied", with("get", "K1"), 0, []string{"K1: no reorder point"}, nil},
		{"unknown SKU", with("import", unknown), 1, nil, []string{"line 3: sku: unknown SKU \"NOPE\"", "nothing applied"}},
		{"still nothing applied", with("get", "K1"), 0, []string{"no reorder point"}, nil},
		{"import", with("import", good), 0, []string{"2 reorder points applied"}, nil},
		{"get sums the locations", with("get", "K1"), 0, []string{"K1: reorder point 8, reorder qty 10, state above the point", "w2", "import:"}, nil},
		{"set below the stock: low at once", with("set", "K1", "--location", "w2", "--point", "30"), 0, []string{"reorder point 35", "state low"}, nil},
		{"low lists it", []string{"stock", "low", "--config", cfgPath}, 0, []string{"SOLD 7D", "K1", "low", "20", "35", "10"}, nil},
		{"remove", with("set", "K1", "--location", "w2", "--remove"), 0, []string{"reorder point 5", "state above the point"}, nil},
		{"neither point nor remove", with("set", "K1", "--location", "w2"), 2, nil, []string{"--point N"}},
		{"nothing low", []string{"stock", "low", "--config", cfgPath}, 0, []string{"no SKU is at or below"}, nil},
		{"import needs the config", []string{"stock", "reorder", "import", good, "--redis", redistest.Addr()}, 2, nil, []string{"--config is required"}},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, out, errOut)
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, out)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, w, errOut)
			}
		}
	}
}

// TestStockReorderDefaultCLI: default reorder points from a file (bad rows
// named with line and column, nothing applied), set, rm and list; a SKU
// without a point of its own is listed low by a default once the change's
// re-evaluation has run (the command waits for it unless --no-wait), and
// report stock shows the effective point.
func TestStockReorderDefaultCLI(t *testing.T) {
	_, prefix := redistest.New(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "shelfsync.yaml")
	cfg := "redis:\n  addr: " + redistest.Addr() + "\n  key_prefix: \"" + prefix + "\"\nlocations:\n  - id: w1\n  - id: w2\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := file("bad.csv", "location,reorder_point,reorder_qty\nw1,5,10\nw9,2,\nw2,-3,\n*,abc,\nw1,4,\n")
	good := file("good.csv", "location,reorder_point,reorder_qty\nw1,25,40\n*,3,\n")
	with := func(args ...string) []string {
		return append(append([]string{"stock", "reorder", "default"}, args...), "--config", cfgPath)
	}
	if code, _, e := runCLI("stock", "set", "K1", "--location", "w1", "--on-hand", "20", "--config", cfgPath); code != 0 {
		t.Fatal(e)
	}
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"bad rows, each with its line", with("import", bad), 1, nil, []string{"line 3: location: unknown location \"w9\"", "line 4: reorder_point", "line 5: reorder_point", "line 6: location: location \"w1\" given twice", "4 bad rows; nothing applied"}},
		{"nothing applied", with("list"), 0, []string{"no default reorder points"}, nil},
		{"unknown location", with("set", "w9", "--point", "1"), 1, nil, []string{"unknown location \"w9\"", "nothing applied"}},
		{"negative", with("set", "w1", "--point", "-1"), 2, nil, []string{"must not be negative"}},
		{"not a number", with("set", "w1", "--point", "x"), 2, nil, []string{"not a whole number"}},
		{"still nothing applied", with("list"), 0, []string{"no default reorder points"}, nil},
		{"import", with("import", good, "--no-wait"), 0, []string{"2 default reorder points applied", "w1", "default point 25, reorder qty 40", "*", "default point 3", "re-evaluation of every SKU due"}, nil},
		{"not low before the re-evaluation", []string{"stock", "low", "--config", cfgPath}, 0, []string{"no SKU is at or below"}, nil},
		{"set waits and re-evaluates", with("set", "w2", "--point", "1"), 0, []string{"waiting", "1 SKUs evaluated", "w2", "default point 1"}, nil},
		{"low by the default", []string{"stock", "low", "--config", cfgPath}, 0, []string{"K1", "low", "20", "25", "40"}, nil},
		{"get shows the default that applies", []string{"stock", "reorder", "get", "K1", "--config", cfgPath}, 0, []string{"K1: no reorder point of its own; by default reorder points 25, reorder qty 40, state low", "w1", "(default of w1)"}, nil},
		{"report shows the effective point", []string{"report", "stock", "--config", cfgPath}, 0, []string{"K1,w1,20,0,20,25,40"}, nil},
		{"rm", with("rm", "w1"), 0, []string{"1 SKUs evaluated", "default point 3"}, nil},
		{"the * default applies now", []string{"stock", "low", "--config", cfgPath}, 0, []string{"no SKU is at or below"}, nil},
		{"list with changes", with("list"), 0, []string{"import:", "\"25,40\" -> \"\"", "cli"}, nil},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, out, errOut)
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, out)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, w, errOut)
			}
		}
	}
}
