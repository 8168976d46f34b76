package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and it
// returns either a config or an *Error, never both and never neither.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../deploy/examples/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("channels: [{name: a, kind: shopify, allocation: {percent: .nan}}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("redis: {addr: ${X}${Y}, password_file: ''}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("cfg %v with err %v", cfg, err)
		}
		var cerr *Error
		if err != nil && !errors.As(err, &cerr) {
			t.Fatalf("error %T is not *config.Error: %v", err, err)
		}
	})
}
