package codeshape

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// footprintFile is this file: it names the kinds it holds to their
// footprint, so it is left out of the count.
const footprintFile = "internal/codeshape/footprint_test.go"

// footprintHeld are the kinds held to the open-connector rule (issue 12:
// adding a connector is its folder plus one import line): outside
// connectors/<kind>/ no Go file names the kind but connectors/all/all.go
// and the files listed here with the reason. Other files (configuration
// examples, test data, docs) are listed, not held: they use a channel of
// the kind, nothing needs them to add it. A listed file that no longer
// names the kind fails the test, to be taken off.
var footprintHeld = map[string]map[string]string{
	"woocommerce": {},
}

// generatedKindReference is README.md's generated configuration reference
// (connectors/all's TestREADMEKindReference), which names every kind.
var generatedKindReference = regexp.MustCompile(`(?s)<!-- BEGIN kind reference.*?<!-- END kind reference -->`)

// TestConnectorFootprint lists, for every kind connectors/all links, the
// files outside connectors/<kind>/ that name it (its name, any case: the
// package path included): Go files, other files and docs apart, README.md's
// generated reference left out; and holds the Go files of the kinds of
// footprintHeld to their list. `make footprint` shows the lists.
func TestConnectorFootprint(t *testing.T) {
	files := repoFiles(t)
	for _, kind := range linkedKinds(t) {
		var code, other, docs []string
		for path, text := range files {
			switch {
			case strings.HasPrefix(path, "connectors/"+kind+"/") || path == footprintFile || !strings.Contains(text, kind):
			case strings.HasSuffix(path, ".go"):
				code = append(code, path)
			case strings.HasSuffix(path, ".md"):
				docs = append(docs, path)
			default:
				other = append(other, path)
			}
		}
		slices.Sort(code)
		slices.Sort(other)
		slices.Sort(docs)
		t.Logf("%s: %d Go files outside connectors/%s/ name it: %v", kind, len(code), kind, code)
		t.Logf("%s: %d other files (configuration examples, test data) name it: %v", kind, len(other), other)
		t.Logf("%s: %d docs name it (README.md's generated reference left out): %v", kind, len(docs), docs)
		if held, ok := footprintHeld[kind]; ok {
			checkFootprint(t, kind, code, held)
		}
	}
}

// checkFootprint fails unless code is connectors/all/all.go plus held.
func checkFootprint(t *testing.T, kind string, code []string, held map[string]string) {
	t.Helper()
	for _, path := range code {
		if _, ok := held[path]; !ok && path != "connectors/all/all.go" {
			t.Errorf("%s names %s outside its folder: a connector is its folder plus its line in connectors/all", path, kind)
		}
	}
	if !slices.Contains(code, "connectors/all/all.go") {
		t.Errorf("connectors/all/all.go does not link %s", kind)
	}
	for path, why := range held {
		if !slices.Contains(code, path) {
			t.Errorf("%s no longer names %s (%s): take it off footprintHeld", path, kind, why)
		}
	}
}

// linkedKinds are the kinds connectors/all links, from its blank imports.
func linkedKinds(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../connectors/all/all.go")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range regexp.MustCompile(`_ "github.com/shelfsync/shelfsync/connectors/([a-z0-9]+)"`).FindAllSubmatch(b, -1) {
		kinds = append(kinds, string(m[1]))
	}
	if len(kinds) < 4 {
		t.Fatalf("connectors/all links %v", kinds)
	}
	return kinds
}

// repoFiles is every text file of the repository (path from its root,
// slash-separated -> lower-cased text), README.md's generated reference
// cut out; .git and binaries (a NUL byte) are left out.
func repoFiles(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || bytes.IndexByte(b, 0) >= 0 {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "README.md" {
			b = generatedKindReference.ReplaceAll(b, nil)
		}
		out[rel] = strings.ToLower(string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
