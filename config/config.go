// Package config is shelfsync's YAML schema: the types, their defaults, strict
// decoding (an unknown key is an error naming the key and its line), validation
// that reports every problem at once, and secrets read from the environment or
// from files.
//
// It does no network I/O and starts nothing: loading a config only reads the
// file and the secret files it names. A Secret never prints its value.
package config

import (
	"slices"
	"time"
)

// Config is the whole daemon's configuration.
type Config struct {
	Redis      Redis      `yaml:"redis"`
	HTTP       HTTP       `yaml:"http"`
	Ledger     Ledger     `yaml:"ledger"`
	Sync       Sync       `yaml:"sync"`
	Locations  []Location `yaml:"locations"`
	Routing    Routing    `yaml:"routing"`
	Channels   []Channel  `yaml:"channels"`
	Downstream Downstream `yaml:"downstream"`
	Shipments  Shipments  `yaml:"shipments"`
	Log        Log        `yaml:"log"`
	// ShutdownTimeout bounds the drain of in-flight work after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// HTTP is the daemon's one listener: webhooks, admin API, health, metrics.
type HTTP struct {
	// Listen serves the webhooks, and everything else too unless
	// AdminListen is set.
	Listen string `yaml:"listen"`
	// AdminListen, when set, is a second listener for the admin API,
	// /metrics, /healthz and /readyz: Listen then serves only the
	// webhooks, the one part that must face the internet.
	AdminListen string `yaml:"admin_listen"`
	// ReadyFailingAfter is how long a channel's order poll or push may
	// keep failing before /readyz says the daemon is not ready.
	ReadyFailingAfter time.Duration `yaml:"ready_failing_after"`
	// PublicURL is the externally visible base URL (https://sync.example.com);
	// webhook endpoints that must know their own URL (an endpoint
	// challenge) use it.
	PublicURL string `yaml:"public_url"`
	// AdminToken is the bearer token of /api/v1. Empty disables the admin API.
	AdminToken        Secret        `yaml:"admin_token"`
	BodyLimit         int64         `yaml:"body_limit"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
}

// Ledger tunes the stock ledger.
type Ledger struct {
	// OperationTTL is how long applied operation keys are remembered, so a
	// redelivered operation is a no-op. Longer than any channel's redelivery window.
	OperationTTL time.Duration `yaml:"operation_ttl"`
	// LineTTL is how long closed order lines are remembered, so a late
	// refund, return or edit of an old order is recognised and never
	// applied as a new order. Longer than any channel's return window.
	LineTTL time.Duration `yaml:"line_ttl"`
	// JournalMaxLen bounds each SKU's journal stream (approximate trimming).
	JournalMaxLen int64 `yaml:"journal_max_len"`
}

// Sync tunes the engine between connectors and the ledger.
type Sync struct {
	// Workers is the number of intake workers in this process.
	Workers int `yaml:"workers"`
	// CoalesceWindow is how long the pusher waits for more changes before a batch.
	CoalesceWindow time.Duration `yaml:"coalesce_window"`
	// MaxAttempts is how often an intake event or a pushed item is tried
	// before it is dead-lettered or parked.
	MaxAttempts int `yaml:"max_attempts"`
	// ClaimIdle is how long an intake event may stay unacknowledged before
	// another worker reclaims it.
	ClaimIdle time.Duration `yaml:"claim_idle"`
	// PollOverlap is subtracted from the stored poll cursor, so orders at the
	// boundary are never missed.
	PollOverlap time.Duration `yaml:"poll_overlap"`
	// LeaseTTL is the expiry of a scheduled job's Redis lease; it is renewed
	// at a third of it while the job runs.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// PushLeaseTTL is the expiry of a channel's push lease; the pusher
	// renews it at a third of it, and a replica without it tries to take
	// it as often. It bounds how long a channel goes without pushes after
	// the replica pushing to it died (kill -9, a lost node): the lease
	// expires at most PushLeaseTTL after the holder's last renewal, and a
	// survivor takes it within a third of it more. It is short because
	// losing it costs little: the holder's writes are fenced by the lease
	// value, so a holder that lost it (a pause longer than the TTL) can
	// not record a push the new holder made.
	PushLeaseTTL time.Duration `yaml:"push_lease_ttl"`
	// DedupTTL is how long webhook delivery ids are remembered.
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// Mode is live (the default: quantities are pushed) or shadow:
	// everything runs but no quantity is written to a channel; each
	// would-be push is recorded instead (channels[].sync_mode overrides).
	Mode string `yaml:"mode"`
}

// Sync modes (sync.mode, channels[].sync_mode).
const (
	ModeLive   = "live"
	ModeShadow = "shadow"
)

// ChannelMode is the sync mode of ch: its own sync_mode, else sync.mode,
// else live.
func (c *Config) ChannelMode(ch Channel) string {
	switch {
	case ch.SyncMode != "":
		return ch.SyncMode
	case c.Sync.Mode != "":
		return c.Sync.Mode
	}
	return ModeLive
}

// Routing chooses where an order line takes its stock when the channel
// names no location (README "Order routing"): Rules in order, the first
// that finds a location taking it.
type Routing struct {
	// Rules: RuleSingleLocation, RuleRegion, RuleChannel, RulePriority,
	// RuleMostAvailable, each at most once. Empty: priority alone.
	Rules    []string       `yaml:"rules"`
	Channels []ChannelRoute `yaml:"channels"`
	Regions  []RegionRoute  `yaml:"regions"`
	// Split lets a line no single location can fill be split across the
	// channel's locations (rule RuleSplit, README "Splitting a line"), for
	// every channel; SplitChannels for the channels named alone. Off:
	// the whole line goes to one location, an oversell counted there.
	Split         bool     `yaml:"split"`
	SplitChannels []string `yaml:"split_channels"`
}

// Splits reports whether channel's lines may be split across locations.
func (r *Routing) Splits(channel string) bool {
	return r.Split || slices.Contains(r.SplitChannels, channel)
}

// Routing rule names (Routing.Rules), as they are reported on order lines
// and in the journal.
const (
	RuleSingleLocation = "single_location"
	RuleRegion         = "region"
	RuleChannel        = "channel"
	RulePriority       = "priority"
	RuleMostAvailable  = "most_available"
	// RuleSplit is reported for a line split across locations (Split),
	// never listed in Rules.
	RuleSplit = "split"
)

// RoutingRules are the rule names Routing.Rules accepts.
var RoutingRules = []string{RuleSingleLocation, RuleRegion, RuleChannel, RulePriority, RuleMostAvailable}

// ChannelRoute is the location list of rule "channel" for one channel.
type ChannelRoute struct {
	Channel   string   `yaml:"channel"`
	Locations []string `yaml:"locations"`
}

// RegionRoute is the location list of rule "region" for orders shipping
// to Country (ISO 3166-1 alpha-2) and, when set, its Region (the
// ISO 3166-2 subdivision code after the country's, as channels report it:
// "CA" for California).
type RegionRoute struct {
	Country   string   `yaml:"country"`
	Region    string   `yaml:"region"`
	Locations []string `yaml:"locations"`
}

// Location is a stock location (warehouse, store). Lower Priority is taken first.
type Location struct {
	ID       string `yaml:"id"`
	Priority int    `yaml:"priority"`
}

// Channel is one marketplace account. Its kind's own settings are the
// block keyed by the kind's name (see KindSettings); Load decodes it into
// Settings.
type Channel struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// APIURL overrides the connector's API base URL (sandbox, test server).
	APIURL      string      `yaml:"api_url"`
	Credentials Credentials `yaml:"credentials"`
	Webhook     Webhook     `yaml:"webhook"`
	// Poll and Reconcile are cron specs (robfig/cron: five fields, or
	// descriptors such as "@every 5m"). Empty disables the job.
	Poll      string `yaml:"poll"`
	Reconcile string `yaml:"reconcile"`
	// PollLookback is how far back the first poll reaches when no poll
	// cursor is stored yet; nil: 24h; 0: from now (older orders are
	// never read).
	PollLookback *time.Duration `yaml:"poll_lookback"`
	// SyncMode overrides sync.mode for this channel (live or shadow).
	SyncMode string `yaml:"sync_mode"`
	// Locations are the ids of the locations this channel sells from, in the
	// order stock is taken for lines without a location.
	Locations  []string   `yaml:"locations"`
	Allocation Allocation `yaml:"allocation"`
	// StockMode is how the channel's quantity is pushed: StockSingle (one
	// figure, at the channel location of its first location) or
	// StockPerLocation (each location's own figure at the channel
	// location it is mapped to). Default single.
	StockMode string `yaml:"stock_mode"`
	// ZeroUnmappedLocations (per_location only): reconcile sets to zero a
	// level the channel holds at a location no shelfsync location maps to.
	ZeroUnmappedLocations bool `yaml:"zero_unmapped_locations"`
	// BatchSize caps the items per push call; 0 takes the connector's maximum.
	BatchSize int `yaml:"batch_size"`
	// RateLimit is requests per second to this channel's API; 0 takes the
	// connector's published default. Burst is the bucket size.
	RateLimit float64 `yaml:"rate_limit"`
	Burst     int     `yaml:"burst"`
	// Timeout bounds one API request; MaxRetries the retries of one request
	// on 429 and 5xx.
	Timeout    time.Duration `yaml:"timeout"`
	MaxRetries int           `yaml:"max_retries"`

	// Carriers overrides and extends the connector's carrier table for
	// shipment confirmations: canonical carrier name (lower case) → the
	// channel's carrier code.
	Carriers map[string]string `yaml:"carriers"`
	// Returns is what returns read from the channel (ReturnPoller) do.
	Returns ReturnsPolicy `yaml:"returns"`

	// Settings are the kind's own settings, from the block keyed by the
	// kind's name, defaults applied: a value of the type the kind
	// registered (RegisterKind), nil for a kind that is not registered.
	// A connector type-asserts its own type and trusts it: Load validated it.
	Settings KindSettings `yaml:"-"`
}

// Stock modes of a channel.
const (
	StockSingle      = "single"
	StockPerLocation = "per_location"
)

// PerLocation says the channel is pushed location by location.
func (ch *Channel) PerLocation() bool { return ch.StockMode == StockPerLocation }

// Credentials holds every secret a connector may need; each kind's
// Validate says which it requires.
type Credentials struct {
	// AccessToken is a static API token.
	AccessToken Secret `yaml:"access_token"`
	// ClientID, ClientSecret and RefreshToken are an OAuth client and a
	// refresh token.
	ClientID     Secret `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	RefreshToken Secret `yaml:"refresh_token"`
	// AWSAccessKeyID and AWSSecretAccessKey are AWS credentials (a
	// notification queue on AWS); a kind that uses them may take them
	// from the environment when empty.
	AWSAccessKeyID     Secret `yaml:"aws_access_key_id"`
	AWSSecretAccessKey Secret `yaml:"aws_secret_access_key"`
}

// Webhook configures the channel's receiver at POST /webhooks/{name}.
type Webhook struct {
	// Disabled turns the receiver off (polling only).
	Disabled bool `yaml:"disabled"`
	// Secrets verify deliveries: signing keys (several during a
	// rotation), or the shared secrets a relay sends in Header.
	Secrets []Secret `yaml:"secrets"`
	// Header names the header that carries the shared secret (relays).
	Header string `yaml:"header"`
	// VerificationToken and EndpointURL answer an endpoint challenge.
	VerificationToken Secret `yaml:"verification_token"`
	EndpointURL       string `yaml:"endpoint_url"`
}

// Allocation turns the available stock of a channel's locations into the
// quantity listed on it.
type Allocation struct {
	// Buffer units are held back from the channel.
	Buffer int64 `yaml:"buffer"`
	// Percent of what remains is listed, rounded down; default 100.
	Percent *float64 `yaml:"percent"`
	// Max caps the listed quantity; 0 means no cap.
	Max int64 `yaml:"max"`
	// Min is listed at least while any stock is available.
	Min int64 `yaml:"min"`
	// OutOfStockThreshold: at or below it, list zero.
	OutOfStockThreshold int64 `yaml:"out_of_stock_threshold"`
}

// Downstream is where normalized orders go.
type Downstream struct {
	// Stream is the Redis Stream (under the key prefix) that ERP/WMS
	// consumers read with a consumer group.
	Stream string `yaml:"stream"`
	// StreamMaxLen bounds the stream (approximate trimming).
	StreamMaxLen int64 `yaml:"stream_max_len"`
	// Webhook, if URL is set, also POSTs every order, signed with Secret.
	Webhook DownstreamWebhook `yaml:"webhook"`
}

// Shipments configures the shipments the warehouse reports (sync/shipments).
type Shipments struct {
	// Stream is the inbound Redis Stream (under the key prefix, in braces)
	// a WMS appends shipments to; shelfsync reads it with group shelfsync.
	Stream string `yaml:"stream"`
	// Workers is each channel's confirmations in flight at once (default
	// 16). A confirmation is one or two API calls (Shopify: a read and
	// fulfillmentCreate), so a channel confirms about Workers / (calls ×
	// latency) a second when its limits allow: 50 a second needs 6 at
	// the fakes' 50 ms, about 30 at 300 ms a call. Workers past a
	// channel's rate limit wait on its limiter.
	Workers int `yaml:"workers"`
	// MaxAttempts is the failed confirmation attempts (retry, errors) after
	// which a shipment is parked.
	MaxAttempts int `yaml:"max_attempts"`
	// Retention is how long a confirmed shipment's record is kept.
	Retention time.Duration `yaml:"retention"`
	// Claim is how long a confirmation taken by a worker is hidden from the
	// others: longer than one confirmation takes. A daemon killed while
	// confirming leaves its shipments due again after it.
	Claim time.Duration `yaml:"claim"`
}

// ReturnsPolicy says what a returned unit does, by the channel's reason
// and condition codes.
type ReturnsPolicy struct {
	// RequireReceived books a return line only once the channel says the
	// item is back with the seller (default true).
	RequireReceived *bool `yaml:"require_received"`
	// Default is what a return line no rule matches does: restock (default)
	// or write_off.
	Default string `yaml:"default"`
	// Rules are tried in order; the first that matches decides.
	Rules []ReturnRule `yaml:"rules"`
}

// ReturnRule matches a return line by the channel's reason and condition
// codes (lower case; empty matches any).
type ReturnRule struct {
	Reason    string `yaml:"reason"`
	Condition string `yaml:"condition"`
	// Action is restock or write_off.
	Action string `yaml:"action"`
}

// Return actions.
const (
	ReturnRestock  = "restock"
	ReturnWriteOff = "write_off"
)

// Action is what a return line with reason and condition does, and
// whether it is booked at all (received says the channel has it back).
func (p ReturnsPolicy) Action(received bool, reason, condition string) (restock, book bool) {
	if !received && (p.RequireReceived == nil || *p.RequireReceived) {
		return false, false
	}
	for _, r := range p.Rules {
		if (r.Reason == "" || r.Reason == reason) && (r.Condition == "" || r.Condition == condition) {
			return r.Action == ReturnRestock, true
		}
	}
	return p.Default != ReturnWriteOff, true
}

// DownstreamWebhook POSTs normalized orders with an HMAC-SHA256 signature.
type DownstreamWebhook struct {
	URL         string        `yaml:"url"`
	Secret      Secret        `yaml:"secret"`
	Timeout     time.Duration `yaml:"timeout"`
	MaxAttempts int           `yaml:"max_attempts"`
}

// Log configures zerolog.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// ChannelByName returns the channel named name, or nil.
func (c *Config) ChannelByName(name string) *Channel {
	for i := range c.Channels {
		if c.Channels[i].Name == name {
			return &c.Channels[i]
		}
	}
	return nil
}
