package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKind is a kind registered only while a test runs: what any kind's
// block gets from the loader (secrets and their files, redaction,
// Marshal), with a secret key that no generic key and no sensitive word
// names.
type testKind struct {
	Host    string   `yaml:"host"`
	Phrase  Secret   `yaml:"phrase"`
	Phrases []Secret `yaml:"phrases"`
	Inlined `yaml:",inline"`
}

// Inlined is a struct whose keys are its holder's (yaml.v3's inline).
type Inlined struct {
	Word Secret `yaml:"word"`
	Size int    `yaml:"size"`
}

func (k *testKind) Defaults() {
	if k.Host == "" {
		k.Host = "https://default.example"
	}
}

func (k *testKind) Validate(ch *Channel) []FieldProblem {
	var ps FieldProblems
	ps.Required("testkind.phrase", k.Phrase.IsSet())
	ps.URL("testkind.host", k.Host, "https")
	if k.Phrase.Value() == "wrong" || strings.HasPrefix(k.Phrase.Value(), "S3CRET") {
		// A careless kind quoting a secret: the loader's scrub catches it.
		ps.Addf("testkind.phrase", "%q is not accepted", k.Phrase.Value())
	}
	return ps
}

// withTestKind registers testKind as "testkind" until the test ends.
func withTestKind(t *testing.T) {
	t.Helper()
	RegisterKind("testkind", func() KindSettings { return &testKind{} })
	t.Cleanup(func() {
		kindRegistry.Lock()
		delete(kindRegistry.m, "testkind")
		kindRegistry.schema = nil
		kindRegistry.Unlock()
	})
}

func parseTestKind(t *testing.T, block string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	for name, v := range map[string]string{"phrase.txt": "S3CRET-from-file\n", "good.txt": "fine-from-file\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "c.yaml")
	text := "locations: [{id: main}]\nchannels:\n  - name: t\n    kind: testkind\n    locations: [main]\n" + block
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestKindBlockSecrets(t *testing.T) {
	withTestKind(t)
	cfg, err := parseTestKind(t, "    testkind:\n      phrase_file: good.txt\n      phrases_file: [phrase.txt, good.txt]\n      word_file: good.txt\n      size: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Channels[0].Settings.(*testKind)
	if k.Phrase.Value() != "fine-from-file" || len(k.Phrases) != 2 || k.Phrases[0].Value() != "S3CRET-from-file" || k.Host != "https://default.example" {
		t.Fatalf("settings %+v", k)
	}
	if k.Word.Value() != "fine-from-file" || k.Size != 3 {
		t.Fatalf("inlined settings %+v", k.Inlined)
	}
	// Marshal writes the block, secrets in clear, and it reads back.
	text, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "testkind:") || !strings.Contains(string(text), `phrase: "fine-from-file"`) || !strings.Contains(string(text), `- "S3CRET-from-file"`) {
		t.Fatalf("marshalled:\n%s", text)
	}
	back, err := Parse("back", text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if b := back.Channels[0].Settings.(*testKind); b.Phrases[0].Value() != "S3CRET-from-file" || b.Word.Value() != "fine-from-file" {
		t.Fatal("the secret did not read back")
	}
}

func TestKindBlockSecretProblems(t *testing.T) {
	withTestKind(t)
	tests := []struct {
		name, block string
		want        []string
	}{
		{"secret and its file", "    testkind: {phrase: S3CRET-inline, phrase_file: phrase.txt}\n",
			[]string{"line 6: channels[0].testkind.phrase_file: set phrase or phrase_file, not both",
				"line 6: channels[0].testkind.phrase: (value hidden) is not accepted"}},
		{"secret of the wrong type", "    testkind: {phrase: {v: S3CRET-map}}\n",
			[]string{"line 6: channels[0].testkind.phrase: got a mapping, want a secret (a string)",
				"line 6: channels[0].testkind.phrase: is required"}},
		{"list of secrets given a string", "    testkind: {phrase: ok, phrases: S3CRET-string-not-a-list}\n",
			[]string{"line 6: channels[0].testkind.phrases: a string is not a list (value hidden)"}},
		{"a message quoting a secret", "    testkind: {phrase: S3CRET-quoted-by-validate}\n",
			[]string{"line 6: channels[0].testkind.phrase: (value hidden) is not accepted"}},
		{"a secret file's contents quoted", "    testkind: {phrase_file: phrase.txt, host: http://x}\n",
			[]string{"line 6: channels[0].testkind.host: must be an absolute URL with scheme https, got \"http://x\"",
				"line 6: channels[0].testkind.phrase: (value hidden) is not accepted"}},
		{"unknown key", "    testkind: {phrase: ok, phras: S3CRET-typo}\n",
			[]string{`line 6: channels[0].testkind.phras: unknown key "phras" (known here: host, phrase, phrases, size, word)`}},
		{"inlined secret of the wrong type", "    testkind: {phrase: ok, word: [S3CRET-in-a-list]}\n",
			[]string{"line 6: channels[0].testkind.word: got a list, want a secret (a string)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTestKind(t, tt.block)
			if err == nil {
				t.Fatal("loaded")
			}
			var got []string
			for _, p := range err.(*Error).Problems {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("a secret in:\n%v", err)
			}
		})
	}
}

// TestCheck: a configuration built in code gets the defaults and the
// validation Load gives a file, the kinds' included.
func TestCheck(t *testing.T) {
	withTestKind(t)
	cfg := &Config{
		Locations: []Location{{ID: "main"}},
		Channels:  []Channel{{Name: "t", Kind: "testkind", Locations: []string{"main"}}},
	}
	err := cfg.Check()
	if err == nil || err.Error() != "config: 1 problem(s)\n  channels[0].testkind.phrase: is required" {
		t.Fatalf("Check = %v", err)
	}
	if k := cfg.Channels[0].Settings.(*testKind); k.Host != "https://default.example" || cfg.Channels[0].Timeout != DefaultChannelTimeout {
		t.Fatalf("defaults not applied: %+v %v", k, cfg.Channels[0].Timeout)
	}
	cfg.Channels[0].Settings = &testKind{Phrase: NewSecret("S3CRET-code")}
	if err := cfg.Check(); err == nil || strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("Check = %v, want the problem without the secret", err)
	}
	cfg.Channels[0].Settings = &testKind{Phrase: NewSecret("fine")}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterKindRefuses(t *testing.T) {
	good := func() KindSettings { return &testKind{} }
	for name, f := range map[string]func(){
		"empty":             func() { RegisterKind("", good) },
		"upper case":        func() { RegisterKind("Shop", good) },
		"a channel's key":   func() { RegisterKind("webhook", good) },
		"no settings":       func() { RegisterKind("x", nil) },
		"not a struct ptr":  func() { RegisterKind("x", func() KindSettings { return nil }) },
		"registered before": func() { withTestKind(t); RegisterKind("testkind", good) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: RegisterKind did not panic", name)
				}
			}()
			f()
		}()
	}
	if NewSettings("x") != nil {
		t.Fatal("a refused kind was registered")
	}
}
