package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
)

const reorderDefaultUsage = `usage: shelfsync stock reorder default <set|rm|list|import> [flags]

  stock reorder default set LOCATION --point N [--qty Q] --config F
                     the default reorder point (and quantity) of a config
                     location, or * for every location without a default of
                     its own; it applies to every SKU at each location it has
                     figures at where it has no point of its own
  stock reorder default rm LOCATION --config F    remove a default
  stock reorder default list [-n 10]              the defaults and their changes
  stock reorder default import FILE.csv --config F
                     defaults from a file: header
                     location,reorder_point[,reorder_qty]; every row is
                     checked first (numbers, the config's locations or *,
                     no location twice) and nothing is applied if any is bad

After a change every SKU is evaluated again, once every running shelfsync
can have it (about 3 s): the command waits and runs that pass itself
(--no-wait leaves it to the daemon's signal sweeper, which runs it too).
`

func reorderDefault(ctx context.Context, c *stockCmd, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, reorderDefaultUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	run, ok := map[string]func(context.Context, *stockCmd, []string) int{
		"set": defaultSet, "rm": defaultRemove, "list": defaultList, "import": defaultImport,
	}[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "stock reorder default: unknown subcommand %q\n\n%s", args[0], reorderDefaultUsage)
		return 2
	}
	c.fs.Init("stock reorder default "+args[0], c.fs.ErrorHandling())
	return run(ctx, c, args[1:])
}

// defaultLocations are the locations a default may be set at: the
// config's and "*".
func (c *stockCmd) defaultLocations() ([]string, int) {
	if c.config == "" {
		return nil, c.usageErr("--config is required: the locations come from it")
	}
	cfg, code := loadConfig(c.config, c.stderr)
	if cfg == nil {
		return nil, code
	}
	return locationIDs(cfg), 0
}

func oneDefaultLocation(c *stockCmd, pos []string) (string, int, bool) {
	if len(pos) != 1 {
		return "", c.usageErr("exactly one location (or * for every location) is required"), false
	}
	locs, code := c.defaultLocations()
	if locs == nil {
		return "", code, false
	}
	if pos[0] != inventory.AllLocations && !slices.Contains(locs, pos[0]) {
		fmt.Fprintf(c.stderr, "%s: location: unknown location %q (the config's locations: %v, or %q for every location); nothing applied\n", c.fs.Name(), pos[0], locs, inventory.AllLocations)
		return "", 1, false
	}
	return pos[0], 0, true
}

func defaultSet(ctx context.Context, c *stockCmd, args []string) int {
	point := c.fs.String("point", "", "default reorder point (>= 0)")
	qty := c.fs.String("qty", "", "default reorder quantity (optional)")
	noWait := c.fs.Bool("no-wait", false, "leave the re-evaluation to the daemon")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	loc, code, ok := oneDefaultLocation(c, pos)
	if !ok {
		return code
	}
	if *point == "" {
		return c.usageErr("--point N is required (rm removes a default)")
	}
	d := inventory.ReorderDefault{Location: loc}
	p, err := strconv.ParseInt(*point, 10, 64)
	if err != nil {
		return c.usageErr("--point %q is not a whole number", *point)
	}
	d.Point = p
	var bad bool
	if d.Qty, bad = optionalQty(*qty); bad {
		return c.usageErr("--qty %q is not a whole number", *qty)
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	if _, err := c.ledger.SetReorderDefault(ctx, d, "cli"); err != nil {
		return c.fail(err)
	}
	return c.afterDefaultChange(ctx, *noWait)
}

func defaultRemove(ctx context.Context, c *stockCmd, args []string) int {
	noWait := c.fs.Bool("no-wait", false, "leave the re-evaluation to the daemon")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	loc, code, ok := oneDefaultLocation(c, pos)
	if !ok {
		return code
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	if _, err := c.ledger.RemoveReorderDefault(ctx, loc, "cli"); err != nil {
		return c.fail(err)
	}
	return c.afterDefaultChange(ctx, *noWait)
}

func defaultImport(ctx context.Context, c *stockCmd, args []string) int {
	noWait := c.fs.Bool("no-wait", false, "leave the re-evaluation to the daemon")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("exactly one file is required")
	}
	locs, code := c.defaultLocations()
	if locs == nil {
		return code
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return c.usageErr("%v", err)
	}
	defer f.Close()
	rows, errs := inventory.ParseReorderDefaultsCSV(f, locs)
	if len(errs) > 0 {
		return c.badRows(pos[0], errs)
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	for _, d := range rows {
		if _, err := c.ledger.SetReorderDefault(ctx, d, "import:"+pos[0]); err != nil {
			return c.fail(fmt.Errorf("line %d: %w", d.Line, err))
		}
	}
	fmt.Fprintf(c.stdout, "%d default reorder points applied\n", len(rows))
	return c.afterDefaultChange(ctx, *noWait)
}

// afterDefaultChange waits until the change's re-evaluation is due and
// runs it (unless noWait), then lists the defaults.
func (c *stockCmd) afterDefaultChange(ctx context.Context, noWait bool) int {
	if !noWait {
		d, err := c.ledger.ReorderDefaults(ctx)
		if err != nil {
			return c.fail(err)
		}
		if !d.Due.IsZero() {
			fmt.Fprintf(c.stdout, "waiting %s for every shelfsync to have the change, then evaluating every SKU\n", time.Until(d.Due).Round(100*time.Millisecond))
			select {
			case <-ctx.Done():
				return c.fail(ctx.Err())
			case <-time.After(time.Until(d.Due)):
			}
			ran, n, err := c.ledger.ReevaluateIfDue(ctx)
			if err != nil {
				return c.fail(err)
			}
			if ran {
				fmt.Fprintf(c.stdout, "%d SKUs evaluated\n", n)
			} else {
				fmt.Fprintln(c.stdout, "a running shelfsync's signal sweeper took the re-evaluation")
			}
		}
	}
	return c.showDefaults(ctx, 0)
}

func defaultList(ctx context.Context, c *stockCmd, args []string) int {
	n := c.fs.Int64("n", 10, "how many of the newest changes to show")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("no arguments expected, got %d", len(pos))
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	return c.showDefaults(ctx, *n)
}

// showDefaults prints the defaults and, if n > 0, their newest changes.
func (c *stockCmd) showDefaults(ctx context.Context, n int64) int {
	d, err := c.ledger.ReorderDefaults(ctx)
	if err != nil {
		return c.fail(err)
	}
	var hist []inventory.ReorderChange
	if n > 0 {
		if hist, err = c.ledger.ReorderDefaultHistory(ctx, n); err != nil {
			return c.fail(err)
		}
	}
	if c.json {
		var due *time.Time
		if !d.Due.IsZero() {
			t := d.Due.UTC()
			due = &t
		}
		return c.printJSON(struct {
			Version  int64                      `json:"version"`
			Defaults []inventory.ReorderDefault `json:"defaults"`
			Due      *time.Time                 `json:"reevaluation_due,omitempty"`
			Changes  []inventory.ReorderChange  `json:"changes,omitempty"`
		}{d.Version, d.List(), due, hist})
	}
	list := d.List()
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "no default reorder points")
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, r := range list {
		fmt.Fprintf(tw, "  %s\tdefault point %d%s\n", r.Location, r.Point, qtyText(r.Qty))
	}
	if !d.Due.IsZero() {
		fmt.Fprintf(tw, "  re-evaluation of every SKU due at %s (the daemon's signal sweeper runs it)\n", d.Due.UTC().Format(time.RFC3339))
	}
	for _, h := range hist {
		fmt.Fprintf(tw, "  %s\t%s\t%q -> %q\t%s\n", h.Time.UTC().Format("2006-01-02T15:04:05Z"), h.Location, h.Old, h.New, h.Source)
	}
	_ = tw.Flush()
	return 0
}
