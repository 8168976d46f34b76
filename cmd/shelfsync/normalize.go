package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all" // every kind's normalizer
)

func init() {
	commands["normalize"] = command{
		summary: "print the events in a saved webhook body or API response (debugging aid)",
		run:     normalize,
	}
}

// normalize reads a payload a user saved from a channel and prints the
// events shelfsync makes of it, as a JSON array, without verifying any
// signature and without network I/O. A payload the channel's parser
// recognises but that carries no events (a location list) prints [] and
// says so on stderr. Exit 1 on a payload it can not read, 2 on bad usage.
func normalize(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("normalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("channel", "", "the channel kind the payload comes from: "+fmt.Sprint(connectors.Registered()))
	name := fs.String("name", "", "channel name to label the events with (default: the kind)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shelfsync normalize --channel KIND [--name NAME] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "normalize: exactly one FILE is required")
		fs.Usage()
		return 2
	}
	if !slices.Contains(connectors.Registered(), *kind) {
		fmt.Fprintf(stderr, "normalize: --channel must be one of %v (got %q)\n", connectors.Registered(), *kind)
		return 2
	}
	if *name == "" {
		*name = *kind
	}
	file := fs.Arg(0)
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "normalize: %v\n", err)
		return 1
	}
	events, err := connectors.Normalize(*kind, *name, data)
	switch {
	case errors.Is(err, connectors.ErrIgnored):
		fmt.Fprintf(stderr, "normalize: %s: no events: %v\n", file, err)
		events = nil
	case err != nil:
		fmt.Fprintf(stderr, "normalize: %s is not a %s payload shelfsync can read: %v\n", file, *kind, err)
		return 1
	}
	if len(events) == 0 {
		if err == nil {
			fmt.Fprintf(stderr, "normalize: %s: no events in this payload\n", file)
		}
		events = []connectors.Event{}
	}
	out, err := json.MarshalIndent(events, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "normalize: encoding events: %v\n", err)
		return 1
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", out); err != nil {
		return 1
	}
	return 0
}
