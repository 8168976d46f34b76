package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

func init() {
	commands["validate"] = command{
		summary: "check a config file and print every problem",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return validate(ctx, args, stdout, stderr, connectors.New)
		},
	}
}

// validate loads the config and builds every channel's connector without
// network I/O (a fresh registry, in-memory caches, no Redis), so problems
// only a connector understands show too. Exit 2 on any problem; warnings
// (config.Config.Warnings) go to stderr and exit 0.
func validate(_ context.Context, args []string, stdout, stderr io.Writer, newConnector connectorFactory) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file to check (required)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "validate: --config is required")
		fs.Usage()
		return 2
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	b := newDepsBuilder(cfg, zerolog.Nop(), prometheus.NewRegistry(), nil)
	if _, errs := buildChannels(cfg, b, newConnector); len(errs) > 0 {
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", *path, len(errs))
		for _, err := range errs {
			fmt.Fprintf(stderr, "  %v\n", err)
		}
		return 2
	}
	printWarnings(stderr, cfg)
	fmt.Fprintf(stdout, "ok: %d channels\n", len(cfg.Channels))
	return 0
}

// printWarnings prints what the config allows but is likely a mistake
// (config.Config.Warnings); it fails nothing.
func printWarnings(w io.Writer, cfg *config.Config) {
	for _, p := range cfg.Warnings() {
		fmt.Fprintf(w, "warning: %v\n", p)
	}
}

// loadConfig loads path; on failure it prints every problem and returns a
// nil config with exit code 2.
func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	cfg, err := config.Load(path)
	if err != nil {
		var cerr *config.Error
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr.Error())
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
		}
		return nil, 2
	}
	return cfg, 0
}

// parseFlags parses args; done reports that the command should return code
// at once (-h: 0, a bad flag or a stray argument: 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}
