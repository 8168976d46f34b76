package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"
)

// CronParser is the one parser of poll and reconcile schedules: five fields
// (minute hour dom month dow) or descriptors such as "@every 5m", "@hourly".
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// minSpareConns is how many pooled Redis connections the daemon needs
// besides those its intake workers hold.
const minSpareConns = 8

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
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		// A URL may carry credentials (redis://:password@host): never quoted.
		c.addf(path, "must be an absolute URL with scheme %s, got %q", strings.Join(schemes, " or "), redactURL(raw))
	}
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
	r := cfg.Redis
	if strings.Contains(r.Addr, "://") {
		c.url("redis.addr", r.Addr, "redis", "rediss", "unix")
	} else if !strings.Contains(r.Addr, ":") {
		c.addf("redis.addr", "must be host:port or a redis:// URL, got %q", redactURL(r.Addr))
	}
	c.nonNegative("redis.db", int64(r.DB))
	if (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		c.addf("redis.tls", "cert_file and key_file go together: set both or neither")
	}
	c.positive("redis.pool_size", int64(r.PoolSize))
	c.positive("redis.dial_timeout", int64(r.DialTimeout))
	c.positive("redis.read_timeout", int64(r.ReadTimeout))
	c.positive("redis.write_timeout", int64(r.WriteTimeout))

	h := cfg.HTTP
	if _, port, err := net.SplitHostPort(h.Listen); err != nil || port == "" {
		c.addf("http.listen", "must be host:port or :port, got %q", h.Listen)
	}
	c.url("http.public_url", h.PublicURL, "http", "https")
	c.positive("http.body_limit", h.BodyLimit)
	c.positive("http.read_header_timeout", int64(h.ReadHeaderTimeout))
	c.positive("http.read_timeout", int64(h.ReadTimeout))
	c.positive("http.write_timeout", int64(h.WriteTimeout))
	c.positive("http.idle_timeout", int64(h.IdleTimeout))

	c.positive("ledger.operation_ttl", int64(cfg.Ledger.OperationTTL))
	c.positive("ledger.line_ttl", int64(cfg.Ledger.LineTTL))
	c.positive("ledger.journal_max_len", cfg.Ledger.JournalMaxLen)

	s := cfg.Sync
	if s.Workers < 1 || s.Workers > 1024 {
		c.addf("sync.workers", "must be between 1 and 1024, got %d", s.Workers)
	} else if r.PoolSize > 0 && r.PoolSize < s.Workers+minSpareConns {
		// Each intake worker holds a pooled connection while it waits on
		// the stream; the pushers, the ledger and the API need the rest.
		c.addf("redis.pool_size", "must be at least sync.workers + %d (%d): each intake worker holds a connection while it waits; got %d",
			minSpareConns, s.Workers+minSpareConns, r.PoolSize)
	}
	c.nonNegative("sync.coalesce_window", int64(s.CoalesceWindow))
	c.positive("sync.max_attempts", int64(s.MaxAttempts))
	c.positive("sync.claim_idle", int64(s.ClaimIdle))
	c.nonNegative("sync.poll_overlap", int64(s.PollOverlap))
	c.positive("sync.lease_ttl", int64(s.LeaseTTL))
	c.positive("sync.dedup_ttl", int64(s.DedupTTL))

	locs := map[string]bool{}
	for i, l := range cfg.Locations {
		p := fmt.Sprintf("locations[%d]", i)
		switch {
		case l.ID == "":
			c.addf(p+".id", "is required")
		case locs[l.ID]:
			c.addf(p+".id", "duplicate location %q", l.ID)
		}
		locs[l.ID] = true
	}

	names := map[string]bool{}
	for i := range cfg.Channels {
		cfg.Channels[i].validate(c, fmt.Sprintf("channels[%d]", i), locs, names)
	}

	d := cfg.Downstream
	c.nonNegative("downstream.stream_max_len", d.StreamMaxLen)
	if d.Webhook.URL != "" {
		c.url("downstream.webhook.url", d.Webhook.URL, "http", "https")
		c.required("downstream.webhook.secret", d.Webhook.Secret.IsSet())
		c.positive("downstream.webhook.timeout", int64(d.Webhook.Timeout))
		c.positive("downstream.webhook.max_attempts", int64(d.Webhook.MaxAttempts))
	}

	if !slices.Contains([]string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}, cfg.Log.Level) {
		c.addf("log.level", "must be one of trace, debug, info, warn, error, disabled; got %q", cfg.Log.Level)
	}
	if cfg.Log.Format != "json" && cfg.Log.Format != "console" {
		c.addf("log.format", "must be json or console, got %q", cfg.Log.Format)
	}
	c.positive("shutdown_timeout", int64(cfg.ShutdownTimeout))
	return c.problems
}

func (ch *Channel) validate(c *checker, p string, locs, names map[string]bool) {
	switch {
	case ch.Name == "":
		c.addf(p+".name", "is required")
	case !channelName.MatchString(ch.Name):
		c.addf(p+".name", "must be lower-case letters, digits, - and _ (it is part of the webhook URL), got %q", ch.Name)
	case names[ch.Name]:
		c.addf(p+".name", "duplicate channel name %q", ch.Name)
	}
	names[ch.Name] = true

	if ch.Kind == "" {
		c.addf(p+".kind", "is required (one of %s)", strings.Join(Kinds, ", "))
	} else if !slices.Contains(Kinds, ch.Kind) {
		c.addf(p+".kind", "unknown channel kind %q (known: %s)", ch.Kind, strings.Join(Kinds, ", "))
	}
	c.url(p+".api_url", ch.APIURL, "http", "https")
	for _, job := range []struct{ key, spec string }{{"poll", ch.Poll}, {"reconcile", ch.Reconcile}} {
		if job.spec == "" {
			continue
		}
		if _, err := CronParser.Parse(job.spec); err != nil {
			c.addf(p+"."+job.key, "not a valid cron schedule %q: %v", job.spec, err)
		}
	}
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

	a := ch.Allocation
	ap := p + ".allocation"
	c.nonNegative(ap+".buffer", a.Buffer)
	// Written so NaN (".nan" in YAML) fails too.
	if pct := *a.Percent; !(pct >= 0 && pct <= 100) {
		c.addf(ap+".percent", "must be between 0 and 100, got %g", pct)
	}
	c.nonNegative(ap+".max", a.Max)
	c.nonNegative(ap+".min", a.Min)
	if a.Max > 0 && a.Min > a.Max {
		c.addf(ap+".min", "must not exceed max (%d), got %d", a.Max, a.Min)
	}
	c.nonNegative(ap+".out_of_stock_threshold", a.OutOfStockThreshold)

	c.nonNegative(p+".batch_size", int64(ch.BatchSize))
	if !(ch.RateLimit >= 0) || math.IsInf(ch.RateLimit, 1) {
		c.addf(p+".rate_limit", "must be a finite number, 0 or more, got %g", ch.RateLimit)
	}
	c.nonNegative(p+".burst", int64(ch.Burst))
	c.positive(p+".timeout", int64(ch.Timeout))
	if ch.MaxRetries < 0 || ch.MaxRetries > 20 {
		c.addf(p+".max_retries", "must be between 0 and 20, got %d", ch.MaxRetries)
	}

	for kind, set := range map[string]bool{KindShopify: ch.Shopify != nil, KindEbay: ch.Ebay != nil, KindAmazon: ch.Amazon != nil} {
		if set && kind != ch.Kind {
			c.addf(p+"."+kind, "%s settings on a channel of kind %q", kind, ch.Kind)
		}
	}
	cr, wh := ch.Credentials, ch.Webhook
	switch ch.Kind {
	case KindShopify:
		c.required(p+".credentials.access_token", cr.AccessToken.IsSet())
		if ch.APIURL == "" && ch.Shopify.Shop == "" {
			c.addf(p+".shopify.shop", "is required unless api_url is set")
		}
		for _, l := range ch.Locations {
			if ch.Shopify.LocationIDs[l] == "" {
				c.addf(p+".shopify.location_ids", "no Shopify location id for location %q", l)
			}
		}
		if !wh.Disabled && len(wh.Secrets) == 0 {
			c.addf(p+".webhook.secrets", "at least one secret is required (or set webhook.disabled: true)")
		}
	case KindEbay:
		c.required(p+".credentials.client_id", cr.ClientID.IsSet())
		c.required(p+".credentials.client_secret", cr.ClientSecret.IsSet())
		c.required(p+".credentials.refresh_token", cr.RefreshToken.IsSet())
		c.url(p+".ebay.auth_url", ch.Ebay.AuthURL, "http", "https")
		if !wh.Disabled {
			c.required(p+".webhook.verification_token", wh.VerificationToken.IsSet())
			if wh.EndpointURL == "" {
				c.addf(p+".webhook.endpoint_url", "is required: eBay's challenge hashes the endpoint URL")
			}
			c.url(p+".webhook.endpoint_url", wh.EndpointURL, "https", "http")
		}
	case KindAmazon:
		am := ch.Amazon
		c.required(p+".credentials.client_id", cr.ClientID.IsSet())
		c.required(p+".credentials.client_secret", cr.ClientSecret.IsSet())
		c.required(p+".credentials.refresh_token", cr.RefreshToken.IsSet())
		c.required(p+".amazon.seller_id", am.SellerID != "")
		if len(am.MarketplaceIDs) == 0 {
			c.addf(p+".amazon.marketplace_ids", "at least one marketplace id is required")
		}
		if !slices.Contains([]string{"na", "eu", "fe"}, am.Region) {
			c.addf(p+".amazon.region", "must be na, eu or fe, got %q", am.Region)
		}
		c.url(p+".amazon.auth_url", am.AuthURL, "http", "https")
		if am.FeedThreshold < 1 || am.FeedThreshold > 25000 {
			c.addf(p+".amazon.feed_threshold", "must be between 1 and 25000, got %d", am.FeedThreshold)
		}
		if !slices.Contains(AmazonOrdersAPIs, am.OrdersAPI) {
			c.addf(p+".amazon.orders_api", "must be %s or %s, got %q", AmazonOrdersV2026, AmazonOrdersV0, am.OrdersAPI)
		}
		c.url(p+".amazon.sqs.queue_url", am.SQS.QueueURL, "http", "https")
		c.url(p+".amazon.sqs.endpoint", am.SQS.Endpoint, "http", "https")
		if am.SQS.WaitTime < 0 || am.SQS.WaitTime.Seconds() > 20 {
			c.addf(p+".amazon.sqs.wait_time", "must be between 0s and 20s (SQS long polling), got %s", am.SQS.WaitTime)
		}
		if am.SQS.MaxMessages < 1 || am.SQS.MaxMessages > 10 {
			c.addf(p+".amazon.sqs.max_messages", "must be between 1 and 10, got %d", am.SQS.MaxMessages)
		}
		if !wh.Disabled {
			if len(wh.Secrets) == 0 {
				c.addf(p+".webhook.secrets", "at least one secret is required (or set webhook.disabled: true)")
			}
			if wh.Header == "" {
				c.addf(p+".webhook.header", "is required: the header that carries the relay's secret")
			}
		}
	}
}
