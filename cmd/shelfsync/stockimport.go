package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/inventory/stockimport"
)

// stockImport is `shelfsync stock import FILE.csv`: opening stock as
// versioned absolute counts, the whole file checked first.
func stockImport(ctx context.Context, c *stockCmd, args []string) int {
	version := c.fs.Int64("version", 0, "version of rows without one (default: now, unix ms); give versions to make a re-run a no-op")
	reason := c.fs.String("reason", "opening stock", "why, for the journal")
	dryRun := c.fs.Bool("dry-run", false, "check the file only; write nothing")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	switch {
	case len(pos) != 1:
		return c.usageErr("want one FILE.csv, got %d arguments", len(pos))
	case c.config == "":
		return c.usageErr("--config is required (the known locations come from it)")
	case *version < 0:
		return c.usageErr("--version must not be negative")
	}
	cfg, code := loadConfig(c.config, c.stderr)
	if cfg == nil {
		return code
	}
	if *version == 0 {
		*version = time.Now().UnixMilli()
	}
	locs := map[string]bool{}
	for _, l := range cfg.Locations {
		locs[l.ID] = true
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
		return 2
	}
	defer f.Close()
	counts, err := stockimport.ParseCSV(f, stockimport.Options{Locations: locs, Version: *version, Reason: *reason})
	var perr *stockimport.Error
	if errors.As(err, &perr) {
		fmt.Fprintf(c.stderr, "%s: %s: %v\n", c.fs.Name(), pos[0], perr)
		return 2
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %s: %v\n", c.fs.Name(), pos[0], err)
		return 1
	}
	if *dryRun {
		fmt.Fprintf(c.stdout, "%s: %d counts, no problems (dry run: nothing written)\n", pos[0], len(counts))
		return 0
	}
	return c.applyImport(ctx, pos[0], counts)
}

func (c *stockCmd) applyImport(ctx context.Context, name string, counts []stockimport.Count) int {
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	start := time.Now()
	sum, err := stockimport.Apply(ctx, c.ledger, counts, 0, 0, nil)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v (%d of %d counts done; run it again to complete: applied rows are skipped)\n", c.fs.Name(), err, sum.Applied+sum.Stale+len(sum.Failed), sum.Rows)
		return 1
	}
	if c.json {
		return c.printJSON(sum)
	}
	fmt.Fprintf(c.stdout, "%s: %d counts: %d applied, %d unchanged (an equal or newer version was recorded), %d refused, in %s\n",
		name, sum.Rows, sum.Applied, sum.Stale, len(sum.Failed), time.Since(start).Round(time.Millisecond))
	if len(sum.Failed) > 0 {
		fmt.Fprintf(c.stderr, "%s: refused (out of range): %s\n", c.fs.Name(), strings.Join(sum.Failed, ", "))
		return 1
	}
	return 0
}
