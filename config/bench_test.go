package config

import (
	"os"
	"testing"
)

// BenchmarkLoadAll loads the biggest example: every kind, every section,
// secrets from files. Start-up cost only; nothing on a hot path.
func BenchmarkLoadAll(b *testing.B) {
	if _, err := os.Stat("../deploy/examples/all.yaml"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load("../deploy/examples/all.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}
