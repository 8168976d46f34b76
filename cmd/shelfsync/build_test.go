package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/shelfsync/shelfsync/"

// TestProductionBuildLinksNoSimulator: the production binary (-tags nosim,
// as `make build` and the Docker image build it) links every connector but
// no fake marketplace, no simulator registry, no embedded Redis and no
// demo; the default build, which `go run ./cmd/shelfsync demo` uses, links
// each connector's fake through the connector's own sim.go.
func TestProductionBuildLinksNoSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	fakes := connectorFakes(t)
	prod := goListDeps(t, "-tags", "nosim")
	var linked []string
	for _, pkg := range prod {
		switch {
		case strings.HasPrefix(pkg, "github.com/alicebob/miniredis"), strings.HasPrefix(pkg, "github.com/yuin/gopher-lua"),
			strings.HasPrefix(pkg, module) && (strings.HasSuffix(pkg, "test") || strings.Contains(pkg, "/sync/demo") ||
				pkg == module+"connectors/sim"):
			linked = append(linked, pkg)
		}
	}
	if len(linked) > 0 {
		t.Fatalf("the production build links the simulator: %v", linked)
	}
	dflt := goListDeps(t)
	for connector, fake := range fakes {
		if !slices.Contains(prod, connector) {
			t.Errorf("the production build lacks the connector %s", connector)
		}
		if !slices.Contains(dflt, fake) {
			t.Errorf("the default build lacks %s's fake %s (its sim.go)", connector, fake)
		}
	}
	for _, pkg := range []string{module + "sync/demo", module + "connectors/sim"} {
		if !slices.Contains(dflt, pkg) {
			t.Errorf("the default build lacks the simulator's %s", pkg)
		}
	}
}

// connectorFakes maps every connector with a sim.go to the fake package
// that file imports.
func connectorFakes(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../connectors/*/sim.go")
	if err != nil {
		t.Fatal(err)
	}
	imp := regexp.MustCompile(`import _ "(` + regexp.QuoteMeta(module) + `connectors/[a-z0-9]+/[a-z0-9]+test)"`)
	out := map[string]string{}
	for _, f := range files {
		if filepath.Base(filepath.Dir(f)) == "sim" {
			continue // the simulator's registry itself
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := imp.FindSubmatch(b)
		if m == nil || !strings.HasPrefix(string(b), "//go:build !nosim\n") {
			t.Fatalf("%s: want `//go:build !nosim` and one blank import of the connector's fake", f)
		}
		out[module+"connectors/"+filepath.Base(filepath.Dir(f))] = string(m[1])
	}
	if len(out) < 4 {
		t.Fatalf("connectors with a sim.go: %v; want every connector's", out)
	}
	return out
}

// goListDeps lists the packages the command links, built with args.
func goListDeps(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append(append([]string{"list"}, args...), "-deps", ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, out)
	}
	return strings.Fields(string(out))
}
