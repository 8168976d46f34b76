package demo

import (
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/connectors/shopify"
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
		Channels:        []config.Channel{shopifyChannel(f), ebayChannel(f, o), amazonChannel(f)},
		Log:             config.Log{Level: o.LogLevel, Format: "console"},
		ShutdownTimeout: 10 * time.Second,
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

func shopifyChannel(f *Fakes) config.Channel {
	sh := f.Shopify.Options()
	return config.Channel{
		Name: Shopify, Kind: shopify.Kind, APIURL: f.Shopify.URL(),
		Credentials: config.Credentials{AccessToken: config.NewSecret(sh.AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(sh.WebhookSecret)}},
		Settings: &shopify.Settings{Shop: sh.Shop, APIVersion: sh.APIVersion,
			LocationIDs: map[string]string{LocationWarehouse: sh.LocationID, LocationStore: "gid://shopify/Location/999002"}},
	}
}

func ebayChannel(f *Fakes, o ConfigOptions) config.Channel {
	return config.Channel{
		Name: Ebay, Kind: ebay.Kind, APIURL: f.Ebay.URL(),
		Credentials: config.Credentials{ClientID: config.NewSecret(ebaytest.DefaultClientID),
			ClientSecret: config.NewSecret(ebaytest.DefaultClientSecret), RefreshToken: config.NewSecret(ebaytest.DefaultRefreshToken)},
		Webhook: config.Webhook{VerificationToken: config.NewSecret("shelfsync-demo-verification-token-0123456789"),
			EndpointURL: "http://" + o.Listen + "/webhooks/" + Ebay},
		Settings: &ebay.Settings{AuthURL: f.Ebay.URL()},
	}
}

func amazonChannel(f *Fakes) config.Channel {
	am := f.Amazon.Options()
	return config.Channel{
		Name: Amazon, Kind: amazon.Kind, APIURL: f.Amazon.URL,
		Credentials: config.Credentials{ClientID: config.NewSecret(am.ClientID), ClientSecret: config.NewSecret(am.ClientSecret),
			RefreshToken: config.NewSecret(am.RefreshToken), AWSAccessKeyID: config.NewSecret(am.AWSAccessKeyID),
			AWSSecretAccessKey: config.NewSecret(am.AWSSecretAccessKey)},
		Webhook:   config.Webhook{Disabled: true},
		BatchSize: 16,
		Settings: &amazon.Settings{SellerID: am.SellerID, MarketplaceIDs: []string{amazontest.DefaultMarketplace},
			AuthURL: f.Amazon.TokenURL(), FeedThreshold: 17,
			SQS: amazon.SQS{QueueURL: f.Amazon.QueueURL(), Region: amazontest.DefaultAWSRegion, Endpoint: f.Amazon.URL, WaitTime: 2 * time.Second}},
	}
}

// poolSize sizes the Redis pool for the workers: each intake worker holds
// a connection while it blocks in XREADGROUP, and the ingest, pushers,
// scheduler and webhook receivers need their own besides; a pool smaller
// than that makes every Redis call wait for a free connection.
func poolSize(workers int) int { return 2*workers + 20 }
