package ebay

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// TestTokenRefreshUnderConcurrentCallers: however many calls wait, one
// refresh runs; the token is refreshed before it expires (the fake would
// refuse it after), and again only once.
func TestTokenRefreshUnderConcurrentCallers(t *testing.T) {
	e := newEnv(t, envConfig{fake: ebaytest.Options{TokenTTL: 2 * time.Hour}})
	e.fake.AddOrder(ebaytest.Order{OrderID: "01-00001-00001", LineItems: []ebaytest.LineItem{{LineItemID: "1", SKU: "A", Quantity: 1}}})
	fetchAll := func() {
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.conn.FetchOrder(context.Background(), "01-00001-00001"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	fetchAll()
	if got := e.fake.Refreshes(); got != 1 {
		t.Fatalf("refreshes after 32 concurrent calls = %d; want 1", got)
	}
	// Inside the refresh margin but before expiry: refreshed ahead of time.
	e.clock.Advance(2*time.Hour - 3*time.Minute)
	fetchAll()
	if got := e.fake.Refreshes(); got != 2 {
		t.Fatalf("refreshes near expiry = %d; want 2", got)
	}
	if got := counter(t, e.conn.metrics.tokenRejections); got != 0 {
		t.Fatalf("401s seen = %v; want none (refreshed before expiry)", got)
	}
	// Past the fake's expiry without the connector noticing (its clock
	// lags): eBay answers 401, the connector refreshes once and retries.
	e.fake.RevokeTokens()
	fetchAll()
	if got := e.fake.Refreshes(); got < 3 {
		t.Fatalf("refreshes after revocation = %d; want at least 3", got)
	}
	if got := counter(t, e.conn.metrics.tokenRejections); got < 1 {
		t.Fatalf("401s seen = %v; want at least one", got)
	}
}

func TestCredentialsRefused(t *testing.T) {
	tests := []struct {
		name     string
		channel  func(*config.Channel)
		wantCode string
		secret   string
	}{
		{name: "wrong client secret", channel: func(ch *config.Channel) { ch.Credentials.ClientSecret = config.NewSecret("s3cr3t-wrong") },
			wantCode: "invalid_client", secret: "s3cr3t-wrong"},
		{name: "revoked refresh token", channel: func(ch *config.Channel) { ch.Credentials.RefreshToken = config.NewSecret("v^1.1#revoked-token") },
			wantCode: "invalid_grant", secret: "v^1.1#revoked-token"},
		{name: "scope not granted", channel: func(ch *config.Channel) {
			settingsOf(ch).Scopes = []string{"https://api.ebay.com/oauth/api_scope/sell.account"}
		}, wantCode: "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{channel: tc.channel})
			if err := e.conn.Ready(); err != nil {
				t.Fatalf("Ready before any call = %v; want nil", err)
			}
			_, err := e.conn.FetchOrder(context.Background(), "01-00001-00001")
			if err == nil || !strings.Contains(err.Error(), tc.wantCode) {
				t.Fatalf("FetchOrder error = %v; want %s", err, tc.wantCode)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error %q leaks a credential", err)
			}
			if err := e.conn.Ready(); err == nil || !strings.Contains(err.Error(), tc.wantCode) {
				t.Fatalf("Ready = %v; want the refusal", err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	base := func() config.Channel {
		return config.Channel{
			Name: "e", Kind: Kind, Locations: []string{"main"}, Webhook: config.Webhook{Disabled: true}, Poll: "@every 5m",
			Credentials: config.Credentials{ClientID: config.NewSecret("id"), ClientSecret: config.NewSecret("s"), RefreshToken: config.NewSecret("r")},
		}
	}
	tests := []struct {
		name    string
		mutate  func(*config.Channel)
		opts    Options
		wantErr string
		check   func(*testing.T, *Connector)
	}{
		{name: "defaults", check: func(t *testing.T, c *Connector) {
			if c.api != DefaultAPIURL || c.user.TokenURL != DefaultAPIURL+tokenPath || c.marketplace != "EBAY_US" ||
				strings.Join(c.user.Scopes, " ") != strings.Join(DefaultScopes, " ") || c.opts.RevisionCeiling != DefaultRevisionCeiling {
				t.Fatalf("defaults not applied: api %s token %s marketplace %s scopes %v", c.api, c.user.TokenURL, c.marketplace, c.user.Scopes)
			}
		}},
		{name: "auth_url as base", mutate: func(ch *config.Channel) { ch.Settings = &Settings{AuthURL: "https://api.sandbox.ebay.com/"} },
			check: func(t *testing.T, c *Connector) {
				if c.user.TokenURL != "https://api.sandbox.ebay.com"+tokenPath || c.app.TokenURL != c.user.TokenURL {
					t.Fatalf("token URL = %s", c.user.TokenURL)
				}
			}},
		{name: "auth_url as the full endpoint", mutate: func(ch *config.Channel) {
			ch.Settings = &Settings{AuthURL: "https://api.sandbox.ebay.com/identity/v1/oauth2/token"}
		}, check: func(t *testing.T, c *Connector) {
			if c.user.TokenURL != "https://api.sandbox.ebay.com"+tokenPath {
				t.Fatalf("token URL = %s", c.user.TokenURL)
			}
		}},
		{name: "missing secrets", mutate: func(ch *config.Channel) { ch.Credentials = config.Credentials{} },
			wantErr: "channels[0].credentials.client_id: is required\n  channels[0].credentials.client_secret: is required\n  channels[0].credentials.refresh_token: is required"},
		{name: "wrong kind", mutate: func(ch *config.Channel) { ch.Kind = "shopify" }, wantErr: "kind"},
		{name: "bad api_url", mutate: func(ch *config.Channel) { ch.APIURL = "ftp://x" }, wantErr: "api_url"},
		{name: "ceiling above eBay's limit", opts: Options{RevisionCeiling: 251}, wantErr: "revision ceiling"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := base()
			if tc.mutate != nil {
				tc.mutate(&ch)
			}
			// As the daemon does: config validates, the constructor trusts.
			ch, err := connectors.CheckChannel(ch)
			var c *Connector
			if err == nil {
				c, err = NewWithOptions(connectors.TestDeps(ch), tc.opts)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestRegistered: the daemon builds the connector through the registry.
func TestRegistered(t *testing.T) {
	ch := config.Channel{Name: "e", Kind: Kind, Settings: defaultSettings(),
		Credentials: config.Credentials{ClientID: config.NewSecret("id"), ClientSecret: config.NewSecret("s"), RefreshToken: config.NewSecret("r")}}
	c, err := connectors.New(connectors.TestDeps(ch))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*Connector); !ok || c.Kind() != "ebay" {
		t.Fatalf("registry built %T (%s)", c, c.Kind())
	}
}
