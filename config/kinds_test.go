package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/amazon"
	"github.com/shelfsync/shelfsync/connectors/ebay"
	"github.com/shelfsync/shelfsync/connectors/shopify"
)

// The config tests run with real kinds registered: these three, named
// here rather than through connectors/all so that the set, and the
// testdata/bad messages listing it, stay fixed when a kind is added.
// (This external test package links them into the whole test binary, so
// the package's own tests see them too: config itself knows no kind.)

// TestRegisteredKinds: the kinds these tests run with.
func TestRegisteredKinds(t *testing.T) {
	if got := config.Kinds(); strings.Join(got, ",") != "amazon,ebay,shopify" {
		t.Fatalf("Kinds() = %v", got)
	}
	if config.NewSettings("etsy") != nil {
		t.Fatal("settings of a kind that is not registered")
	}
	if _, ok := config.NewSettings("shopify").(*shopify.Settings); !ok {
		t.Fatal("shopify's settings are not *shopify.Settings")
	}
}

// TestFullConfigKindSettings: each channel of the full config gets its
// kind's block, decoded and defaulted, in Settings.
func TestFullConfigKindSettings(t *testing.T) {
	config.SetTestEnv(t)
	cfg, err := config.Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sh, ok1 := cfg.Channels[0].Settings.(*shopify.Settings)
	eb, ok2 := cfg.Channels[1].Settings.(*ebay.Settings)
	am, ok3 := cfg.Channels[2].Settings.(*amazon.Settings)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("settings %T %T %T", cfg.Channels[0].Settings, cfg.Channels[1].Settings, cfg.Channels[2].Settings)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"shopify api version default", sh.APIVersion, shopify.DefaultAPIVersion},
		{"shopify location ids", sh.LocationIDs["store"], "gid://shopify/Location/2"},
		{"ebay marketplace", eb.MarketplaceID, "EBAY_GB"},
		{"amazon feed threshold default", am.FeedThreshold, amazon.DefaultFeedThreshold},
		{"amazon orders api default", am.OrdersAPI, amazon.OrdersV2026},
		{"amazon sqs wait", am.SQS.WaitTime, 10 * time.Second},
		{"channel by name", cfg.ChannelByName("ebay-us").Kind, ebay.Kind},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestKindBlockMissing: a channel without its kind's block gets the
// kind's defaults, and its validation.
func TestKindBlockMissing(t *testing.T) {
	cfg, err := config.Parse("t", []byte(`locations: [{id: main}]
channels:
  - name: e
    kind: ebay
    credentials: {client_id: a, client_secret: b, refresh_token: c}
    webhook: {disabled: true}
    poll: "@every 5m"
    locations: [main]
`))
	if err != nil {
		t.Fatal(err)
	}
	if eb := cfg.Channels[0].Settings.(*ebay.Settings); eb.MarketplaceID != ebay.DefaultMarketplace {
		t.Fatalf("marketplace %q", eb.MarketplaceID)
	}
}

// TestKindBlockDecoding: the kind's block is decoded as strictly as the
// rest, with lines, paths and hidden secrets.
func TestKindBlockDecoding(t *testing.T) {
	head := "locations: [{id: main}]\nchannels:\n  - name: a\n    kind: amazon\n    webhook: {disabled: true}\n    poll: \"@every 5m\"\n    locations: [main]\n" +
		"    credentials: {client_id: a, client_secret: S3CRET-client, refresh_token: c}\n"
	tests := []struct {
		name, block string
		want        []string
	}{
		{"unknown key", "    amazon: {seller_id: s, marketplace_ids: [m], sellr: x}\n",
			[]string{`line 9: channels[0].amazon.sellr: unknown key "sellr" (known here: auth_url, feed_threshold, marketplace_ids, orders_api, product_type, read_ship_to, region, seller_id, sqs)`}},
		{"unknown nested key", "    amazon:\n      seller_id: s\n      marketplace_ids: [m]\n      sqs: {queue: x}\n",
			[]string{`line 12: channels[0].amazon.sqs.queue: unknown key "queue" (known here: endpoint, max_messages, queue_url, region, wait_time)`}},
		{"wrong type", "    amazon: {seller_id: s, marketplace_ids: [m], feed_threshold: many}\n",
			[]string{`line 9: channels[0].amazon.feed_threshold: "many" is not a whole number`}},
		{"a struct given a scalar", "    amazon: {seller_id: s, marketplace_ids: [m], sqs: none}\n",
			[]string{`line 9: channels[0].amazon.sqs: "none" is not a mapping`}},
		{"block not a mapping", "    amazon: [a]\n",
			[]string{`line 9: channels[0].amazon: got a list, want a mapping`,
				`line 9: channels[0].amazon.seller_id: is required`,
				`line 9: channels[0].amazon.marketplace_ids: at least one marketplace id is required`}},
		{"validation", "    amazon:\n      seller_id: s\n      marketplace_ids: [m]\n      region: mars\n",
			[]string{`line 12: channels[0].amazon.region: must be na, eu or fe, got "mars"`}},
		{"unknown key next to the kind's", "    amazon: {seller_id: s, marketplace_ids: [m]}\n    shopfy: {}\n",
			[]string{`line 10: channels[0].shopfy: unknown key "shopfy" (known here: allocation, amazon, api_url, batch_size, burst, carriers, credentials, kind, locations, max_retries, name, poll, poll_lookback, rate_limit, reconcile, returns, stock_mode, sync_mode, timeout, webhook, zero_unmapped_locations)`}},
		{"block of another kind", "    amazon: {seller_id: s, marketplace_ids: [m]}\n    shopify: {shop: x}\n",
			[]string{`line 10: channels[0].shopify: shopify settings on a channel of kind "amazon"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse("t", []byte(head+tt.block))
			var cerr *config.Error
			if err == nil || !asError(err, &cerr) {
				t.Fatalf("got %v", err)
			}
			var got []string
			for _, p := range cerr.Problems {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("a secret in %v", err)
			}
		})
	}
}

func asError(err error, target **config.Error) bool {
	e, ok := err.(*config.Error)
	*target = e
	return ok
}
