package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// CronParser is the one parser of poll and reconcile schedules: five fields
// (minute hour dom month dow) or descriptors such as "@every 5m", "@hourly".
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var channelName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

type checker struct{ problems []Problem }

func (c *checker) addf(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) positive(path string, v int64) {
	if v <= 0 {
		c.addf(path, "must be greater than 0, got %d", v)
	}
}

func (c *checker) nonNegative(path string, v int64) {
	if v < 0 {
		c.addf(path, "must not be negative, got %d", v)
	}
}

func (c *checker) url(path, raw string, schemes ...string) {
	if msg := urlProblem(raw, schemes); msg != "" {
		c.addf(path, "%s", msg)
	}
}

// urlProblem says what is wrong with raw as an absolute URL with one of
// schemes ("" when nothing, or when raw is empty).
func urlProblem(raw string, schemes []string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		// A URL may carry credentials (redis://:password@host): never quoted.
		return fmt.Sprintf("must be an absolute URL with scheme %s, got %q", strings.Join(schemes, " or "), redactURL(raw))
	}
	return ""
}

func (c *checker) required(path string, set bool) {
	if !set {
		c.addf(path, "is required")
	}
}

// validate checks values after defaults; every problem carries the key path
// that Parse turns into a line.
func (cfg *Config) validate() []Problem {
	c := &checker{}
	cfg.Redis.validate(c, cfg.Sync.Workers)
	cfg.HTTP.validate(c)
	cfg.Ledger.validate(c)
	cfg.Sync.validate(c)
	locs := validateLocations(c, cfg.Locations)
	names := map[string]bool{}
	for i := range cfg.Channels {
		cfg.Channels[i].validate(c, fmt.Sprintf("channels[%d]", i), locs, names)
	}
	validateAccounts(c, cfg.Channels)
	cfg.Routing.validate(c, locs, cfg.Channels)
	cfg.Downstream.validate(c)
	cfg.Shipments.validate(c)
	cfg.Log.validate(c)
	c.positive("shutdown_timeout", int64(cfg.ShutdownTimeout))
	return c.problems
}

func (h *HTTP) validate(c *checker) {
	if _, port, err := net.SplitHostPort(h.Listen); err != nil || port == "" {
		c.addf("http.listen", "must be host:port or :port, got %q", h.Listen)
	}
	c.url("http.public_url", h.PublicURL, "http", "https")
	c.positive("http.body_limit", h.BodyLimit)
	c.positive("http.read_header_timeout", int64(h.ReadHeaderTimeout))
	c.positive("http.read_timeout", int64(h.ReadTimeout))
	c.positive("http.write_timeout", int64(h.WriteTimeout))
	c.positive("http.idle_timeout", int64(h.IdleTimeout))
	if h.ReadyFailingAfter <= 0 {
		c.addf("http.ready_failing_after", "must be a positive duration, got %s", h.ReadyFailingAfter)
	}
	if h.AdminListen != "" {
		if _, port, err := net.SplitHostPort(h.AdminListen); err != nil || port == "" {
			c.addf("http.admin_listen", "must be host:port or :port, got %q", h.AdminListen)
		} else if h.AdminListen == h.Listen && port != "0" {
			c.addf("http.admin_listen", "must differ from http.listen (%q): leave it unset for one listener", h.Listen)
		}
	}
}

func (l *Ledger) validate(c *checker) {
	c.positive("ledger.operation_ttl", int64(l.OperationTTL))
	c.positive("ledger.line_ttl", int64(l.LineTTL))
	c.positive("ledger.journal_max_len", l.JournalMaxLen)
}

// maxWorkers bounds sync.workers.
const maxWorkers = 1024

func (s *Sync) validate(c *checker) {
	if s.Workers < 1 || s.Workers > maxWorkers {
		c.addf("sync.workers", "must be between 1 and %d, got %d", maxWorkers, s.Workers)
	}
	c.nonNegative("sync.coalesce_window", int64(s.CoalesceWindow))
	c.positive("sync.max_attempts", int64(s.MaxAttempts))
	c.positive("sync.claim_idle", int64(s.ClaimIdle))
	c.nonNegative("sync.poll_overlap", int64(s.PollOverlap))
	c.positive("sync.lease_ttl", int64(s.LeaseTTL))
	c.positive("sync.push_lease_ttl", int64(s.PushLeaseTTL))
	c.positive("sync.dedup_ttl", int64(s.DedupTTL))
	if s.Mode != "" && s.Mode != ModeLive && s.Mode != ModeShadow {
		c.addf("sync.mode", "must be live or shadow, got %q", s.Mode)
	}
}

// validateLocations checks the locations and returns their ids.
func validateLocations(c *checker, locations []Location) map[string]bool {
	locs := map[string]bool{}
	for i, l := range locations {
		p := fmt.Sprintf("locations[%d]", i)
		switch {
		case l.ID == "":
			c.addf(p+".id", "is required")
		case locs[l.ID]:
			c.addf(p+".id", "duplicate location %q", l.ID)
		}
		locs[l.ID] = true
	}
	return locs
}

func (d *Downstream) validate(c *checker) {
	c.nonNegative("downstream.stream_max_len", d.StreamMaxLen)
	if d.Webhook.URL != "" {
		c.url("downstream.webhook.url", d.Webhook.URL, "http", "https")
		c.required("downstream.webhook.secret", d.Webhook.Secret.IsSet())
		c.positive("downstream.webhook.timeout", int64(d.Webhook.Timeout))
		c.positive("downstream.webhook.max_attempts", int64(d.Webhook.MaxAttempts))
	}
}

func (l *Log) validate(c *checker) {
	if !slices.Contains([]string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}, l.Level) {
		c.addf("log.level", "must be one of trace, debug, info, warn, error, disabled; got %q", l.Level)
	}
	if l.Format != "json" && l.Format != "console" {
		c.addf("log.format", "must be json or console, got %q", l.Format)
	}
}

// validate checks one channel at path p: the generic keys here, the
// kind's own through its KindSettings.
func (ch *Channel) validate(c *checker, p string, locs, names map[string]bool) {
	ch.validateName(c, p, names)
	ch.validateKind(c, p)
	c.url(p+".api_url", ch.APIURL, "http", "https")
	ch.validateSchedules(c, p)
	ch.validateLocations(c, p, locs)
	ch.Allocation.validate(c, p+".allocation")
	ch.validateStockMode(c, p)
	ch.validateLimits(c, p)
	ch.validateSettings(c, p)
	ch.validateOrderSource(c, p)
	ch.validateShipping(c, p)
}

// validateShipping checks the carrier override and the returns policy.
func (ch *Channel) validateShipping(c *checker, p string) {
	for name, code := range ch.Carriers {
		if name == "" || name != strings.ToLower(strings.TrimSpace(name)) || strings.TrimSpace(code) == "" {
			c.addf(p+".carriers", "each entry must be a lower-case carrier name and a non-empty code, got %q: %q", name, code)
		}
	}
	r := ch.Returns
	if r.Default != ReturnRestock && r.Default != ReturnWriteOff {
		c.addf(p+".returns.default", "must be restock or write_off, got %q", r.Default)
	}
	for i, rule := range r.Rules {
		if rule.Action != ReturnRestock && rule.Action != ReturnWriteOff {
			c.addf(fmt.Sprintf("%s.returns.rules[%d].action", p, i), "must be restock or write_off, got %q", rule.Action)
		}
	}
}

func (s *Shipments) validate(c *checker) {
	if s.Stream == "" || strings.ContainsAny(s.Stream, "{}") {
		c.addf("shipments.stream", "must be a name without braces, got %q", s.Stream)
	}
	if s.Workers < 1 || s.Workers > 64 {
		c.addf("shipments.workers", "must be between 1 and 64, got %d", s.Workers)
	}
	c.positive("shipments.max_attempts", int64(s.MaxAttempts))
	c.positive("shipments.retention", int64(s.Retention))
	if s.Claim < time.Second {
		c.addf("shipments.claim", "must be at least 1s (longer than one confirmation takes), got %s", s.Claim)
	}
}

func (ch *Channel) validateName(c *checker, p string, names map[string]bool) {
	switch {
	case ch.Name == "":
		c.addf(p+".name", "is required")
	case !channelName.MatchString(ch.Name):
		c.addf(p+".name", "must be lower-case letters, digits, - and _ (it is part of the webhook URL), got %q", ch.Name)
	case names[ch.Name]:
		c.addf(p+".name", "duplicate channel name %q", ch.Name)
	}
	names[ch.Name] = true
}

func (ch *Channel) validateKind(c *checker, p string) {
	if ch.Kind == "" {
		c.addf(p+".kind", "is required (one of %s)", kindList())
	} else if NewSettings(ch.Kind) == nil {
		c.addf(p+".kind", "unknown channel kind %q (known: %s)", ch.Kind, kindList())
	}
}

func (ch *Channel) validateSchedules(c *checker, p string) {
	for _, job := range []struct{ key, spec string }{{"poll", ch.Poll}, {"reconcile", ch.Reconcile}} {
		if job.spec == "" {
			continue
		}
		if _, err := CronParser.Parse(job.spec); err != nil {
			c.addf(p+"."+job.key, "not a valid cron schedule %q: %v", job.spec, err)
		}
	}
}

func (ch *Channel) validateLocations(c *checker, p string, locs map[string]bool) {
	if len(ch.Locations) == 0 {
		c.addf(p+".locations", "at least one location is required")
	}
	seen := map[string]bool{}
	for i, l := range ch.Locations {
		lp := fmt.Sprintf("%s.locations[%d]", p, i)
		switch {
		case !locs[l]:
			c.addf(lp, "unknown location %q (define it under locations)", l)
		case seen[l]:
			c.addf(lp, "location %q listed twice", l)
		}
		seen[l] = true
	}
}

// validateStockMode checks stock_mode and zero_unmapped_locations. In
// per_location mode a location id becomes part of the outbox's item key
// (<sku>@<location>), so it may not hold "@" nor start with "!" (the mark
// of a channel location no shelfsync location maps to).
func (ch *Channel) validateStockMode(c *checker, p string) {
	switch ch.StockMode {
	case StockSingle:
	case StockPerLocation:
		for i, l := range ch.Locations {
			if strings.Contains(l, "@") || strings.HasPrefix(l, "!") {
				c.addf(fmt.Sprintf("%s.locations[%d]", p, i), "a location id of a per_location channel may not contain @ nor start with !, got %q", l)
			}
		}
	default:
		c.addf(p+".stock_mode", "must be single or per_location, got %q", ch.StockMode)
	}
	if ch.ZeroUnmappedLocations && ch.StockMode != StockPerLocation {
		c.addf(p+".zero_unmapped_locations", "needs stock_mode: per_location")
	}
}

func (a *Allocation) validate(c *checker, ap string) {
	c.nonNegative(ap+".buffer", a.Buffer)
	// Written so NaN (".nan" in YAML) fails too.
	if a.Percent != nil {
		if pct := *a.Percent; !(pct >= 0 && pct <= 100) {
			c.addf(ap+".percent", "must be between 0 and 100, got %g", pct)
		}
	}
	c.nonNegative(ap+".max", a.Max)
	c.nonNegative(ap+".min", a.Min)
	if a.Max > 0 && a.Min > a.Max {
		c.addf(ap+".min", "must not exceed max (%d), got %d", a.Max, a.Min)
	}
	c.nonNegative(ap+".out_of_stock_threshold", a.OutOfStockThreshold)
}

func (ch *Channel) validateLimits(c *checker, p string) {
	c.nonNegative(p+".batch_size", int64(ch.BatchSize))
	if !(ch.RateLimit >= 0) || math.IsInf(ch.RateLimit, 1) {
		c.addf(p+".rate_limit", "must be a finite number, 0 or more, got %g", ch.RateLimit)
	}
	c.nonNegative(p+".burst", int64(ch.Burst))
	if ch.PollLookback != nil {
		c.nonNegative(p+".poll_lookback", int64(*ch.PollLookback))
	}
	if ch.SyncMode != "" && ch.SyncMode != ModeLive && ch.SyncMode != ModeShadow {
		c.addf(p+".sync_mode", "must be live or shadow, got %q", ch.SyncMode)
	}
	c.positive(p+".timeout", int64(ch.Timeout))
	if ch.MaxRetries < 0 || ch.MaxRetries > 20 {
		c.addf(p+".max_retries", "must be between 0 and 20, got %d", ch.MaxRetries)
	}
}

// validateSettings hands the channel to its kind's Validate. A kind that
// is not registered was reported by validateKind.
func (ch *Channel) validateSettings(c *checker, p string) {
	want := settingsType(ch.Kind)
	if want == nil {
		return
	}
	if got := reflect.TypeOf(ch.Settings); got != want {
		c.addf(p+"."+ch.Kind, "settings of type %v on a channel of kind %q, want %v", got, ch.Kind, want)
		return
	}
	for _, fp := range ch.Settings.Validate(ch) {
		c.problems = append(c.problems, Problem{Path: join(p, fp.Path), Msg: fp.Msg})
	}
}
