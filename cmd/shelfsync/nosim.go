//go:build nosim

package main

import (
	"context"
	"fmt"
	"io"
)

// A production build (go build -tags nosim: `make build`, the Docker image)
// links no simulator: no fake marketplaces, no embedded Redis, no order
// generator. The simulator's commands say where they are instead.
func init() {
	for _, name := range []string{"demo", "fakes", "loadgen"} {
		commands[name] = command{summary: "(not in this build: built with -tags nosim)", run: simAbsent(name)}
	}
}

func simAbsent(name string) func(context.Context, []string, io.Writer, io.Writer) int {
	return func(_ context.Context, _ []string, _, stderr io.Writer) int {
		fmt.Fprintf(stderr, "shelfsync: %s is not in this build (built with -tags nosim, without the simulator); "+
			"from the source: go run ./cmd/shelfsync %s\n", name, name)
		return 2
	}
}
