package demo

import (
	"fmt"
	"strings"

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
}

// Config builds the daemon's configuration for the fakes f, as YAML run
// through config.Parse, so it gets the same defaults and validation as a
// file the merchant writes. Every channel polls every 15s and reconciles
// every 30s; the secrets are the fakes' own test credentials.
func Config(f *Fakes, o ConfigOptions) (*config.Config, error) {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	sh := f.Shopify.Options()
	am := f.Amazon.Options()
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	var b strings.Builder
	fmt.Fprintf(&b, `redis:
  addr: %s
  key_prefix: %s
http:
  listen: %s
  admin_token: %s
sync:
  workers: 8
locations:
  - {id: %s, priority: 1}
  - {id: %s, priority: 2}
channels:
  - name: %s
    kind: shopify
    api_url: %s
    credentials: {access_token: %s}
    webhook: {secrets: [%s]}
    poll: "@every 15s"
    reconcile: "@every 30s"
    locations: [%s, %s]
    shopify:
      shop: %s
      api_version: %s
      location_ids: {%s: %s, %s: "gid://shopify/Location/999002"}
`, q(o.RedisAddr), q(o.KeyPrefix), q(o.Listen), q(o.AdminToken),
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
    poll: "@every 15s"
    reconcile: "@every 30s"
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
    poll: "@every 15s"
    reconcile: "@every 30s"
    locations: [%s, %s]
    batch_size: 50
    amazon:
      seller_id: %s
      marketplace_ids: [%s]
      auth_url: %s
      feed_threshold: 51
      sqs: {queue_url: %s, region: %s, endpoint: %s, wait_time: 2s}
log:
  level: %s
  format: console
shutdown_timeout: 10s
`, Amazon, q(f.Amazon.URL), q(am.ClientID), q(am.ClientSecret), q(am.RefreshToken),
		q(am.AWSAccessKeyID), q(am.AWSSecretAccessKey), LocationWarehouse, LocationStore,
		q(am.SellerID), q(amazontest.DefaultMarketplace), q(f.Amazon.TokenURL()),
		q(f.Amazon.QueueURL()), q(amazontest.DefaultAWSRegion), q(f.Amazon.URL), q(o.LogLevel))
	cfg, err := config.Parse("demo", []byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("the demo's configuration: %w", err)
	}
	return cfg, nil
}
