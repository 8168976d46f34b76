package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/store"
)

func init() {
	commands["stock"] = command{
		summary: "read and correct the stock ledger: get, set, adjust, history, verify",
		run:     runStock,
	}
}

const stockUsage = `usage: shelfsync stock <get|set|adjust|history|verify|import> [flags]

  stock get SKU                                        figures at every location
  stock set SKU --location L --on-hand N [--net] [--version V] [--reason R]
                                                       a counted on_hand (WMS count)
  stock adjust SKU --location L --delta N --reason R [--key K]
                                                       a signed correction, once per key
                                                       (a key reused for another request fails)
  stock history SKU [-n 20]                            the newest journal entries
  stock verify [SKU...]                                check figures, order lines and journal
  stock import FILE.csv --config C [--version V] [--reason R] [--dry-run]
                                                       opening stock: header sku,location,on_hand[,version];
                                                       the whole file checked first, nothing written if
                                                       any line is bad; re-run with versions: a no-op
  stock reorder <import|set|get> ...                   reorder points (stock signals; see stock reorder)
  stock low                                            SKUs at or below their reorder point, days of cover

Every subcommand takes --config FILE (Redis settings and key prefix from the
config), or --redis ADDR and --prefix P, and --json for machine output.
Exit status: 0 ok, 1 failure (unknown SKU, Redis down, inconsistencies, a
reused --key), 2 bad usage.
`

// stockCmd is one stock subcommand's shared flags and, once connected, the ledger.
type stockCmd struct {
	fs                   *flag.FlagSet
	config, addr, prefix string
	json                 bool
	stdout, stderr       io.Writer
	ledger               *inventory.Ledger
	rdb                  redis.UniversalClient
}

func runStock(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, stockUsage)
		return 2
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, stockUsage)
		return 0
	}
	run, ok := map[string]func(context.Context, *stockCmd, []string) int{
		"reorder": stockReorder, "low": stockLow, "get": stockGet, "set": stockSet, "adjust": stockAdjust, "history": stockHistory, "verify": stockVerify, "import": stockImport,
	}[sub]
	if !ok {
		fmt.Fprintf(stderr, "stock: unknown subcommand %q\n\n%s", sub, stockUsage)
		return 2
	}
	c := &stockCmd{fs: flag.NewFlagSet("stock "+sub, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	c.fs.StringVar(&c.config, "config", "", "config file (Redis settings, key prefix, ledger tuning)")
	c.fs.StringVar(&c.addr, "redis", "", "Redis address host:port or redis:// URL (default "+config.DefaultRedisAddr+" without --config)")
	c.fs.StringVar(&c.prefix, "prefix", "", "key prefix (default the config's, or "+config.DefaultKeyPrefix+")")
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return run(ctx, c, args[1:])
}

// parse parses flags given before, between or after the positional
// arguments ("stock set SKU --location A"), which flag.Parse alone stops at.
func (c *stockCmd) parse(args []string) (pos []string, code int, done bool) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, true
			}
			return nil, 2, true
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (c *stockCmd) usageErr(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.fs.Name(), fmt.Sprintf(format, a...))
	return 2
}

// connect opens the ledger on the configured Redis and checks that it
// answers, so "Redis down" is one clear message, not an error per SKU.
func (c *stockCmd) connect(ctx context.Context) int {
	rc := config.Default().Redis
	opts := inventory.Options{}
	if c.config != "" {
		cfg, code := loadConfig(c.config, c.stderr)
		if cfg == nil {
			return code
		}
		rc = cfg.Redis
		opts.OperationTTL, opts.LineTTL, opts.JournalMaxLen = cfg.Ledger.OperationTTL, cfg.Ledger.LineTTL, cfg.Ledger.JournalMaxLen
	}
	prefix, code := c.dial(ctx, rc)
	if code != 0 {
		return code
	}
	opts.Prefix = prefix
	c.ledger = inventory.New(c.rdb, opts)
	return 0
}

// dial opens rc (its address and key prefix overridden by --redis and
// --prefix) into c.rdb and checks that it answers; it returns the key
// prefix, or the exit code: 2 for settings go-redis refuses, 1 for a
// Redis that does not answer.
func (c *stockCmd) dial(ctx context.Context, rc config.Redis) (string, int) {
	if c.addr != "" {
		rc.Addr = c.addr
	}
	prefix := rc.KeyPrefix
	if c.prefix != "" {
		prefix = c.prefix
	}
	rdb, err := store.Open(rc)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
		return "", 2
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := store.Ping(pctx, rdb); err != nil {
		_ = rdb.Close()
		fmt.Fprintf(c.stderr, "%s: Redis at %s does not answer: %v\n", c.fs.Name(), rc.Where(), err)
		return "", 1
	}
	c.rdb = rdb
	return prefix, 0
}

func (c *stockCmd) close() {
	if c.rdb != nil {
		_ = c.rdb.Close()
	}
}

// fail prints a ledger error; an invalid input is bad usage (2).
func (c *stockCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
	if errors.Is(err, inventory.ErrInvalid) {
		return 2
	}
	return 1
}

func (c *stockCmd) printJSON(v any) int {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(c.stderr, "%s: %v\n", c.fs.Name(), err)
		return 1
	}
	return 0
}

type levelJSON struct {
	OnHand    int64 `json:"on_hand"`
	Reserved  int64 `json:"reserved"`
	Available int64 `json:"available"`
}

func toLevelJSON(l inventory.Level) levelJSON { return levelJSON{l.OnHand, l.Reserved, l.Available} }

func oneSKU(c *stockCmd, pos []string) (string, int, bool) {
	if len(pos) != 1 {
		return "", c.usageErr("exactly one SKU is required, got %d arguments", len(pos)), false
	}
	if pos[0] == "" {
		return "", c.usageErr("the SKU must not be empty"), false
	}
	return pos[0], 0, true
}

func stockGet(ctx context.Context, c *stockCmd, args []string) int {
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
	st, err := c.ledger.Stock(ctx, sku)
	if err != nil {
		return c.fail(err)
	}
	locs := make([]string, 0, len(st.Locations))
	for l := range st.Locations {
		locs = append(locs, l)
	}
	sort.Strings(locs)
	if c.json {
		out := struct {
			SKU       string               `json:"sku"`
			Locations map[string]levelJSON `json:"locations"`
		}{SKU: sku, Locations: map[string]levelJSON{}}
		for _, l := range locs {
			out.Locations[l] = toLevelJSON(st.Locations[l])
		}
		return c.printJSON(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SKU %s\nLOCATION\tON_HAND\tRESERVED\tAVAILABLE\n", sku)
	var total inventory.Level
	for _, l := range locs {
		lv := st.Locations[l]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", l, lv.OnHand, lv.Reserved, lv.Available)
		total.OnHand += lv.OnHand
		total.Reserved += lv.Reserved
		total.Available += lv.Available
	}
	fmt.Fprintf(tw, "(total)\t%d\t%d\t%d\n", total.OnHand, total.Reserved, total.Available)
	_ = tw.Flush()
	return 0
}

func (c *stockCmd) printResult(sku, loc string, r inventory.DeltaResult, note string) int {
	if c.json {
		return c.printJSON(struct {
			SKU      string `json:"sku"`
			Location string `json:"location"`
			Applied  bool   `json:"applied"`
			levelJSON
		}{sku, loc, r.Applied, levelJSON{r.OnHand, r.Reserved, r.Available}})
	}
	fmt.Fprintf(c.stdout, "%s @ %s: on_hand %d, reserved %d, available %d%s\n", sku, loc, r.OnHand, r.Reserved, r.Available, note)
	return 0
}

func stockSet(ctx context.Context, c *stockCmd, args []string) int {
	loc := c.fs.String("location", "", "location id (required)")
	onHand := c.fs.Int64("on-hand", -1, "the counted units (required, >= 0)")
	net := c.fs.Bool("net", false, "the figure already excludes open reservations")
	version := c.fs.Int64("version", 0, "the count's version; a count older than the recorded one is ignored (default: now, unix ms)")
	reason := c.fs.String("reason", "cli set", "why, for the journal")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(c, pos)
	if !ok {
		return code
	}
	switch {
	case *loc == "":
		return c.usageErr("--location is required")
	case *onHand < 0:
		return c.usageErr("--on-hand is required and must not be negative")
	case *version < 0:
		return c.usageErr("--version must not be negative")
	}
	if *version == 0 {
		*version = time.Now().UnixMilli()
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	r, err := c.ledger.SetCount(ctx, inventory.Count{SKU: sku, Location: *loc, Quantity: *onHand, Version: *version, Net: *net, Reason: *reason})
	if err != nil {
		return c.fail(err)
	}
	note := ""
	if !r.Applied {
		note = fmt.Sprintf(" (not applied: a count with version >= %d is recorded)", *version)
	}
	return c.printResult(sku, *loc, r, note)
}

func stockAdjust(ctx context.Context, c *stockCmd, args []string) int {
	loc := c.fs.String("location", "", "location id (required)")
	delta := c.fs.Int64("delta", 0, "signed change of on_hand (required, not 0)")
	reason := c.fs.String("reason", "", "why (required)")
	key := c.fs.String("key", "", "operation key: the same key again is a no-op (default: a new random key, printed)")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(c, pos)
	if !ok {
		return code
	}
	switch {
	case *loc == "":
		return c.usageErr("--location is required")
	case *delta == 0:
		return c.usageErr("--delta is required and must not be 0")
	case *reason == "":
		return c.usageErr("--reason is required")
	}
	if *key == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		*key = "cli-adjust:" + hex.EncodeToString(b[:])
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	r, err := c.ledger.Adjust(ctx, inventory.Delta{Key: *key, SKU: sku, Location: *loc, Quantity: *delta, Reason: *reason})
	if errors.Is(err, inventory.ErrKeyConflict) {
		fmt.Fprintf(c.stderr, "%s: --key %s was already used for a different request of %s (another delta, location or reason): nothing changed; repeat that request exactly, or use a new --key\n",
			c.fs.Name(), *key, sku)
		return 1
	}
	if err != nil {
		return c.fail(err)
	}
	note := " (key " + *key + ")"
	if !r.Applied {
		note = " (key " + *key + " was already applied: nothing changed)"
	}
	return c.printResult(sku, *loc, r, note)
}

func stockHistory(ctx context.Context, c *stockCmd, args []string) int {
	n := c.fs.Int64("n", 20, "how many of the newest entries")
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	sku, code, ok := oneSKU(c, pos)
	if !ok {
		return code
	}
	if *n <= 0 {
		return c.usageErr("-n must be positive")
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	if _, err := c.ledger.Stock(ctx, sku); err != nil {
		return c.fail(err)
	}
	h, err := c.ledger.History(ctx, sku, *n)
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		type entry struct {
			ID       string    `json:"id"`
			Time     time.Time `json:"time"`
			Op       string    `json:"op"`
			Cause    string    `json:"cause"`
			Ref      string    `json:"ref"`
			Location string    `json:"location"`
			Before   levelJSON `json:"before"`
			After    levelJSON `json:"after"`
		}
		out := make([]entry, len(h))
		for i, e := range h {
			out[i] = entry{e.ID, e.Time, e.Op, e.Cause, e.Ref, e.Location, toLevelJSON(e.Before), toLevelJSON(e.After)}
		}
		return c.printJSON(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tOP\tLOCATION\tON_HAND\tRESERVED\tCAUSE\tREF")
	for _, e := range h {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d -> %d\t%d -> %d\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Op, e.Location,
			e.Before.OnHand, e.After.OnHand, e.Before.Reserved, e.After.Reserved, e.Cause, e.Ref)
	}
	_ = tw.Flush()
	return 0
}

func stockVerify(ctx context.Context, c *stockCmd, args []string) int {
	pos, code, done := c.parse(args)
	if done {
		return code
	}
	if code := c.connect(ctx); code != 0 {
		return code
	}
	defer c.close()
	var skus []string // nil: every SKU
	if len(pos) > 0 {
		skus = pos
	}
	found, err := c.ledger.Verify(ctx, skus)
	if err != nil {
		return c.fail(err)
	}
	if c.json {
		type inc struct {
			SKU      string `json:"sku"`
			Location string `json:"location"`
			What     string `json:"what"`
			Expected string `json:"expected"`
			Actual   string `json:"actual"`
		}
		out := make([]inc, 0, len(found))
		for _, f := range found {
			out = append(out, inc{f.SKU, f.Location, f.What, f.Expected, f.Actual})
		}
		if code := c.printJSON(out); code != 0 {
			return code
		}
	} else if len(found) == 0 {
		fmt.Fprintln(c.stdout, "ok: no inconsistencies")
	} else {
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SKU\tLOCATION\tWHAT\tEXPECTED\tACTUAL")
		for _, f := range found {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.SKU, f.Location, f.What, f.Expected, f.Actual)
		}
		_ = tw.Flush()
	}
	if len(found) > 0 {
		fmt.Fprintf(c.stderr, "%s: %d inconsistencies\n", c.fs.Name(), len(found))
		return 1
	}
	return 0
}
