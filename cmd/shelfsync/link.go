package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/propagate"
	"github.com/shelfsync/shelfsync/sync/store"
)

func init() {
	commands["link"] = command{
		summary: "listing link report: every listing of each channel, linked to a ledger SKU or not, and its quantity against what shelfsync would push",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return linkCmd(ctx, args, stdout, stderr, connectors.New)
		},
	}
}

const linkUsage = `usage: shelfsync link --config FILE [--channel NAME] [--csv OUT] [--json]

Reads every listing each channel has (or the one named), page by page
through its connector within the channel's rate limits (read-only: nothing
is written to a channel or to Redis), and reports per listing:

  linked   the ledger SKU or kit it stands for (through a catalog mapping,
           a kit of its name, or the ledger SKU of the same name)
  unknown  none of these: its orders would park
  missing  a ledger SKU no listing of the channel is linked to
  unmapped_location
           a channel location no shelfsync location maps to holds some of
           the listing (stock_mode per_location channels; the channel
           sells it on top)

with the quantity the channel shows and the quantity shelfsync would push
(the channel's allocation of the ledger's stock now); on a per_location
channel one row per listing and location, with the state the channel
gives that location where the connector reads it (eBay: enabled,
disabled, or missing for a location_keys key the seller does not have;
a disabled location's level is never zeroed, a shelfsync location mapped
to a disabled or missing one has its pushes refused). Progress goes to
stderr: a bar on a terminal, a line per page otherwise. The table goes to
stdout; --csv OUT writes CSV to OUT instead ("-": stdout), --json JSON.
Exit status: 0 report made, 1 Redis or a channel could not be read (the
rest is reported), 2 bad usage or config.
`

// linkRow is one line of the report.
type linkRow struct {
	Channel   string `json:"channel"`
	Listing   string `json:"listing,omitempty"`
	Status    string `json:"status"` // linked, unknown, missing, unmapped_location
	SKU       string `json:"sku,omitempty"`
	Via       string `json:"via,omitempty"` // mapping ×N, kit, same SKU
	Shows     *int64 `json:"channel_shows,omitempty"`
	WouldPush *int64 `json:"would_push,omitempty"`
	// Location is the shelfsync location of the row on a per-location
	// channel (stock_mode per_location); ChannelLocation a channel
	// location no shelfsync location maps to (status unmapped_location).
	Location        string `json:"location,omitempty"`
	ChannelLocation string `json:"channel_location,omitempty"`
	// LocationState is the state the channel gives the row's channel
	// location (enabled, disabled, missing: connectors.LocationState),
	// where the connector reads its locations; "" otherwise.
	LocationState string `json:"location_state,omitempty"`
}

// linkOpts are the report's flags.
type linkOpts struct {
	config, only, csvOut string
	asJSON               bool
	timeout              time.Duration
}

func parseLinkFlags(args []string, stderr io.Writer) (linkOpts, int, bool) {
	var o linkOpts
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, linkUsage) }
	fs.StringVar(&o.config, "config", "", "config file (required)")
	fs.StringVar(&o.only, "channel", "", "report this channel only")
	fs.StringVar(&o.csvOut, "csv", "", "write CSV to this file (- for stdout)")
	fs.BoolVar(&o.asJSON, "json", false, "print JSON")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound of the whole report")
	if code, done := parseFlags(fs, args); done {
		return o, code, true
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "link: unexpected argument %q\n\n%s", fs.Arg(0), linkUsage)
	case o.config == "":
		fmt.Fprint(stderr, "link: --config is required\n\n"+linkUsage)
	case o.asJSON && o.csvOut != "":
		fmt.Fprintln(stderr, "link: --json and --csv exclude each other")
	default:
		return o, 0, false
	}
	return o, 2, true
}

// linkCmd is `shelfsync link`.
func linkCmd(ctx context.Context, args []string, stdout, stderr io.Writer, newConnector connectorFactory) int {
	o, code, done := parseLinkFlags(args, stderr)
	if done {
		return code
	}
	cfg, code := loadConfig(o.config, stderr)
	if cfg == nil {
		return code
	}
	if o.only != "" && !hasChannel(cfg, o.only) {
		fmt.Fprintf(stderr, "link: no channel %q in %s\n", o.only, o.config)
		return 2
	}
	rdb, err := store.Open(cfg.Redis)
	if err != nil {
		fmt.Fprintf(stderr, "link: %v\n", err)
		return 2
	}
	defer rdb.Close()
	chans, errs := buildChannels(cfg, newDepsBuilder(cfg, zerolog.Nop(), prometheus.NewRegistry(), rdb), newConnector)
	for _, err := range errs {
		fmt.Fprintf(stderr, "link: %v\n", err)
	}
	if len(errs) > 0 {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	r := newLinker(cfg, rdb, stderr)
	rows, code := r.report(ctx, chans, o.only)
	if out := writeLinkReport(o, rows, stdout, stderr); out != 0 {
		return out
	}
	return code
}

func hasChannel(cfg *config.Config, name string) bool {
	for _, ch := range cfg.Channels {
		if ch.Name == name {
			return true
		}
	}
	return false
}

// linker makes the report: the ledger, the catalog, and propagation's
// arithmetic (what shelfsync would push) over the config's channels.
type linker struct {
	ledger *inventory.Ledger
	cat    *catalog.Catalog
	prop   *propagate.Propagator
	stderr io.Writer
	bar    bool // stderr is a terminal
}

func newLinker(cfg *config.Config, rdb redis.UniversalClient, stderr io.Writer) *linker {
	l := inventory.New(rdb, inventory.Options{Prefix: cfg.Redis.KeyPrefix})
	cat := catalog.New(rdb, cfg.Redis.KeyPrefix)
	pcs := make([]propagate.Channel, 0, len(cfg.Channels))
	for _, ch := range cfg.Channels {
		pcs = append(pcs, propagate.Channel{Name: ch.Name, Locations: ch.Locations, Allocation: propagate.Allocation(ch.Allocation), PerLocation: ch.PerLocation()})
	}
	return &linker{ledger: l, cat: cat, prop: propagate.New(rdb, l, pcs).WithCatalog(cat), stderr: stderr, bar: isTerminal(stderr)}
}

// report reads every channel (or only) and returns the rows; 1 when a
// channel or Redis could not be read (its error is printed).
func (r *linker) report(ctx context.Context, chans []*channel, only string) ([]linkRow, int) {
	skus, err := r.ledgerSKUs(ctx)
	if err != nil {
		fmt.Fprintf(r.stderr, "link: reading the ledger's SKUs: %v\n", err)
		return nil, 1
	}
	var rows []linkRow
	code := 0
	for _, ch := range chans {
		if only != "" && ch.cfg.Name != only {
			continue
		}
		got, err := r.channel(ctx, ch, skus)
		if err != nil {
			fmt.Fprintf(r.stderr, "link: channel %s: %v\n", ch.cfg.Name, err)
			code = 1
		}
		rows = append(rows, got...)
	}
	return rows, code
}

func (r *linker) ledgerSKUs(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := r.ledger.SKUs(ctx, func(page []string) error {
		for _, s := range page {
			out[s] = true
		}
		return nil
	})
	return out, err
}
