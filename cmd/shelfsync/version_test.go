package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	version, revision = "v9.9.9", "0123abcd"
	defer func() { version, revision = "", "" }()
	var out bytes.Buffer
	if code := dispatch(context.Background(), []string{"version"}, &out, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	want := "shelfsync v9.9.9\nrevision  0123abcd\ngo        " + runtime.Version() + "\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestBuildInfoFallbacks(t *testing.T) {
	version, revision = "", ""
	b := buildInfo()
	// A test binary has no module version and (with -buildvcs=false) no
	// VCS stamp: the fallbacks show.
	if b.Version == "" || b.Revision == "" || !strings.HasPrefix(b.GoVersion, "go") {
		t.Fatalf("%+v", b)
	}
}
