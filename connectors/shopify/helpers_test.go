package shopify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// newFake starts a fake store with a fast cost bucket (tests never wait
// long) unless opts says otherwise.
func newFake(t *testing.T, opts shopifytest.Options) *shopifytest.Server {
	t.Helper()
	if opts.RestoreRate == 0 {
		opts.RestoreRate = 100000
	}
	s := shopifytest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// channelFor is a channel config pointing at the fake store.
func channelFor(s *shopifytest.Server) config.Channel {
	o := s.Options()
	return config.Channel{
		Name:        "shop-eu",
		Kind:        Kind,
		APIURL:      s.URL(),
		Credentials: config.Credentials{AccessToken: config.NewSecret(o.AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(o.WebhookSecret)}},
		Locations:   []string{"main"},
		MaxRetries:  2,
		Settings: &Settings{
			Shop:        o.Shop,
			APIVersion:  o.APIVersion,
			LocationIDs: map[string]string{"main": o.LocationID, "pos": "gid://shopify/Location/905684977"},
		},
	}
}

// settingsOf is ch's Shopify settings.
func settingsOf(ch *config.Channel) *Settings { return ch.Settings.(*Settings) }

func newTestConnector(t *testing.T, s *shopifytest.Server, mod func(*config.Channel)) *Connector {
	t.Helper()
	ch := channelFor(s)
	if mod != nil {
		mod(&ch)
	}
	c, err := newConnector(connectors.TestDeps(ch))
	if err != nil {
		t.Fatalf("newConnector: %v", err)
	}
	return c
}

// webhookRequest turns a request built by the fake into what the
// framework hands ParseWebhook.
func webhookRequest(t *testing.T, req *http.Request) *connectors.WebhookRequest {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &connectors.WebhookRequest{Method: req.Method, URL: req.URL, Header: req.Header, Body: body, ReceivedAt: time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)}
}

func signed(t *testing.T, s *shopifytest.Server, topic string, body []byte, eventID string) *connectors.WebhookRequest {
	t.Helper()
	req, err := s.NewWebhook(context.Background(), "http://shelfsync.test/webhooks/shop-eu", topic, body, eventID)
	if err != nil {
		t.Fatal(err)
	}
	return webhookRequest(t, req)
}

func errorsIsNotFound(err error) bool { return errors.Is(err, connectors.ErrNotFound) }
