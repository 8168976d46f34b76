package all

import (
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// -update rewrites README.md's kind reference from the connectors.
var update = flag.Bool("update", false, "rewrite the kind reference in ../../README.md")

const (
	readmePath = "../../README.md"
	beginMark  = "<!-- BEGIN kind reference: generated from each connector's Settings.Reference() by `go test ./connectors/all -run TestREADMEKindReference -update`; edit the connector, not this -->\n"
	endMark    = "<!-- END kind reference -->\n"
)

// TestKindsDocumentEveryKey: every key of every registered kind's block
// is in its Reference(), and every key Reference() names is one of the
// block's or one of the channel's.
func TestKindsDocumentEveryKey(t *testing.T) {
	kinds := connectors.Registered()
	if len(kinds) < 3 {
		t.Fatalf("registered kinds %v: the blank imports are missing", kinds)
	}
	channelKeys := keyPaths(reflect.TypeOf(config.Channel{}), "")
	for _, name := range kinds {
		k, _ := connectors.Lookup(name)
		s := k.Settings()
		docs := map[string]bool{}
		for _, d := range s.(connectors.Documented).Reference() {
			if docs[d.Key] {
				t.Errorf("%s: %q documented twice", name, d.Key)
			}
			docs[d.Key] = true
			if d.Meaning == "" {
				t.Errorf("%s: %q has no meaning", name, d.Key)
			}
		}
		blockKeys := keyPaths(reflect.TypeOf(s), name+".")
		if len(blockKeys) == 0 {
			t.Errorf("%s: its settings have no keys", name)
		}
		for _, key := range blockKeys {
			if !docs[key] {
				t.Errorf("%s: key %q is not in its Reference()", name, key)
			}
		}
		for key := range docs {
			if !slices.Contains(blockKeys, key) && !slices.Contains(channelKeys, key) {
				t.Errorf("%s: Reference() names %q, which is neither a key of its block nor of the channel", name, key)
			}
		}
	}
}

// TestREADMEKindReference: README.md's configuration reference shows what
// every registered kind documents, as generated here (-update rewrites it),
// so a key a connector adds, or a connector linked in, is in the README.
func TestREADMEKindReference(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok1 := strings.Cut(readme, beginMark)
	block, after, ok2 := strings.Cut(rest, endMark)
	if !ok1 || !ok2 {
		t.Fatalf("README.md has no kind reference between\n%s and\n%s", beginMark, endMark)
	}
	want := kindReference()
	if *update {
		if err := os.WriteFile(readmePath, []byte(before+beginMark+want+endMark+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if block != want {
		t.Errorf("README.md's kind reference is not what the connectors document; run\n"+
			"  go test ./connectors/all -run TestREADMEKindReference -update\nwant:\n%s\ngot:\n%s", want, block)
	}
}

// kindReference renders every registered kind's Reference() as Markdown.
func kindReference() string {
	var b strings.Builder
	for _, name := range connectors.Registered() {
		k, _ := connectors.Lookup(name)
		b.WriteString("\n#### `kind: " + name + "`\n\n")
		b.WriteString("| key | default | meaning |\n| --- | --- | --- |\n")
		for _, d := range k.Settings().(connectors.Documented).Reference() {
			def := " "
			if d.Default != "" {
				def = " " + d.Default + " "
			}
			b.WriteString("| `" + d.Key + "` |" + def + "| " + strings.ReplaceAll(d.Meaning, "|", `\|`) + " |\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}

var secretType = reflect.TypeOf(config.Secret{})

// keyPaths lists the YAML key paths of the leaves under t (a struct or a
// pointer to one), each after prefix: nested structs are walked, maps,
// lists, secrets and scalars are leaves.
func keyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			keys = append(keys, keyPaths(f.Type, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != secretType {
			keys = append(keys, keyPaths(ft, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}
