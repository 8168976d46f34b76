package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

func init() {
	commands["catalog"] = command{
		summary: "SKU mappings and kits: import, export, get, history, delete",
		run:     runCatalog,
	}
}

const catalogUsage = `usage: shelfsync catalog <import|export|get|history|delete> [flags]

  catalog import FILE [--dry-run] [--replace]
                                      mappings and kits from a CSV (.csv) or YAML file;
                                      the whole file is checked first and nothing is
                                      applied if any row is bad (each problem names its line);
                                      changing an existing mapping or kit needs --replace
                                      (order lines booked under the old one stay there)
  catalog export [--format yaml|csv]  the whole catalog, as import reads it
  catalog get SKU                     what the catalog knows of a SKU, kit or listing id
  catalog history [-n 20]             the newest catalog changes
  catalog delete mapping CHANNEL LISTING [--force]
                                      removes a mapping: the listing stands for the SKU or
                                      kit of its own name again; refused when it would then
                                      stand for nothing (--force: the channel no longer lists it)
  catalog delete kit SKU              removes a kit; refused while listings are mapped to it

CSV header: kind,channel,listing,sku,component,quantity
  mapping,shop,6-PACK,A,,6     the listing 6-PACK on shop is 6 units of A (empty quantity: 1)
  kit,,,KIT-1,A,2              the kit KIT-1 takes 2 A (one row per component)

Every subcommand takes --config FILE (Redis settings and key prefix; import
then also refuses channels the config does not name), or --redis ADDR and
--prefix P, and --json for machine output. A running daemon applies a
change within about two seconds (parked order lines of a newly mapped
listing, and the pushes it moves). Exit status: 0 ok, 1 failure (Redis
down, unknown SKU), 2 bad usage or a bad file, 3 a delete refused (it
would orphan something, or no such mapping or kit).
`

// catalogCmd is one catalog subcommand's flags and, once connected, the
// ledger and the catalog.
type catalogCmd struct {
	stockCmd
	cat      *catalog.Catalog
	channels []string // the config's channels; nil without --config
}

func runCatalog(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, catalogUsage)
		return 2
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, catalogUsage)
		return 0
	}
	run, ok := map[string]func(context.Context, *catalogCmd, []string) int{
		"import": catalogImport, "export": catalogExport, "get": catalogGet, "history": catalogHistory,
		"delete": catalogDelete,
	}[sub]
	if !ok {
		fmt.Fprintf(stderr, "catalog: unknown subcommand %q\n\n%s", sub, catalogUsage)
		return 2
	}
	c := &catalogCmd{stockCmd: stockCmd{fs: flag.NewFlagSet("catalog "+sub, flag.ContinueOnError), stdout: stdout, stderr: stderr}}
	c.fs.SetOutput(stderr)
	c.fs.StringVar(&c.config, "config", "", "config file (Redis settings, key prefix, channels)")
	c.fs.StringVar(&c.addr, "redis", "", "Redis address host:port or redis:// URL (default "+config.DefaultRedisAddr+" without --config)")
	c.fs.StringVar(&c.prefix, "prefix", "", "key prefix (default the config's, or "+config.DefaultKeyPrefix+")")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return run(ctx, c, args[1:])
}

// open connects to the configured Redis and checks that it answers.
func (c *catalogCmd) open(ctx context.Context) int {
	rc := config.Default().Redis
	if c.config != "" {
		cfg, code := loadConfig(c.config, c.stderr)
		if cfg == nil {
			return code
		}
		rc = cfg.Redis
		c.channels = []string{}
		for _, ch := range cfg.Channels {
			c.channels = append(c.channels, ch.Name)
		}
	}
	prefix, code := c.dial(ctx, rc)
	if code != 0 {
		return code
	}
	c.ledger = inventory.New(c.rdb, inventory.Options{Prefix: prefix})
	c.cat = catalog.New(c.rdb, prefix)
	return 0
}

func catalogImport(ctx context.Context, c *catalogCmd, args []string) int {
	dry := c.fs.Bool("dry-run", false, "check the file, apply nothing")
	replace := c.fs.Bool("replace", false, "allow changing what an existing mapping or kit stands for")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr("exactly one FILE is required, got %d arguments", len(pos))
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
		return 2
	}
	plan, probs := catalog.ParseFile(pos[0], data)
	if len(probs) > 0 {
		return c.problems(pos[0], probs)
	}
	plan.Replace = *replace
	if code := c.open(ctx); code != 0 {
		return code
	}
	defer c.close()
	if probs, err = c.cat.Check(ctx, plan, c.ledger, c.channels); err != nil {
		return c.fail(err)
	} else if len(probs) > 0 {
		return c.problems(pos[0], probs)
	}
	if *dry {
		fmt.Fprintf(c.stdout, "ok: %d mappings, %d kits checked; nothing applied (--dry-run)\n", len(plan.Mappings), len(plan.Kits))
		return 0
	}
	res, err := c.cat.Apply(ctx, plan, "import "+pos[0])
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "ok: %d changed, %d unchanged (%d mappings, %d kits)\n", res.Changed, res.Unchanged, len(plan.Mappings), len(plan.Kits))
	return 0
}

// problems prints every problem of a file, each with its line, and
// returns 2: nothing was applied.
func (c *catalogCmd) problems(file string, probs []catalog.Problem) int {
	if c.json {
		msgs := make([]map[string]any, len(probs))
		for i, p := range probs {
			msgs[i] = map[string]any{"line": p.Line, "error": p.Msg}
		}
		c.printJSON(map[string]any{"file": file, "problems": msgs})
		return 2
	}
	for _, p := range probs {
		fmt.Fprintf(c.stderr, "%s: %s\n", file, p.Error())
	}
	fmt.Fprintf(c.stderr, "%s: %d problems; nothing applied\n", file, len(probs))
	return 2
}

func catalogExport(ctx context.Context, c *catalogCmd, args []string) int {
	format := c.fs.String("format", "yaml", "yaml or csv")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("no arguments expected, got %d", len(pos))
	}
	if *format != "yaml" && *format != "csv" {
		return c.usageErr("--format must be yaml or csv, got %q", *format)
	}
	if code := c.open(ctx); code != 0 {
		return code
	}
	defer c.close()
	plan, err := c.cat.Export(ctx)
	if err != nil {
		return c.fail(err)
	}
	switch {
	case c.json:
		return c.printJSON(plan)
	case *format == "csv":
		err = catalog.EncodeCSV(c.stdout, plan)
	default:
		err = catalog.EncodeYAML(c.stdout, plan)
	}
	if err != nil {
		return c.fail(err)
	}
	return 0
}

func catalogGet(ctx context.Context, c *catalogCmd, args []string) int {
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(&c.stockCmd, pos)
	if !ok {
		return code
	}
	if code := c.open(ctx); code != 0 {
		return code
	}
	defer c.close()
	e, err := c.cat.Entry(ctx, sku)
	if err != nil {
		return c.fail(err)
	}
	_, err = c.ledger.Stock(ctx, sku)
	inLedger := err == nil
	if err != nil && !errors.Is(err, inventory.ErrUnknownSKU) {
		return c.fail(err)
	}
	if c.json {
		return c.printJSON(struct {
			catalog.Entry
			InLedger bool `json:"in_ledger"`
		}{e, inLedger})
	}
	if e.Empty() && !inLedger {
		fmt.Fprintf(c.stderr, "%s: %s: unknown to the catalog and the ledger\n", c.fs.Name(), sku)
		return 1
	}
	printEntry(c.stdout, e, inLedger)
	return 0
}

// printEntry prints what the catalog knows of a name as a table.
func printEntry(w io.Writer, e catalog.Entry, inLedger bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	what := "not in the ledger"
	switch {
	case e.IsKit():
		what = "kit (holds no stock)"
	case inLedger:
		what = "ledger SKU"
	}
	fmt.Fprintf(tw, "%s\t%s\n", e.Name, what)
	for _, cp := range e.Components {
		fmt.Fprintf(tw, "  component\t%s\t× %d\n", cp.SKU, cp.Quantity)
	}
	for _, l := range e.Listings {
		fmt.Fprintf(tw, "  listing\t%s/%s\t%d per unit sold\n", l.Channel, l.ID, l.Multiplier)
	}
	chans := make([]string, 0, len(e.MappedOn))
	for ch := range e.MappedOn {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	for _, ch := range chans {
		t := e.MappedOn[ch]
		fmt.Fprintf(tw, "  on %s it means\t%s\t× %d\n", ch, t.SKU, t.Multiplier)
	}
	kits := make([]string, 0, len(e.Kits))
	for k := range e.Kits {
		kits = append(kits, k)
	}
	sort.Strings(kits)
	for _, k := range kits {
		fmt.Fprintf(tw, "  in kit\t%s\t× %d\n", k, e.Kits[k])
	}
}

func catalogHistory(ctx context.Context, c *catalogCmd, args []string) int {
	n := c.fs.Int64("n", 20, "how many changes, newest first")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 0 || *n <= 0 {
		return c.usageErr("usage: catalog history [-n N], N > 0")
	}
	if code := c.open(ctx); code != 0 {
		return code
	}
	defer c.close()
	h, err := c.cat.History(ctx, *n)
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		return c.printJSON(h)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "time\top\tname\tbefore\tafter\tsource")
	for _, e := range h {
		before := e.Before
		if before == "" {
			before = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Op, e.Name, before, e.After, strings.TrimSpace(e.Source))
	}
	return 0
}

// catalogDelete removes one mapping or kit; exit 3 when refused.
func catalogDelete(ctx context.Context, c *catalogCmd, args []string) int {
	force := c.fs.Bool("force", false, "delete a mapping even if its listing then stands for nothing")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	var do func() (any, error)
	switch {
	case len(pos) == 3 && pos[0] == "mapping":
		do = func() (any, error) {
			return c.cat.DeleteMapping(ctx, c.ledger, pos[1], pos[2], *force, "cli")
		}
	case len(pos) == 2 && pos[0] == "kit" && !*force:
		do = func() (any, error) { return c.cat.DeleteKit(ctx, pos[1], "cli") }
	default:
		return c.usageErr("usage: catalog delete mapping CHANNEL LISTING [--force] | catalog delete kit SKU")
	}
	if code := c.open(ctx); code != 0 {
		return code
	}
	defer c.close()
	gone, err := do()
	switch {
	case errors.Is(err, catalog.ErrWouldOrphan), errors.Is(err, catalog.ErrNotFound), errors.Is(err, catalog.ErrBusy):
		fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
		return 3
	case err != nil:
		return c.fail(err)
	case c.json:
		return c.printJSON(map[string]any{"deleted": gone})
	}
	fmt.Fprintf(c.stdout, "deleted: %s\n", describeDeleted(gone))
	return 0
}

func describeDeleted(v any) string {
	switch d := v.(type) {
	case catalog.Mapping:
		return fmt.Sprintf("mapping %s/%s (was %d x %s)", d.Channel, d.Listing, d.Multiplier, d.SKU)
	case catalog.Kit:
		parts := make([]string, len(d.Components))
		for i, cp := range d.Components {
			parts[i] = fmt.Sprintf("%d x %s", cp.Quantity, cp.SKU)
		}
		return fmt.Sprintf("kit %s (was %s)", d.SKU, strings.Join(parts, " + "))
	}
	return fmt.Sprint(v)
}
