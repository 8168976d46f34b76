package codeshape

import (
	"os/exec"
	"strings"
	"testing"
)

// allowed is the one-way flow of the module's own imports (non-test code):
// cmd wires everything, sync runs the flow over connectors and inventory,
// which know nothing of each other, and config is below them all.
var allowed = map[string][]string{
	"cmd":        {"sync", "connectors", "inventory", "config"},
	"sync":       {"connectors", "inventory", "config"},
	"connectors": {"config"},
	"inventory":  {},
	"config":     {},
	"internal":   {},
}

// TestImportsFlowOneWay: no package imports against the flow.
func TestImportsFlowOneWay(t *testing.T) {
	const mod = "github.com/shelfsync/shelfsync/"
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		from := top(strings.TrimPrefix(f[0], mod))
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			to := top(strings.TrimPrefix(imp, mod))
			if to == from {
				continue
			}
			ok := false
			for _, a := range allowed[from] {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: against the flow (%s may import %v)", f[0], imp, from, allowed[from])
			}
		}
	}
}

func top(p string) string {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}
