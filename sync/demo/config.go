package demo

import (
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

// The demo's stock locations: every channel sells from both, the warehouse first.
const (
	LocationWarehouse = "warehouse"
	LocationStore     = "store"
)

// ConfigOptions are the parts of the demo's configuration that are not
// fixed by the fakes.
type ConfigOptions struct {
	RedisAddr  string
	KeyPrefix  string
	Listen     string // host:port the daemon listens on
	AdminToken string
	LogLevel   string // default warn: the live line is the demo's output
	Workers    int    // sync.workers; default 16
	// Poll and Reconcile are every channel's schedules (default 15s and 30s).
	Poll, Reconcile time.Duration
}

// Config builds the daemon's configuration for the fakes f, each channel
// with its kind's own settings type, and runs it through config's Check,
// so it gets the same defaults and validation as a file the merchant
// writes. Every channel polls and reconciles on the given schedules
// (default every 15s and 30s); the secrets are the fakes' own test
// credentials.
//
// Two settings differ from the defaults, for the demo's order rates:
// 16 intake workers (eBay and Amazon notifications carry no order, so each
// costs a worker one or two API round trips), and a poll overlap of 30s
// instead of 5m (every poll re-reads the overlap; at tens of orders a
// second, five minutes of Shopify orders cost more GraphQL points than a
// Plus store earns in that time; the fakes share one clock, so no skew
// needs covering).
func Config(f *Fakes, o ConfigOptions) (*config.Config, error) {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.Workers == 0 {
		o.Workers = 16
	}
	if o.Poll == 0 {
		o.Poll = 15 * time.Second
	}
	if o.Reconcile == 0 {
		o.Reconcile = 30 * time.Second
	}
	cfg := &config.Config{
		Redis:           config.Redis{Addr: o.RedisAddr, KeyPrefix: o.KeyPrefix, PoolSize: poolSize(o.Workers)},
		HTTP:            config.HTTP{Listen: o.Listen, AdminToken: config.NewSecret(o.AdminToken)},
		Sync:            config.Sync{Workers: o.Workers, PollOverlap: 30 * time.Second},
		Locations:       []config.Location{{ID: LocationWarehouse, Priority: 1}, {ID: LocationStore, Priority: 2}},
		Log:             config.Log{Level: o.LogLevel, Format: "console"},
		ShutdownTimeout: 10 * time.Second,
	}
	for _, name := range f.names {
		ch, err := f.channels[name].Config(sim.Env{Name: name, Listen: o.Listen, Locations: []string{LocationWarehouse, LocationStore}})
		if err != nil {
			return nil, fmt.Errorf("the demo's %s channel: %w", name, err)
		}
		cfg.Channels = append(cfg.Channels, ch)
	}
	for i := range cfg.Channels {
		ch := &cfg.Channels[i]
		ch.Poll, ch.Reconcile = "@every "+o.Poll.String(), "@every "+o.Reconcile.String()
		ch.Locations = []string{LocationWarehouse, LocationStore}
	}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("the demo's configuration: %w", err)
	}
	return cfg, nil
}

// poolSize sizes the Redis pool for the workers: each intake worker holds
// a connection while it blocks in XREADGROUP, and the ingest, pushers,
// scheduler and webhook receivers need their own besides; a pool smaller
// than that makes every Redis call wait for a free connection.
func poolSize(workers int) int { return 2*workers + 20 }
