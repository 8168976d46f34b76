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

// TestStockImportCLI: a file with a bad line is refused whole (every bad
// line named, exit 2, nothing written); a good one is applied and marks
// push intents; run again it changes nothing; history and verify read
// what it journaled.
func TestStockImportCLI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("c.yaml", "redis:\n  addr: "+redistest.Addr()+"\n  key_prefix: \""+prefix+"\"\nlocations:\n  - id: main\n  - id: store\n")
	bad := write("bad.csv", "sku,location,on_hand,version\nA,main,4,1\nB,attic,1,1\nA,main,3,1\nC,main,-1,1\n")
	good := write("good.csv", "sku,location,on_hand,version\nA,main,4,1\nA,store,2,1\nB,main,7,1\n")
	steps := []struct {
		name string
		args []string
		code int
		out  []string
		err  []string
	}{
		{"no config", []string{"stock", "import", good}, 2, nil, []string{"--config is required"}},
		{"bad file", []string{"stock", "import", bad, "--config", cfg}, 2, nil, []string{
			"3 problem(s), nothing applied", `line 3: unknown location "attic"`, "line 4: A at main again (first at line 2)", "line 5: on_hand must not be negative"}},
		{"dry run", []string{"stock", "import", good, "--config", cfg, "--dry-run"}, 0, []string{"3 counts, no problems (dry run"}, nil},
		{"good file", []string{"stock", "import", good, "--config", cfg}, 0, []string{"3 counts: 3 applied, 0 unchanged"}, nil},
		{"again", []string{"stock", "import", good, "--config", cfg}, 0, []string{"3 counts: 0 applied, 3 unchanged"}, nil},
		{"json", []string{"stock", "import", good, "--config", cfg, "--json"}, 0, []string{`"unchanged": 3`}, nil},
		// The new SKUs' counts are opening rows (no journal stream):
		// history shows them, verify reads them.
		{"history", []string{"stock", "history", "A", "--config", cfg, "--json"}, 0, []string{`"id": "0-1"`, `"id": "0-2"`, `"cause": "opening stock"`, `"ref": "v=1"`}, nil},
		{"verify", []string{"stock", "verify", "--config", cfg}, 0, nil, nil},
	}
	for i, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d; stdout %s stderr %s", s.name, code, s.code, out, errOut)
		}
		for _, w := range s.out {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout %q lacks %q", s.name, out, w)
			}
		}
		for _, w := range s.err {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", s.name, errOut, w)
			}
		}
		if i == 1 || i == 2 {
			if _, err := inventory.New(rdb, inventory.Options{Prefix: prefix}).Stock(context.Background(), "A"); err == nil {
				t.Fatalf("%s wrote stock", s.name)
			}
		}
	}
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	st, err := l.Stock(context.Background(), "A")
	if err != nil || st.Locations["main"].OnHand != 4 || st.Locations["store"].OnHand != 2 {
		t.Fatalf("A = %+v, %v", st, err)
	}
	if n, err := l.PendingCount(context.Background()); err != nil || n != 2 {
		t.Fatalf("push intents %d, %v; want A and B", n, err)
	}
}
