package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// fixturesDir is the shared conformance fixtures (SHELFSYNC_FIXTURES
// overrides): CI checks out ../shared next to the module.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SHELFSYNC_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance", "fixtures")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("conformance fixtures not found (set SHELFSYNC_FIXTURES): %v", err)
	}
	return dir
}

// TestNormalizeEveryFixture runs the command on every fixture of every
// kind with a registered normalizer: each prints a JSON array of events
// of that channel, and orders in it are consistent.
func TestNormalizeEveryFixture(t *testing.T) {
	dir := fixturesDir(t)
	kinds := connectors.Registered()
	if !slices.Contains(kinds, "shopify") {
		t.Fatalf("registered kinds %v: connectors/all is not linked in", kinds)
	}
	n := 0
	for _, kind := range kinds {
		files, _ := filepath.Glob(filepath.Join(dir, kind, "*.json"))
		for _, file := range files {
			n++
			t.Run(kind+"/"+filepath.Base(file), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := dispatch(context.Background(), []string{"normalize", "--channel", kind, "--name", "test-" + kind, file}, &stdout, &stderr)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr.String())
				}
				var events []connectors.Event
				if err := json.Unmarshal(stdout.Bytes(), &events); err != nil {
					t.Fatalf("output is not a JSON array of events: %v\n%s", err, stdout.String())
				}
				for _, e := range events {
					if e.Channel != "test-"+kind || e.Kind == "" {
						t.Errorf("event %+v: want channel test-%s and a kind", e, kind)
					}
					if e.Order != nil {
						if err := e.Order.Validate(); err != nil {
							t.Errorf("order %s: %v", e.Order.OrderID, err)
						}
					}
				}
				if len(events) == 0 && stderr.Len() == 0 {
					t.Error("no events and no word on stderr saying why")
				}
			})
		}
	}
	if n == 0 {
		t.Fatalf("no fixtures under %s", dir)
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
