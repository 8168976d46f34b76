package woocommerce

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

func TestSettingsDefaults(t *testing.T) {
	s := &Settings{URL: "https://shop.example.com"}
	s.Defaults()
	if s.APIPath != "/wp-json/wc/v3" || s.Timeout != 2*time.Minute || s.PageSize != 100 {
		t.Fatalf("defaults %+v", s)
	}
	before := *s
	s.Defaults()
	if fmt.Sprint(before) != fmt.Sprint(*s) {
		t.Fatal("Defaults is not idempotent")
	}
	if ps := s.check(); len(ps) != 0 {
		t.Fatalf("the defaults do not validate: %v", ps)
	}
}

// TestSettingsValidate: one problem per mistake, with its path relative
// to the channel and a message that says what to do.
func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Settings)
		path   string
		msg    string // a part of the message
		absent string // what the message must not quote
	}{
		{name: "no url", mod: func(s *Settings) { s.URL = "" }, path: "woocommerce.url", msg: "required"},
		{name: "plain http", mod: func(s *Settings) { s.URL = "http://shop.example.com" }, path: "woocommerce.url", msg: "clear text"},
		{name: "another scheme", mod: func(s *Settings) { s.URL = "ftp://shop.example.com" }, path: "woocommerce.url", msg: "https"},
		{name: "no host", mod: func(s *Settings) { s.URL = "shop.example.com" }, path: "woocommerce.url", msg: "no host"},
		{name: "credentials in the url", mod: func(s *Settings) { s.URL = "https://ck_1:cs_topsecret@shop.example.com" }, path: "woocommerce.url", msg: "credentials", absent: "cs_topsecret"},
		{name: "a query", mod: func(s *Settings) { s.URL = "https://shop.example.com/?consumer_key=x" }, path: "woocommerce.url", msg: "query"},
		{name: "a dot segment", mod: func(s *Settings) { s.URL = "https://shop.example.com/a/../b" }, path: "woocommerce.url", msg: ".."},
		{name: "api_path without /", mod: func(s *Settings) { s.APIPath = "wp-json/wc/v3" }, path: "woocommerce.api_path", msg: "start with /"},
		{name: "api_path with a query", mod: func(s *Settings) { s.APIPath = "/wp-json/wc/v3?x=1" }, path: "woocommerce.api_path", msg: "plain path"},
		{name: "api_path ..", mod: func(s *Settings) { s.APIPath = "/wp-json/../wc/v3" }, path: "woocommerce.api_path", msg: ".."},
		{name: "timeout too short", mod: func(s *Settings) { s.Timeout = time.Millisecond }, path: "woocommerce.timeout", msg: "at least 1s"},
		{name: "page_size over 100", mod: func(s *Settings) { s.PageSize = 101 }, path: "woocommerce.page_size", msg: "1 to 100"},
		{name: "negative page_size", mod: func(s *Settings) { s.PageSize = -1 }, path: "woocommerce.page_size", msg: "1 to 100"},
		{name: "location with spaces", mod: func(s *Settings) { s.Location = " berlin" }, path: "woocommerce.location", msg: "spaces"},
		{name: "status with the wc- prefix", mod: func(s *Settings) { s.Statuses = map[string]string{"wc-shipped": "shipped"} }, path: "woocommerce.statuses.wc-shipped", msg: `"shipped"`},
		{name: "status upper case", mod: func(s *Settings) { s.Statuses = map[string]string{"Shipped": "shipped"} }, path: "woocommerce.statuses", msg: "lower case"},
		{name: "unknown class", mod: func(s *Settings) { s.Statuses = map[string]string{"shipped": "sent"} }, path: "woocommerce.statuses.shipped", msg: "pending, open, shipped, cancelled, ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Settings{URL: "https://shop.example.com"}
			s.Defaults()
			tt.mod(s)
			ps := s.check()
			if len(ps) != 1 {
				t.Fatalf("problems %v, want one", ps)
			}
			if ps[0].Path != tt.path || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Fatalf("problem %q: %q, want %q containing %q", ps[0].Path, ps[0].Msg, tt.path, tt.msg)
			}
			if tt.absent != "" && strings.Contains(ps[0].Path+ps[0].Msg, tt.absent) {
				t.Fatalf("the message quotes %q: %s", tt.absent, ps[0].Msg)
			}
		})
	}
	ok := []string{"https://shop.example.com", "https://example.com/shop/", "http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80", "HTTPS://Shop.Example.com"}
	for _, u := range ok {
		s := &Settings{URL: u}
		s.Defaults()
		if ps := s.check(); len(ps) != 0 {
			t.Errorf("%s: %v", u, ps)
		}
	}
	s := &Settings{Statuses: map[string]string{"shipped": "shipped", "awaiting-pickup": "open", "pending": "cancelled", "quote": "ignore"}}
	s.Defaults()
	s.URL = "https://shop.example.com"
	if ps := s.check(); len(ps) != 0 {
		t.Errorf("statuses: %v", ps)
	}
}

func TestCredentialsValidate(t *testing.T) {
	var c Credentials
	ps := c.Validate(false)
	paths := []string{}
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, ",") != "credentials.client_id,credentials.client_secret,webhook.secrets" {
		t.Fatalf("problems %v", ps)
	}
	if ps := c.Validate(true); len(ps) != 2 {
		t.Fatalf("webhooks disabled: %v", ps)
	}
	c = Credentials{ConsumerKey: secret("ck"), ConsumerSecret: secret("cs"), WebhookSecrets: []config.Secret{secret("a"), {}}}
	if ps := c.Validate(false); len(ps) != 1 || ps[0].Path != "webhook.secrets[1]" {
		t.Fatalf("an empty secret: %v", ps)
	}
}

// TestNew: the kind is registered; a channel checked as config.Load
// checks it builds through the registry; validation refuses what the
// connector can not work with, naming the path; the factory refuses
// settings of another type and deps it can not use, and starts nothing.
func TestNew(t *testing.T) {
	if _, ok := connectors.Lookup(Kind); !ok {
		t.Fatal("kind woocommerce is not registered")
	}
	good := func() config.Channel {
		return config.Channel{
			Name: "woo", Kind: Kind, Locations: []string{"berlin"},
			Credentials: config.Credentials{ClientID: secret("ck"), ClientSecret: secret("cs")},
			Webhook:     config.Webhook{Secrets: []config.Secret{secret("wh")}},
			Settings:    &Settings{URL: "https://shop.example.com/", Location: "berlin"},
		}
	}
	for _, tt := range []struct {
		name string
		mod  func(*config.Channel)
		path string
	}{
		{"plain http", func(ch *config.Channel) { ch.Settings.(*Settings).URL = "http://shop.example.com" }, "woocommerce.url"},
		{"no consumer key", func(ch *config.Channel) { ch.Credentials.ClientID = config.Secret{} }, "credentials.client_id"},
		{"no consumer secret", func(ch *config.Channel) { ch.Credentials.ClientSecret = config.Secret{} }, "credentials.client_secret"},
		{"no webhook secret", func(ch *config.Channel) { ch.Webhook.Secrets = nil }, "webhook.secrets"},
		{"a location the channel does not sell from", func(ch *config.Channel) { ch.Settings.(*Settings).Location = "paris" }, "woocommerce.location"},
	} {
		ch := good()
		tt.mod(&ch)
		if _, err := connectors.CheckChannel(ch); err == nil || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: %v, want a problem at %s", tt.name, err, tt.path)
		}
	}
	noHooks := good()
	noHooks.Webhook = config.Webhook{Disabled: true}
	noHooks.Poll = "@every 5m"
	if _, err := connectors.CheckChannel(noHooks); err != nil {
		t.Errorf("webhooks disabled, no secret: %v", err)
	}

	ch, err := connectors.CheckChannel(good())
	if err != nil {
		t.Fatal(err)
	}
	deps := connectors.TestDeps(ch)
	wrong := deps
	wrong.Channel.Settings = nil
	if _, err := New(wrong); err == nil || !strings.Contains(err.Error(), "woocommerce") {
		t.Fatalf("no settings: %v", err)
	}
	noHTTP := deps
	noHTTP.HTTP = nil
	if _, err := New(noHTTP); err == nil {
		t.Fatal("no HTTP client")
	}
	conn, err := connectors.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	c := conn.(*Connector)
	if c.base != "https://shop.example.com/wp-json/wc/v3" || c.pageSize != 100 || c.mapping.location != "berlin" {
		t.Fatalf("base %q page %d location %q", c.base, c.pageSize, c.mapping.location)
	}
	if c.Kind() != "woocommerce" || c.Ready() != nil {
		t.Fatal("kind or ready")
	}
	// Two instances register their metrics on their own registries.
	if _, err := New(connectors.TestDeps(ch)); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsStayOut: the consumer key and secret never reach a log line,
// an error or a print of the connector, whatever fails.
func TestSecretsStayOut(t *testing.T) {
	const key, sec = "ck_SUPERKEY0123", "cs_SUPERSECRET0123"
	s := newFake(t, woocommercetest.Options{ConsumerKey: "ck_other", ConsumerSecret: "cs_other"})
	var logs bytes.Buffer
	f := newTestConnector(t, s, func(_ *Settings, c *Credentials, d *connectors.Deps) {
		c.ConsumerKey, c.ConsumerSecret = secret(key), secret(sec)
		d.Logger = zerolog.New(&logs).Level(zerolog.DebugLevel)
	})
	ctx := context.Background()
	var errs []error
	_, err := f.c.PollOrders(ctx, time.Now().Add(-time.Hour), (&collect{}).emit)
	errs = append(errs, err)
	_, err = f.c.FetchOrder(ctx, "1")
	errs = append(errs, err)
	_, err = f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "A", Quantity: 1}})
	errs = append(errs, err)
	_, err = f.c.ReadQuantities(ctx, []string{"A"})
	errs = append(errs, err)
	errs = append(errs, f.c.Ready())
	out := logs.String() + fmt.Sprintf("%v %+v %#v", f.c, f.c, f.c.auth)
	for _, e := range errs {
		if e == nil {
			t.Fatal("a call with a wrong key succeeded")
		}
		out += e.Error()
	}
	encoded := newBasicAuth(key, sec).header
	for _, s := range []string{key, sec, encoded, strings.TrimPrefix(encoded, "Basic ")} {
		if strings.Contains(out, s) {
			t.Fatalf("%q leaked: %s", s, out)
		}
	}
}
