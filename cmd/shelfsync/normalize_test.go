package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// fixturesDir holds the in-repo copies of the conformance fixtures, one
// folder per channel kind (testdata/fixtures/SOURCES.md says where each
// comes from).
const fixturesDir = "testdata/fixtures"

// sharedFixturesEnv names the shared conformance fixtures directory (one
// folder per kind). CI sets it when the shared set is checked out; when it
// is unset only the in-repo copies are read.
const sharedFixturesEnv = "SHELFSYNC_FIXTURES"

// normalizableKinds are the registered kinds, which have a normalizer.
func normalizableKinds(t *testing.T) []string {
	t.Helper()
	kinds := connectors.Registered()
	if !slices.Contains(kinds, "shopify") {
		t.Fatalf("registered kinds %v: connectors/all is not linked in", kinds)
	}
	return kinds
}

// knownUnreadable are fixtures, by kind/file, that the kind's normalizer
// does not read yet: a gap of that connector, not of this command. They
// are still run; while they fail the subtest is skipped with the reason,
// and once one is read it is logged, to be taken off this list.
var knownUnreadable = map[string]string{
	"amazon/getOrder_v2026-01-01_response.sandbox_TEST_CASE_400.json":     "an SP-API error body ({\"errors\": …}) is refused rather than ignored by amazon.Normalize",
	"amazon/searchOrders_v2026-01-01_response.sandbox_TEST_CASE_400.json": "an SP-API error body ({\"errors\": …}) is refused rather than ignored by amazon.Normalize",
	"woocommerce/order_refunds_list_response.example.json":                "a refunds list says nothing of stock without its order: woocommerce.Normalize refuses it (the connector fetches the order)",
	"woocommerce/products_batch_response.example.json":                    "a batch answer is a push result, not an order or a stock change: woocommerce.Normalize refuses it",
	"woocommerce/product_variations_batch_response.example.json":          "a batch answer is a push result, not an order or a stock change: woocommerce.Normalize refuses it",
}

// checkFixture runs the command on one fixture of kind (see normalizeFixture),
// allowing for knownUnreadable.
func checkFixture(t *testing.T, kind, file string) {
	t.Helper()
	name := kind + "/" + filepath.Base(file)
	why, known := knownUnreadable[name]
	problems := normalizeFixture(kind, file)
	switch {
	case known && len(problems) > 0:
		t.Skipf("known gap (%s): %s", why, strings.Join(problems, "; "))
	case known:
		t.Logf("%s is read now: take it off knownUnreadable", name)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// normalizeFixture runs the command on one fixture of kind and says what
// is wrong: it must print a JSON array of events of that channel (or say
// on stderr why there are none), and orders in it must be consistent.
func normalizeFixture(kind, file string) []string {
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), []string{"normalize", "--channel", kind, "--name", "test-" + kind, file}, &stdout, &stderr)
	if code != 0 {
		return []string{fmt.Sprintf("exit %d: %s", code, strings.TrimSpace(stderr.String()))}
	}
	var events []connectors.Event
	if err := json.Unmarshal(stdout.Bytes(), &events); err != nil {
		return []string{fmt.Sprintf("output is not a JSON array of events: %v\n%s", err, stdout.String())}
	}
	var problems []string
	for _, e := range events {
		if e.Channel != "test-"+kind || e.Kind == "" {
			problems = append(problems, fmt.Sprintf("event %+v: want channel test-%s and a kind", e, kind))
		}
		if e.Order != nil {
			if err := e.Order.Validate(); err != nil {
				problems = append(problems, fmt.Sprintf("order %s: %v", e.Order.OrderID, err))
			}
		}
	}
	if len(events) == 0 && stderr.Len() == 0 {
		problems = append(problems, "no events and no word on stderr saying why")
	}
	return problems
}

// TestNormalizeEveryFixture runs the command on every in-repo fixture of
// every kind with a registered normalizer. Every such kind must have
// fixtures: a kind without any would pass unread.
func TestNormalizeEveryFixture(t *testing.T) {
	for _, kind := range normalizableKinds(t) {
		files, err := filepath.Glob(filepath.Join(fixturesDir, kind, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("no fixtures of registered kind %s in %s/%s: copy its shared conformance fixtures there (verbatim) and their rows into %s/SOURCES.md", kind, fixturesDir, kind, fixturesDir)
		}
		for _, file := range files {
			t.Run(kind+"/"+filepath.Base(file), func(t *testing.T) { checkFixture(t, kind, file) })
		}
	}
}

// TestNormalizeSharedFixtures runs the command on every fixture of a
// registered kind in the shared set named by SHELFSYNC_FIXTURES, and
// checks that the in-repo copy of each is identical, so the in-repo run
// misses none. Skipped only when the variable is unset.
func TestNormalizeSharedFixtures(t *testing.T) {
	root := os.Getenv(sharedFixturesEnv)
	if root == "" {
		t.Skipf("%s is not set: only the in-repo copies in %s are read", sharedFixturesEnv, fixturesDir)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("%s=%s is not a directory of conformance fixtures (%v)", sharedFixturesEnv, root, err)
	}
	n := 0
	for _, kind := range normalizableKinds(t) {
		files, err := filepath.Glob(filepath.Join(root, kind, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			n++
			t.Run(kind+"/"+filepath.Base(file), func(t *testing.T) {
				shared, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				local := filepath.Join(fixturesDir, kind, filepath.Base(file))
				mine, err := os.ReadFile(local)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					t.Errorf("no in-repo copy %s: copy it verbatim, with its row and sha256 line in %s/SOURCES.md", local, fixturesDir)
				case err != nil:
					t.Fatal(err)
				case !bytes.Equal(mine, shared):
					t.Errorf("%s differs from the shared %s: copy it again", local, file)
				}
				checkFixture(t, kind, file)
			})
		}
	}
	if n == 0 {
		t.Fatalf("%s=%s holds no fixture of the registered kinds %v", sharedFixturesEnv, root, connectors.Registered())
	}
}

// TestFixtureCopiesMatchSources: every in-repo fixture has its sha256 line
// in SOURCES.md and matches it, and every line has its file.
func TestFixtureCopiesMatchSources(t *testing.T) {
	sources, err := os.ReadFile(filepath.Join(fixturesDir, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // kind/file -> sha256
	for _, line := range strings.Split(string(sources), "\n") {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && len(sum) == sha256.Size*2 && strings.Trim(sum, "0123456789abcdef") == "" {
			want[strings.TrimSpace(name)] = sum
		}
	}
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(want) == 0 {
		t.Fatalf("%d fixtures, %d sha256 lines in SOURCES.md", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.ToSlash(strings.TrimPrefix(f, fixturesDir+string(filepath.Separator)))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		switch w, ok := want[name]; {
		case !ok:
			t.Errorf("%s has no sha256 line in SOURCES.md", name)
		case hex.EncodeToString(sum[:]) != w:
			t.Errorf("%s: sha256 %x; SOURCES.md says %s (the copy must stay verbatim)", name, sum, w)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("SOURCES.md lists %s, which is not in %s", name, fixturesDir)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"customer": {"id": 1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unreadable payload", []string{"--channel", "shopify", bad}, 1, "is not a shopify payload"},
		{"missing file", []string{"--channel", "shopify", filepath.Join(dir, "nope.json")}, 1, "no such file"},
		{"unknown kind", []string{"--channel", "etsy", bad}, 2, "--channel must be one of"},
		{"no file", []string{"--channel", "shopify"}, 2, "exactly one FILE"},
		{"two files", []string{"--channel", "shopify", bad, bad}, 2, "exactly one FILE"},
		{"bad flag", []string{"--nope"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), append([]string{"normalize"}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q on failure", stdout.String())
			}
		})
	}
}
