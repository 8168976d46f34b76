package amazon

import (
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

func TestNewSettings(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	for _, tc := range []struct {
		name    string
		mutate  func(*config.Channel)
		wantErr string // "" : builds
	}{
		{"as configured", func(*config.Channel) {}, ""},
		{"no amazon block", func(ch *config.Channel) { ch.Settings = nil }, "amazon.seller_id"},
		{"no seller", func(ch *config.Channel) { settingsOf(ch).SellerID = "" }, "seller_id"},
		{"no marketplace", func(ch *config.Channel) { settingsOf(ch).MarketplaceIDs = nil }, "marketplace_ids"},
		{"no refresh token", func(ch *config.Channel) { ch.Credentials.RefreshToken = config.Secret{} }, "refresh_token"},
		{"bad region", func(ch *config.Channel) { ch.APIURL = ""; settingsOf(ch).Region = "us" }, "region"},
		{"bad api_url", func(ch *config.Channel) { ch.APIURL = "ftp://x" }, "api_url"},
		{"no webhook header", func(ch *config.Channel) { ch.Webhook.Header = "" }, "webhook.header"},
		{"half the AWS keys", func(ch *config.Channel) { ch.Credentials.AWSSecretAccessKey = config.Secret{} }, "go together"},
		{"queue without region", func(ch *config.Channel) { settingsOf(ch).SQS.Region = "" }, "sqs.region"},
		{"region from the queue URL", func(ch *config.Channel) {
			settingsOf(ch).SQS.Region = ""
			settingsOf(ch).SQS.QueueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := testChannel(srv)
			ch.Locations = []string{"main"}
			tc.mutate(&ch)
			// As the daemon does: config validates, the constructor trusts.
			ch, err := connectors.CheckChannel(ch)
			var c connectors.Connector
			if err == nil {
				c, err = New(connectors.TestDeps(ch))
			}
			if tc.wantErr == "" {
				if err != nil || c.Kind() != Kind {
					t.Fatalf("got %v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error naming %q", err, tc.wantErr)
			}
		})
	}
	// A channel that did not come through config has no settings: refused.
	ch := testChannel(srv)
	ch.Settings = nil
	if _, err := New(connectors.TestDeps(ch)); err == nil || !strings.Contains(err.Error(), "settings") {
		t.Fatalf("no settings: got %v, want an error naming the settings", err)
	}
}

func TestAPIBaseURL(t *testing.T) {
	for region, want := range map[string]string{
		"na": "https://sellingpartnerapi-na.amazon.com",
		"eu": "https://sellingpartnerapi-eu.amazon.com",
		"fe": "https://sellingpartnerapi-fe.amazon.com",
	} {
		if got := apiBaseURL("", region); got != want {
			t.Errorf("%s: %q", region, got)
		}
	}
	if got := apiBaseURL("https://sandbox.sellingpartnerapi-na.amazon.com/", "eu"); got != "https://sandbox.sellingpartnerapi-na.amazon.com" {
		t.Errorf("api_url: %q", got)
	}
}
