package config

import "time"

// Defaults of every generic setting, in one place. Load applies them to
// whatever the file leaves unset; a kind's settings have their own
// (KindSettings.Defaults).
const (
	DefaultRedisAddr         = "127.0.0.1:6379"
	DefaultKeyPrefix         = "shelfsync:"
	DefaultRedisPoolSize     = 20
	DefaultRedisDialTimeout  = 5 * time.Second
	DefaultRedisReadTimeout  = 3 * time.Second
	DefaultRedisWriteTimeout = 3 * time.Second

	DefaultListen            = ":8080"
	DefaultBodyLimit         = 1 << 20 // 1 MiB: order webhooks with many lines stay far below.
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	// DefaultReadyFailingAfter: a channel's poll or push failing this long
	// makes /readyz 503 (a few retries' worth; shorter blips stay ready).
	DefaultReadyFailingAfter = 5 * time.Minute

	DefaultOperationTTL  = 7 * 24 * time.Hour   // longer than any channel's redelivery window
	DefaultLineTTL       = 120 * 24 * time.Hour // longer than channels' return windows
	DefaultJournalMaxLen = 10000

	DefaultWorkers        = 4
	DefaultCoalesceWindow = 100 * time.Millisecond
	DefaultMaxAttempts    = 8
	DefaultClaimIdle      = 30 * time.Second
	DefaultPollOverlap    = 5 * time.Minute
	DefaultLeaseTTL       = 30 * time.Second
	DefaultPushLeaseTTL   = 3 * time.Second // survivors push within ~4 s of a replica's death
	DefaultDedupTTL       = 7 * 24 * time.Hour
	DefaultPollLookback   = 24 * time.Hour // a channel's first poll

	DefaultPercent = 100.0

	DefaultChannelTimeout = 30 * time.Second
	DefaultMaxRetries     = 5

	DefaultDownstreamStream       = "orders"
	DefaultDownstreamStreamMaxLen = 1000000
	DefaultDownstreamTimeout      = 10 * time.Second
	DefaultDownstreamMaxAttempts  = 10

	DefaultShipmentsStream      = "shipments"
	DefaultShipmentsWorkers     = 16
	DefaultShipmentsMaxAttempts = 20
	DefaultShipmentsRetention   = 30 * 24 * time.Hour
	DefaultShipmentsClaim       = 2 * time.Minute

	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"

	DefaultShutdownTimeout = 15 * time.Second
)

// applyDefaults fills every unset setting. Zero is "unset" except where a
// pointer tells the two apart (Allocation.Percent).
func (c *Config) applyDefaults() {
	c.Redis.applyDefaults()

	h := &c.HTTP
	setString(&h.Listen, DefaultListen)
	if h.BodyLimit == 0 {
		h.BodyLimit = DefaultBodyLimit
	}
	setDuration(&h.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDuration(&h.ReadTimeout, DefaultReadTimeout)
	setDuration(&h.WriteTimeout, DefaultWriteTimeout)
	setDuration(&h.IdleTimeout, DefaultIdleTimeout)
	setDuration(&h.ReadyFailingAfter, DefaultReadyFailingAfter)

	setDuration(&c.Ledger.OperationTTL, DefaultOperationTTL)
	setDuration(&c.Ledger.LineTTL, DefaultLineTTL)
	if c.Ledger.JournalMaxLen == 0 {
		c.Ledger.JournalMaxLen = DefaultJournalMaxLen
	}

	s := &c.Sync
	setInt(&s.Workers, DefaultWorkers)
	setDuration(&s.CoalesceWindow, DefaultCoalesceWindow)
	setInt(&s.MaxAttempts, DefaultMaxAttempts)
	setDuration(&s.ClaimIdle, DefaultClaimIdle)
	setDuration(&s.PollOverlap, DefaultPollOverlap)
	setDuration(&s.LeaseTTL, DefaultLeaseTTL)
	setDuration(&s.PushLeaseTTL, DefaultPushLeaseTTL)
	setDuration(&s.DedupTTL, DefaultDedupTTL)

	for i := range c.Channels {
		c.Channels[i].applyDefaults()
	}

	d := &c.Downstream
	setString(&d.Stream, DefaultDownstreamStream)
	if d.StreamMaxLen == 0 {
		d.StreamMaxLen = DefaultDownstreamStreamMaxLen
	}
	setDuration(&d.Webhook.Timeout, DefaultDownstreamTimeout)
	setInt(&d.Webhook.MaxAttempts, DefaultDownstreamMaxAttempts)

	sh := &c.Shipments
	setString(&sh.Stream, DefaultShipmentsStream)
	setInt(&sh.Workers, DefaultShipmentsWorkers)
	setInt(&sh.MaxAttempts, DefaultShipmentsMaxAttempts)
	setDuration(&sh.Retention, DefaultShipmentsRetention)
	setDuration(&sh.Claim, DefaultShipmentsClaim)

	setString(&c.Log.Level, DefaultLogLevel)
	setString(&c.Log.Format, DefaultLogFormat)
	setDuration(&c.ShutdownTimeout, DefaultShutdownTimeout)
}

func (ch *Channel) applyDefaults() {
	if ch.Allocation.Percent == nil {
		p := DefaultPercent
		ch.Allocation.Percent = &p
	}
	setDuration(&ch.Timeout, DefaultChannelTimeout)
	if ch.PollLookback == nil {
		d := DefaultPollLookback
		ch.PollLookback = &d
	}
	setInt(&ch.MaxRetries, DefaultMaxRetries)
	if ch.Returns.RequireReceived == nil {
		t := true
		ch.Returns.RequireReceived = &t
	}
	setString(&ch.Returns.Default, ReturnRestock)
	setString(&ch.StockMode, StockSingle)
	// A channel without its kind's block gets the kind's defaults too.
	if ch.Settings == nil {
		ch.Settings = NewSettings(ch.Kind)
	}
	if ch.Settings != nil {
		ch.Settings.Defaults()
	}
}

// Default returns a configuration with every default set and no channels.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDuration(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
