package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/shelfsync/shelfsync/sync/server"
)

// Set at link time by the Makefile and the Dockerfile:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.revision=$(git rev-parse HEAD)"
//
// Without them the module version and VCS stamp of the build are used.
var (
	version  = ""
	revision = ""
)

func init() {
	commands["version"] = command{
		summary: "print the version, revision and Go version",
		run: func(_ context.Context, _ []string, stdout, _ io.Writer) int {
			b := buildInfo()
			fmt.Fprintf(stdout, "shelfsync %s\nrevision  %s\ngo        %s\n", b.Version, b.Revision, b.GoVersion)
			return 0
		},
	}
}

// buildInfo is what this binary is: -ldflags values first, then what the
// Go toolchain stamped into it, then "dev"/"unknown".
func buildInfo() server.BuildInfo {
	b := server.BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && b.Revision == "" {
				b.Revision = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}
