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
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// connectorsDir holds one folder per connector, named after its kind.
// Each keeps its copies of the shared conformance fixtures in testdata/,
// listed with their sha256 in testdata/SOURCES.md: this command's tests
// read them there, so adding a kind needs nothing here.
const connectorsDir = "../../connectors"

// sharedFixturesEnv names the shared conformance fixtures directory (one
// folder per kind). CI sets it when the shared set is checked out; when it
// is unset only the in-repo copies are read.
const sharedFixturesEnv = "SHELFSYNC_FIXTURES"

// fixtureDir is the folder of kind's fixtures, and sourcesFile the list
// of its conformance copies.
func fixtureDir(kind string) string { return filepath.Join(connectorsDir, kind, "testdata") }

func sourcesFile(kind string) string { return filepath.Join(fixtureDir(kind), "SOURCES.md") }

// sha256Line is a line of a SOURCES.md sha256 block: the sum, then the
// file (sha256sum's format).
var sha256Line = regexp.MustCompile(`^([0-9a-f]{64}) +(\S+\.json)$`)

// conformanceCopies lists kind's conformance copies (file name -> sha256)
// from its testdata/SOURCES.md; a kind without the file has none.
func conformanceCopies(t *testing.T, kind string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(sourcesFile(kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := sha256Line.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			if _, dup := out[m[2]]; dup {
				t.Errorf("%s lists %s twice", sourcesFile(kind), m[2])
			}
			out[m[2]] = m[1]
		}
	}
	return out
}

// normalizableKinds are the registered kinds, which have a normalizer.
func normalizableKinds(t *testing.T) []string {
	t.Helper()
	kinds := connectors.Registered()
	if !slices.Contains(kinds, "shopify") {
		t.Fatalf("registered kinds %v: connectors/all is not linked in", kinds)
	}
	return kinds
}

// unreadableLine is a line of the "### Not read by Normalize" list of a
// connector's testdata/SOURCES.md: "- `file`: reason".
var unreadableLine = regexp.MustCompile("^- `(\\S+\\.json)`: (.+)$")

// knownUnreadable are the fixtures of kind, by file, that the kind's
// normalizer does not read on its own, with the reason: the list under
// "### Not read by Normalize" in the connector's testdata/SOURCES.md (a
// gap or a choice of that connector, not of this command). They are still
// run; while they fail the subtest is skipped with the reason, and once
// one is read it is logged, to be taken off the list.
func knownUnreadable(t *testing.T, kind string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(sourcesFile(kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			in = strings.HasPrefix(line, "### Not read by Normalize")
		case in:
			if m := unreadableLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
				out[m[1]] = m[2]
			}
		}
	}
	return out
}

// checkFixture runs the command on one fixture of kind (see normalizeFixture),
// allowing for knownUnreadable.
func checkFixture(t *testing.T, kind, file string) {
	t.Helper()
	name := filepath.Base(file)
	why, known := knownUnreadable(t, kind)[name]
	problems := normalizeFixture(kind, file)
	switch {
	case known && len(problems) > 0:
		t.Skipf("known gap (%s): %s", why, strings.Join(problems, "; "))
	case known:
		t.Logf("%s is read now: take it off the \"Not read by Normalize\" list of %s", name, sourcesFile(kind))
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

// TestNormalizeEveryFixture runs the command on every conformance copy of
// every kind with a registered normalizer, read from the connector's own
// testdata/ (the files its SOURCES.md lists). Every such kind must have
// some: a kind without any would pass unread.
func TestNormalizeEveryFixture(t *testing.T) {
	for _, kind := range normalizableKinds(t) {
		copies := conformanceCopies(t, kind)
		if len(copies) == 0 {
			t.Errorf("no conformance fixtures of registered kind %s: copy its shared fixtures (verbatim) into %s and list them with their sha256 in %s", kind, fixtureDir(kind), sourcesFile(kind))
		}
		for _, name := range slices.Sorted(maps.Keys(copies)) {
			file := filepath.Join(fixtureDir(kind), name)
			t.Run(kind+"/"+name, func(t *testing.T) { checkFixture(t, kind, file) })
		}
	}
}

// TestNormalizeSharedFixtures runs the command on every fixture of a
// registered kind in the shared set named by SHELFSYNC_FIXTURES, and
// checks that the connector's testdata/ holds an identical copy of each,
// listed in its SOURCES.md, so the in-repo run misses none; and that every
// copy listed there is in the shared set. Skipped only when the variable
// is unset.
func TestNormalizeSharedFixtures(t *testing.T) {
	root := os.Getenv(sharedFixturesEnv)
	if root == "" {
		t.Skipf("%s is not set: only the in-repo copies in %s/<kind>/testdata are read", sharedFixturesEnv, connectorsDir)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("%s=%s is not a directory of conformance fixtures (%v)", sharedFixturesEnv, root, err)
	}
	n := 0
	for _, kind := range normalizableKinds(t) {
		copies := conformanceCopies(t, kind)
		files, err := filepath.Glob(filepath.Join(root, kind, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			n++
			name := filepath.Base(file)
			t.Run(kind+"/"+name, func(t *testing.T) {
				if _, listed := copies[name]; !listed {
					t.Errorf("%s does not list %s: copy it verbatim into %s, with its row and sha256 line", sourcesFile(kind), name, fixtureDir(kind))
				}
				compareCopy(t, file, filepath.Join(fixtureDir(kind), name))
				checkFixture(t, kind, file)
			})
			delete(copies, name)
		}
		for name := range copies {
			t.Errorf("%s lists %s as a conformance copy, but the shared set has no %s/%s", sourcesFile(kind), name, kind, name)
		}
	}
	if n == 0 {
		t.Fatalf("%s=%s holds no fixture of the registered kinds %v", sharedFixturesEnv, root, connectors.Registered())
	}
}

// compareCopy fails unless local is a byte-for-byte copy of shared.
func compareCopy(t *testing.T, shared, local string) {
	t.Helper()
	want, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t.Errorf("no in-repo copy %s: copy %s there verbatim", local, shared)
	case err != nil:
		t.Fatal(err)
	case !bytes.Equal(got, want):
		t.Errorf("%s differs from the shared %s: copy it again", local, shared)
	}
}

// TestFixtureCopiesMatchSources: every conformance copy a connector's
// testdata/SOURCES.md lists is there and matches its sha256 (the copies
// stay verbatim), for every registered kind.
func TestFixtureCopiesMatchSources(t *testing.T) {
	total := 0
	for _, kind := range normalizableKinds(t) {
		copies := conformanceCopies(t, kind)
		for name := range knownUnreadable(t, kind) {
			if _, ok := copies[name]; !ok {
				t.Errorf("%s: %s is not read by Normalize, it says, but is not a conformance copy it lists", sourcesFile(kind), name)
			}
		}
		for name, want := range copies {
			total++
			data, err := os.ReadFile(filepath.Join(fixtureDir(kind), name))
			if err != nil {
				t.Errorf("%s lists %s: %v", sourcesFile(kind), name, err)
				continue
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
				t.Errorf("%s/%s: sha256 %x; %s says %s (the copy must stay verbatim)", fixtureDir(kind), name, sum, sourcesFile(kind), want)
			}
		}
	}
	if total == 0 {
		t.Fatal("no conformance copy listed in any connector's testdata/SOURCES.md")
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
