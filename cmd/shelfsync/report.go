package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/shelfsync/shelfsync/config"
	reports "github.com/shelfsync/shelfsync/inventory/report"
)

func init() {
	commands["report"] = command{
		summary: "sales and stock reports from the ledger: sales, stock",
		run:     runReport,
	}
}

const reportUsage = `usage: shelfsync report <sales|stock> [flags]

  report sales [--since 7d] [--by channel|sku|day] [--format table|csv|json]
        units and orders, cancels and returns, from the ledger's journal;
        --since: ` + reports.PeriodHelp + `
  report stock [--format csv|table|json]
        every SKU at every location: on hand, reserved, available, reorder
        point and quantity, units sold and days of cover (7 and 28 days)

Both take --config FILE (Redis settings and key prefix from the config), or
--redis ADDR and --prefix P. Exit status: 0 ok, 1 failure (Redis down),
2 bad usage (an unparseable period, an unknown grouping or format).
`

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, reportUsage)
		return 2
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, reportUsage)
		return 0
	}
	run, ok := map[string]func(context.Context, *stockCmd, []string) int{"sales": reportSales, "stock": reportStock}[sub]
	if !ok {
		fmt.Fprintf(stderr, "report: unknown subcommand %q\n\n%s", sub, reportUsage)
		return 2
	}
	c := &stockCmd{fs: flag.NewFlagSet("report "+sub, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	c.fs.StringVar(&c.config, "config", "", "config file (Redis settings, key prefix)")
	c.fs.StringVar(&c.addr, "redis", "", "Redis address host:port or redis:// URL (default "+config.DefaultRedisAddr+" without --config)")
	c.fs.StringVar(&c.prefix, "prefix", "", "key prefix (default the config's, or "+config.DefaultKeyPrefix+")")
	return run(ctx, c, args[1:])
}

func reportSales(ctx context.Context, c *stockCmd, args []string) int {
	since := c.fs.String("since", "7d", "the window: "+reports.PeriodHelp)
	by := c.fs.String("by", "channel", "rows per channel, sku or day (UTC)")
	format := c.fs.String("format", "table", "table, csv or json")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("no arguments expected, got %d", len(pos))
	}
	now := time.Now().UTC()
	from, err := reports.ParsePeriod(*since, now)
	if err != nil {
		return c.usageErr("%v", err)
	}
	g, err := reports.ParseGrouping(*by)
	if err != nil {
		return c.usageErr("%v", err)
	}
	f, err := reports.ParseFormat(*format, reports.Table)
	if err != nil {
		return c.usageErr("%v", err)
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	s, err := reports.SalesReport(ctx, c.ledger, from, now, g)
	if err != nil {
		return c.fail(err)
	}
	if err := reports.WriteSales(c.stdout, s, f); err != nil {
		return c.fail(err)
	}
	return 0
}

func reportStock(ctx context.Context, c *stockCmd, args []string) int {
	format := c.fs.String("format", "csv", "csv, table or json")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if len(pos) != 0 {
		return c.usageErr("no arguments expected, got %d", len(pos))
	}
	f, err := reports.ParseFormat(*format, reports.CSV)
	if err != nil {
		return c.usageErr("%v", err)
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	rows, err := reports.StockReport(ctx, c.ledger, time.Now().UTC())
	if err != nil {
		return c.fail(err)
	}
	if err := reports.WriteStock(c.stdout, rows, f); err != nil {
		return c.fail(err)
	}
	return 0
}
