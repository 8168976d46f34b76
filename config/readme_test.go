package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestREADMENamesEveryKey keeps the README's configuration reference
// complete: every YAML key of the generic schema must appear in it as a
// key. Each registered kind's keys come from its connector and are checked
// by connectors/all's TestREADMEKindReference.
func TestREADMENamesEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	seen := map[reflect.Type]bool{}
	var keys []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || rt == secretType || seen[rt] || rt.PkgPath() != secretType.PkgPath() {
			return
		}
		seen[rt] = true
		for name, f := range yamlFields(rt) {
			keys = append(keys, name)
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Config{}))
	if len(keys) < 80 {
		t.Fatalf("only %d keys found; the walk is broken", len(keys))
	}
	for _, k := range keys {
		// As a key: `k`, `a.k`, `k` / `k_file`, or in a list `a.k, k2`.
		re := regexp.MustCompile("[`.,] ?" + regexp.QuoteMeta(k) + "[`,/ .]")
		if !re.MatchString(readme) {
			t.Errorf("README's config reference lacks %q", k)
		}
	}
	if !strings.Contains(readme, "## Configuration reference") {
		t.Error("no configuration reference section")
	}
}
