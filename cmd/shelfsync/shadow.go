package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/shadow"
	"github.com/shelfsync/shelfsync/sync/store"
)

func init() {
	commands["shadow"] = command{
		summary: "shadow report: what shadow mode would have pushed against what each channel shows now",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return shadowCmd(ctx, args, stdout, stderr, connectors.New)
		},
	}
}

const shadowUsage = `usage: shelfsync shadow report --config FILE [--channel NAME] [--json]

Lists, per channel (or the one named), each listing's last would-be push
recorded in shadow mode (sync.mode: shadow or channels[].sync_mode) and
what the channel shows now, read through its connector (read-only). A line
marked * differs. Exit status: 0 ok, 1 Redis or a channel failed, 2 bad usage.
`

// shadowCmd is `shelfsync shadow report`.
func shadowCmd(ctx context.Context, args []string, stdout, stderr io.Writer, newConnector connectorFactory) int {
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprint(stderr, shadowUsage)
		return 2
	}
	fs := flag.NewFlagSet("shadow report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (required)")
	only := fs.String("channel", "", "report this channel only")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound of the whole report")
	if code, done := parseFlags(fs, args[1:]); done {
		return code
	}
	if *path == "" {
		fmt.Fprintln(stderr, "shadow report: --config is required")
		return 2
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		fmt.Fprintf(stderr, "shadow report: %v\n", err)
		return 2
	}
	defer rdb.Close()
	chans, errs := buildChannels(cfg, newDepsBuilder(cfg, zerolog.Nop(), prometheus.NewRegistry(), rdb), newConnector)
	for _, err := range errs {
		fmt.Fprintf(stderr, "shadow report: %v\n", err)
	}
	if len(errs) > 0 {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rec := shadow.New(rdb, cfg.Redis.KeyPrefix, 0)
	var reports []shadow.Report
	for _, ch := range chans {
		if *only != "" && ch.cfg.Name != *only {
			continue
		}
		reader, _ := ch.conn.(connectors.QuantityReader)
		rep, err := rec.Report(ctx, ch.cfg.Name, reader)
		if err != nil {
			fmt.Fprintf(stderr, "shadow report: Redis at %s: %v\n", cfg.Redis.Where(), err)
			return 1
		}
		rep.Mode = cfg.ChannelMode(ch.cfg)
		reports = append(reports, rep)
	}
	if *only != "" && len(reports) == 0 {
		fmt.Fprintf(stderr, "shadow report: no channel %q in %s\n", *only, *path)
		return 2
	}
	return printShadow(stdout, stderr, reports, *asJSON)
}

// printShadow prints the reports; 1 when a channel could not be read.
func printShadow(stdout, stderr io.Writer, reports []shadow.Report, asJSON bool) int {
	code := 0
	for _, r := range reports {
		if r.ReadError != "" {
			code = 1
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			fmt.Fprintf(stderr, "shadow report: %v\n", err)
			return 1
		}
		return code
	}
	for _, r := range reports {
		fmt.Fprint(stdout, r.Text())
	}
	return code
}
