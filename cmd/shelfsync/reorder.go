package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory"
)

const reorderUsage = `usage: shelfsync stock reorder <import|set|get|default> [flags]

  stock reorder import FILE.csv --config F   reorder points from a file: header
                     sku,location,reorder_point[,reorder_qty]; every row is
                     checked first (numbers, the config's locations, known
                     SKUs) and nothing is applied if any is bad
  stock reorder set SKU --location L --point N [--qty Q]  one location's point
  stock reorder set SKU --location L --remove              remove it
  stock reorder get SKU [-n 10]              the SKU's points, state and changes
  stock reorder default <set|rm|list|import>  default points per location
                     (shelfsync stock reorder default -h)

A SKU's signals compare its available stock summed over its locations with
the sum of its locations' points (its own, else the location's default).
`

func stockReorder(ctx context.Context, c *stockCmd, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, reorderUsage)
		return 2
	}
	run, ok := map[string]func(context.Context, *stockCmd, []string) int{
		"import": reorderImport, "set": reorderSet, "get": reorderGet, "default": reorderDefault,
	}[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "stock reorder: unknown subcommand %q\n\n%s", args[0], reorderUsage)
		return 2
	}
	c.fs.Init("stock reorder "+args[0], c.fs.ErrorHandling())
	return run(ctx, c, args[1:])
}

func reorderImport(ctx context.Context, c *stockCmd, args []string) int {
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("exactly one file is required")
	}
	if c.config == "" {
		return c.usageErr("--config is required: the locations come from it")
	}
	cfg, code := loadConfig(c.config, c.stderr)
	if cfg == nil {
		return code
	}
	locs := locationIDs(cfg)
	f, err := os.Open(pos[0])
	if err != nil {
		return c.usageErr("%v", err)
	}
	defer f.Close()
	rows, errs := inventory.ParseReorderCSV(f, locs)
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	if len(errs) == 0 {
		unknown, err := c.ledger.UnknownReorderSKUs(ctx, rows)
		if err != nil {
			return c.fail(err)
		}
		errs = unknown
	}
	if len(errs) > 0 {
		return c.badRows(pos[0], errs)
	}
	for _, r := range rows {
		if _, err := c.ledger.SetReorder(ctx, r, "import:"+pos[0]); err != nil {
			return c.fail(fmt.Errorf("line %d: %w", r.Line, err))
		}
	}
	fmt.Fprintf(c.stdout, "%d reorder points applied\n", len(rows))
	return 0
}

// optionalQty reads a --qty flag: "" is none; bad is true when it is not
// a whole number.
func optionalQty(s string) (q *int64, bad bool) {
	if s == "" {
		return nil, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, true
	}
	return &n, false
}

// badRows reports the bad rows of a reorder file and that nothing was
// applied; it returns the exit code, 1.
func (c *stockCmd) badRows(file string, errs []inventory.ReorderLineError) int {
	for _, e := range errs {
		fmt.Fprintf(c.stderr, "%s: %s\n", file, e.Error())
	}
	fmt.Fprintf(c.stderr, "%s: %d bad rows; nothing applied\n", c.fs.Name(), len(errs))
	return 1
}

func reorderSet(ctx context.Context, c *stockCmd, args []string) int {
	loc := c.fs.String("location", "", "location id")
	point := c.fs.Int64("point", -1, "reorder point (>= 0)")
	qty := c.fs.String("qty", "", "reorder quantity (optional)")
	remove := c.fs.Bool("remove", false, "remove the location's reorder point")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(c, pos)
	if !ok {
		return code
	}
	if *remove == (*point >= 0) {
		return c.usageErr("give either --point N (N >= 0) or --remove")
	}
	r := inventory.Reorder{SKU: sku, Location: *loc, Point: *point}
	var bad bool
	if r.Qty, bad = optionalQty(*qty); bad {
		return c.usageErr("--qty %q is not a whole number", *qty)
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	var err error
	if *remove {
		_, err = c.ledger.RemoveReorder(ctx, sku, *loc, "cli")
	} else {
		_, err = c.ledger.SetReorder(ctx, r, "cli")
	}
	if err != nil {
		return c.fail(err)
	}
	return reorderShow(ctx, c, sku, 0)
}

func reorderGet(ctx context.Context, c *stockCmd, args []string) int {
	n := c.fs.Int64("n", 10, "how many of the newest changes to show")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(c, pos)
	if !ok {
		return code
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	return reorderShow(ctx, c, sku, *n)
}

// reorderShow prints a SKU's reorder setting and, if n > 0, its newest
// changes.
func reorderShow(ctx context.Context, c *stockCmd, sku string, n int64) int {
	s, ok, err := c.ledger.ReorderOf(ctx, sku)
	if err != nil {
		return c.fail(err)
	}
	var hist []inventory.ReorderChange
	if n > 0 {
		if hist, err = c.ledger.ReorderHistory(ctx, sku, n); err != nil {
			return c.fail(err)
		}
	}
	eff, effOK, err := c.ledger.EffectiveReorderOf(ctx, sku)
	if err != nil && !errors.Is(err, inventory.ErrUnknownSKU) {
		return c.fail(err)
	}
	if c.json {
		var e *inventory.ReorderSetting
		if effOK {
			e = &eff
		}
		return c.printJSON(struct {
			inventory.ReorderSetting
			Set       bool                      `json:"set"`
			Effective *inventory.ReorderSetting `json:"effective,omitempty"`
			Changes   []inventory.ReorderChange `json:"changes,omitempty"`
		}{s, ok, e, hist})
	}
	switch {
	case effOK && !ok:
		fmt.Fprintf(c.stdout, "%s: no reorder point of its own; by default reorder points %d%s, state %s\n", sku, eff.Point, qtyText(eff.Qty), stateText(eff.State))
	case effOK && eff.Point != s.Point:
		fmt.Fprintf(c.stdout, "%s: reorder point %d%s with default reorder points (its own %d), state %s\n", sku, eff.Point, qtyText(eff.Qty), s.Point, stateText(s.State))
	case !ok:
		fmt.Fprintf(c.stdout, "%s: no reorder point\n", sku)
	default:
		fmt.Fprintf(c.stdout, "%s: reorder point %d%s, state %s\n", sku, s.Point, qtyText(s.Qty), stateText(s.State))
	}
	locs := s.Locations
	if effOK {
		locs = eff.Locations
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, r := range locs {
		from := ""
		if r.Default != "" {
			from = fmt.Sprintf(" (default of %s)", r.Default)
		}
		fmt.Fprintf(tw, "  %s\tpoint %d%s%s\n", r.Location, r.Point, qtyText(r.Qty), from)
	}
	for _, h := range hist {
		fmt.Fprintf(tw, "  %s\t%s\t%q -> %q\t%s\n", h.Time.UTC().Format("2006-01-02T15:04:05Z"), h.Location, h.Old, h.New, h.Source)
	}
	_ = tw.Flush()
	return 0
}

func qtyText(q *int64) string {
	if q == nil {
		return ""
	}
	return fmt.Sprintf(", reorder qty %d", *q)
}

func stateText(s string) string {
	if s == "" {
		return "above the point"
	}
	return s
}

// locationIDs are the config's location ids (reorder points are accepted
// only at those).
func locationIDs(cfg *config.Config) []string {
	out := make([]string, len(cfg.Locations))
	for i, l := range cfg.Locations {
		out[i] = l.ID
	}
	return out
}

// stockLow lists the SKUs at or below their reorder point with days of
// cover from the last 7 and 28 days of sales (inventory.LowSKU).
func stockLow(ctx context.Context, c *stockCmd, args []string) int {
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
	rows, err := c.ledger.BelowReorder(ctx)
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		return c.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, "no SKU is at or below its reorder point")
		return 0
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SKU\tSTATE\tAVAILABLE\tREORDER POINT\tREORDER QTY\tSOLD 7D\tSOLD 28D\tCOVER 7D\tCOVER 28D")
	for _, r := range rows {
		q := "-"
		if r.ReorderQty != nil {
			q = strconv.FormatInt(*r.ReorderQty, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\n", r.SKU, r.State, r.Available, r.ReorderPoint, q, r.Sold7, r.Sold28, days(r.Cover7), days(r.Cover28))
	}
	_ = tw.Flush()
	return 0
}

// days prints days of cover ("-" when nothing sold).
func days(d *float64) string {
	if d == nil {
		return "-"
	}
	return strconv.FormatFloat(*d, 'f', 1, 64) + "d"
}
