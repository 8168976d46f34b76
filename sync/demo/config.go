package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
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

// Config builds the daemon's configuration for the fakes f, as YAML run
// through config.Parse, so it gets the same defaults and validation as a
// file the merchant writes. Every channel polls and reconciles on the
// given schedules (default every 15s and 30s); the secrets are the fakes'
// own test credentials.
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
	every := func(d time.Duration) string { return fmt.Sprintf("%q", "@every "+d.String()) }
	sh := f.Shopify.Options()
	am := f.Amazon.Options()
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	var b strings.Builder
	fmt.Fprintf(&b, `redis:
  addr: %s
  key_prefix: %s
  pool_size: %d
http:
  listen: %s
  admin_token: %s
sync:
  workers: %d
  poll_overlap: 30s
locations:
  - {id: %s, priority: 1}
  - {id: %s, priority: 2}
channels:
  - name: %s
    kind: shopify
    api_url: %s
    credentials: {access_token: %s}
    webhook: {secrets: [%s]}
    poll: POLL_SPEC
    reconcile: RECONCILE_SPEC
    locations: [%s, %s]
    shopify:
      shop: %s
      api_version: %s
      location_ids: {%s: %s, %s: "gid://shopify/Location/999002"}
`, q(o.RedisAddr), q(o.KeyPrefix), poolSize(o.Workers), q(o.Listen), q(o.AdminToken), o.Workers,
		LocationWarehouse, LocationStore,
		Shopify, q(f.Shopify.URL()), q(sh.AccessToken), q(sh.WebhookSecret),
		LocationWarehouse, LocationStore, q(sh.Shop), q(sh.APIVersion),
		LocationWarehouse, q(sh.LocationID), LocationStore)
	fmt.Fprintf(&b, `  - name: %s
    kind: ebay
    api_url: %s
    credentials: {client_id: %s, client_secret: %s, refresh_token: %s}
    webhook:
      verification_token: %s
      endpoint_url: %s
    poll: POLL_SPEC
    reconcile: RECONCILE_SPEC
    locations: [%s, %s]
    ebay: {auth_url: %s}
`, Ebay, q(f.Ebay.URL()), q(ebaytest.DefaultClientID), q(ebaytest.DefaultClientSecret), q(ebaytest.DefaultRefreshToken),
		q("shelfsync-demo-verification-token-0123456789"), q("http://"+o.Listen+"/webhooks/"+Ebay),
		LocationWarehouse, LocationStore, q(f.Ebay.URL()))
	fmt.Fprintf(&b, `  - name: %s
    kind: amazon
    api_url: %s
    credentials:
      client_id: %s
      client_secret: %s
      refresh_token: %s
      aws_access_key_id: %s
      aws_secret_access_key: %s
    webhook: {disabled: true}
    poll: POLL_SPEC
    reconcile: RECONCILE_SPEC
    locations: [%s, %s]
    batch_size: 16
    amazon:
      seller_id: %s
      marketplace_ids: [%s]
      auth_url: %s
      feed_threshold: 17
      sqs: {queue_url: %s, region: %s, endpoint: %s, wait_time: 2s}
log:
  level: %s
  format: console
shutdown_timeout: 10s
`, Amazon, q(f.Amazon.URL), q(am.ClientID), q(am.ClientSecret), q(am.RefreshToken),
		q(am.AWSAccessKeyID), q(am.AWSSecretAccessKey), LocationWarehouse, LocationStore,
		q(am.SellerID), q(amazontest.DefaultMarketplace), q(f.Amazon.TokenURL()),
		q(f.Amazon.QueueURL()), q(amazontest.DefaultAWSRegion), q(f.Amazon.URL), q(o.LogLevel))
	text := strings.NewReplacer("POLL_SPEC", every(o.Poll), "RECONCILE_SPEC", every(o.Reconcile)).Replace(b.String())
	cfg, err := config.Parse("demo", []byte(text))
	if err != nil {
		return nil, fmt.Errorf("the demo's configuration: %w", err)
	}
	return cfg, nil
}

// poolSize sizes the Redis pool for the workers: each intake worker holds
// a connection while it blocks in XREADGROUP, and the ingest, pushers,
// scheduler and webhook receivers need their own besides; a pool smaller
// than that makes every Redis call wait for a free connection.
func poolSize(workers int) int { return 2*workers + 20 }
