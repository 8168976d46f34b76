package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/sync/shipments"
)

func init() {
	commands["ship"] = command{
		summary: "report a shipment to the running daemon (one-offs; a WMS uses the API or the stream)",
		run:     runShip,
	}
}

const shipUsage = `usage: shelfsync ship --channel C --order O (--line ID=N | --sku SKU=N)... --carrier NAME --tracking NUMBER
                     [--tracking-url URL] [--shipped-at RFC3339] [--location L] [--key K]
                     [--api URL] [--token T | --config C] [--json]
       shelfsync ship show --channel C --order O [--api URL] [--token T | --config C]

Sends the shipment to the daemon's admin API (POST /api/v1/shipments) and
prints what it answered: created (new), already recorded (same key and
body), or why it was refused (unknown order or line, more than open with
the open units, unknown carrier with the known ones, malformed tracking).
"show" prints the order's lines and its shipments' confirmation states.

--key defaults to "cli:<channel>:<order>:<tracking>", so running the same
command twice records one shipment. --shipped-at defaults to the start of
the current hour (UTC): give it to make a later re-run the same shipment. --api
defaults to http.admin_listen (else http.listen) of --config, else
http://127.0.0.1:8080; --token to $SHELFSYNC_ADMIN_TOKEN, else
http.admin_token of --config.
Exit status: 0 ok, 1 refused or failed, 2 bad usage.
`

// pairs is a repeatable NAME=N flag.
type pairs []shipments.RequestLine

func (p *pairs) String() string { return fmt.Sprint(*p) }

// shipCmd is the ship command's flags.
type shipCmd struct {
	fs                                *flag.FlagSet
	channel, order, carrier, tracking string
	trackingURL, shippedAt, location  string
	key, api, token, config           string
	json                              bool
	lines                             pairs
	stdout, stderr                    io.Writer
}

func runShip(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &shipCmd{stdout: stdout, stderr: stderr}
	show := len(args) > 0 && args[0] == "show"
	if show {
		args = args[1:]
	}
	if code, done := c.parse(args); done {
		return code
	}
	if c.channel == "" || c.order == "" {
		return c.usageErr("--channel and --order are required")
	}
	base, token, code := c.endpoint()
	if code != 0 {
		return code
	}
	if show {
		return c.show(ctx, base, token)
	}
	r, code := c.request()
	if code != 0 {
		return code
	}
	body, _ := json.Marshal(r)
	status, resp, err := call(ctx, http.MethodPost, base+"/api/v1/shipments", token, body)
	if err != nil {
		fmt.Fprintf(stderr, "shelfsync ship: %v\n", err)
		return 1
	}
	return c.report(status, resp)
}

func (c *shipCmd) parse(args []string) (int, bool) {
	fs := flag.NewFlagSet("ship", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() { fmt.Fprint(c.stderr, shipUsage) }
	for _, f := range []struct {
		p          *string
		name, help string
	}{
		{&c.channel, "channel", "channel name"}, {&c.order, "order", "the channel's order id"},
		{&c.carrier, "carrier", "carrier (ups, usps, fedex, dhl, ...)"}, {&c.tracking, "tracking", "tracking number"},
		{&c.trackingURL, "tracking-url", "tracking URL"}, {&c.shippedAt, "shipped-at", "ship date (RFC 3339; default: the start of this hour)"},
		{&c.location, "location", "location the units left from"}, {&c.key, "key", "idempotency key"},
		{&c.api, "api", "admin API base URL"}, {&c.token, "token", "admin token"}, {&c.config, "config", "config file"},
	} {
		fs.StringVar(f.p, f.name, "", f.help)
	}
	fs.Func("line", "LINE_ID=QUANTITY (repeatable)", func(v string) error { return c.lines.add(v, false) })
	fs.Func("sku", "SKU=QUANTITY (repeatable)", func(v string) error { return c.lines.add(v, true) })
	fs.BoolVar(&c.json, "json", false, "print the daemon's JSON answer")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		return c.usageErr("unexpected argument %q", fs.Arg(0)), true
	}
	return 0, false
}

func (p *pairs) add(v string, sku bool) error {
	name, q, ok := strings.Cut(v, "=")
	n, err := strconv.ParseInt(q, 10, 64)
	if !ok || name == "" || err != nil || n <= 0 {
		return fmt.Errorf("want NAME=QUANTITY with a positive quantity, got %q", v)
	}
	l := shipments.RequestLine{LineID: name, Quantity: n}
	if sku {
		l = shipments.RequestLine{SKU: name, Quantity: n}
	}
	*p = append(*p, l)
	return nil
}

func (c *shipCmd) usageErr(format string, a ...any) int {
	fmt.Fprintf(c.stderr, "shelfsync ship: "+format+"\n\n%s", append(a, shipUsage)...)
	return 2
}

// request builds the shipment from the flags.
func (c *shipCmd) request() (shipments.Request, int) {
	if len(c.lines) == 0 || c.carrier == "" || c.tracking == "" {
		return shipments.Request{}, c.usageErr("at least one --line or --sku, --carrier and --tracking are required")
	}
	// The start of the hour, so the same command run again soon after
	// sends the same body (a repeat, not a conflict over its key).
	at := time.Now().UTC().Truncate(time.Hour)
	if c.shippedAt != "" {
		t, err := time.Parse(time.RFC3339, c.shippedAt)
		if err != nil {
			return shipments.Request{}, c.usageErr("--shipped-at: %v", err)
		}
		at = t
	}
	key := c.key
	if key == "" {
		key = "cli:" + c.channel + ":" + c.order + ":" + c.tracking
	}
	return shipments.Request{Channel: c.channel, OrderID: c.order, Lines: c.lines, Carrier: c.carrier,
		TrackingNumber: c.tracking, TrackingURL: c.trackingURL, ShippedAt: at, Location: c.location, IdempotencyKey: key}, 0
}

// endpoint is the admin API's base URL and token, from the flags, the
// environment or the config.
func (c *shipCmd) endpoint() (string, string, int) {
	base, token := c.api, c.token
	if token == "" {
		token = os.Getenv("SHELFSYNC_ADMIN_TOKEN")
	}
	if c.config != "" && (base == "" || token == "") {
		cfg, code := loadConfig(c.config, c.stderr)
		if cfg == nil {
			return "", "", code
		}
		if token == "" {
			token = cfg.HTTP.AdminToken.Value()
		}
		if base == "" {
			base = listenURL(cfg.HTTP.AdminListen, cfg.HTTP.Listen)
		}
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if token == "" {
		return "", "", c.usageErr("no admin token: --token, $SHELFSYNC_ADMIN_TOKEN or http.admin_token of --config")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", c.usageErr("--api %q is not an http(s) URL", base)
	}
	return strings.TrimRight(base, "/"), token, 0
}

// listenURL is a local URL for a listen address (":8080" → 127.0.0.1).
func listenURL(admin, listen string) string {
	addr := admin
	if addr == "" {
		addr = listen
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// call makes one admin API request and returns the status and body.
func call(ctx context.Context, method, u, token string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("the daemon's admin API does not answer: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// report prints the daemon's answer to a shipment.
func (c *shipCmd) report(status int, resp []byte) int {
	if c.json {
		fmt.Fprintln(c.stdout, strings.TrimSpace(string(resp)))
	}
	var v struct {
		ID    string           `json:"id"`
		Error string           `json:"error"`
		Open  map[string]int64 `json:"open"`
		Known []string         `json:"known_carriers"`
		State shipments.State  `json:"state"`
	}
	_ = json.Unmarshal(resp, &v)
	switch {
	case status == http.StatusCreated || status == http.StatusOK:
		if !c.json {
			what := "recorded"
			if status == http.StatusOK {
				what = "already recorded (same key and shipment)"
			}
			fmt.Fprintf(c.stdout, "shipment %s %s; confirmation on %s: %s\n", v.ID, what, c.channel, v.State.Status)
		}
		return 0
	case v.Error != "":
		fmt.Fprintf(c.stderr, "shelfsync ship: refused (%d): %s\n", status, v.Error)
		if len(v.Open) > 0 {
			fmt.Fprintf(c.stderr, "  open units by line: %v\n", v.Open)
		}
		if len(v.Known) > 0 {
			fmt.Fprintf(c.stderr, "  known carriers: %s\n", strings.Join(v.Known, ", "))
		}
		return 1
	}
	fmt.Fprintf(c.stderr, "shelfsync ship: the daemon answered %d\n", status)
	return 1
}

// show prints the order view (lines and shipments).
func (c *shipCmd) show(ctx context.Context, base, token string) int {
	status, resp, err := call(ctx, http.MethodGet, base+"/api/v1/orders/"+url.PathEscape(c.channel)+"/"+url.PathEscape(c.order), token, nil)
	if err != nil {
		fmt.Fprintf(c.stderr, "shelfsync ship: %v\n", err)
		return 1
	}
	if status != http.StatusOK {
		fmt.Fprintf(c.stderr, "shelfsync ship: the daemon answered %d: %s\n", status, strings.TrimSpace(string(resp)))
		return 1
	}
	var out bytes.Buffer
	if err := json.Indent(&out, resp, "", "  "); err != nil {
		out.Write(resp)
	}
	fmt.Fprintln(c.stdout, strings.TrimSpace(out.String()))
	return 0
}
