package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionBuildLinksNoSimulator: the production binary (-tags nosim,
// as `make build` and the Docker image build it) links no fake
// marketplace, no embedded Redis and no simulator package.
func TestProductionBuildLinksNoSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	out, err := exec.Command("go", "list", "-tags", "nosim", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var linked []string
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(pkg, "github.com/alicebob/miniredis"), strings.HasPrefix(pkg, "github.com/yuin/gopher-lua"),
			strings.HasPrefix(pkg, "github.com/shelfsync/shelfsync/") && (strings.HasSuffix(pkg, "test") || strings.Contains(pkg, "/sync/demo")):
			linked = append(linked, pkg)
		}
	}
	if len(linked) > 0 {
		t.Fatalf("the production build links the simulator: %v", linked)
	}
	// And the default build, which `go run ./cmd/shelfsync demo` uses, has it.
	out, err = exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/shelfsync/shelfsync/sync/demo") {
		t.Fatalf("the default build lacks the simulator: %v", err)
	}
}
