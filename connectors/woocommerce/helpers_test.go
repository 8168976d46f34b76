package woocommerce

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// testNow is the clock of connectors and fakes that need a fixed one.
var testNow = time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)

func newFake(t *testing.T, opts woocommercetest.Options) *woocommercetest.Server {
	t.Helper()
	s := woocommercetest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// fixture is the connector's view of a test: its fake store, the
// connector and its metrics registry.
type fixture struct {
	store *woocommercetest.Server
	c     *Connector
	reg   *prometheus.Registry
}

// newTestConnector builds a connector against s through the factory New
// (the settings defaulted and validated as config.Load does), with the
// channel name "woo" and the fake's credentials; mod may change the
// settings, the credentials or the deps first.
func newTestConnector(t *testing.T, s *woocommercetest.Server, mod func(*Settings, *Credentials, *connectors.Deps)) *fixture {
	t.Helper()
	o := s.Options()
	st := &Settings{URL: s.URL(), PageSize: 2}
	cred := Credentials{
		ConsumerKey:    config.NewSecret(o.ConsumerKey),
		ConsumerSecret: config.NewSecret(o.ConsumerSecret),
		WebhookSecrets: []config.Secret{config.NewSecret(o.WebhookSecret)},
	}
	deps := connectors.TestDeps(config.Channel{Name: "woo", Kind: Kind, MaxRetries: 1})
	reg := prometheus.NewRegistry()
	deps.Registerer = reg
	if mod != nil {
		mod(st, &cred, &deps)
	}
	st.Defaults()
	ch := &deps.Channel
	ch.Credentials.ClientID, ch.Credentials.ClientSecret = cred.ConsumerKey, cred.ConsumerSecret
	ch.Webhook.Secrets = cred.WebhookSecrets
	ch.Webhook.Disabled = ch.Webhook.Disabled || len(cred.WebhookSecrets) == 0
	ch.Settings = st
	if ps := st.Validate(ch); len(ps) > 0 {
		t.Fatalf("settings: %v", ps)
	}
	c, err := New(deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{store: s, c: c.(*Connector), reg: reg}
}

// webhookRequest turns a request built by the fake into what the
// framework hands ParseWebhook.
func webhookRequest(t *testing.T, req *http.Request) *connectors.WebhookRequest {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &connectors.WebhookRequest{Method: req.Method, URL: req.URL, Header: req.Header, Body: body, ReceivedAt: testNow}
}

// signed is a delivery of body on topic, signed by the fake's secret.
func signed(t *testing.T, s *woocommercetest.Server, topic string, body []byte) *connectors.WebhookRequest {
	t.Helper()
	req, err := s.NewWebhook(context.Background(), "https://sync.example.com/webhooks/woo", topic, body)
	if err != nil {
		t.Fatal(err)
	}
	return webhookRequest(t, req)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func webhookStatus(err error) (int, string) {
	var we *connectors.WebhookError
	if errors.As(err, &we) {
		return we.Status, we.Reason
	}
	return 0, ""
}

// counter reads a counter of the fixture's registry by name and labels.
func (f *fixture) counter(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			match := true
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					match = false
				}
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func i64(n int64) *int64 { return &n }

// collect is an emit that keeps every page.
type collect struct{ pages [][]connectors.Order }

func (c *collect) emit(_ context.Context, p []connectors.Order) error {
	c.pages = append(c.pages, append([]connectors.Order(nil), p...))
	return nil
}

func (c *collect) orders() map[string]connectors.Order {
	out := map[string]connectors.Order{}
	for _, p := range c.pages {
		for _, o := range p {
			out[o.OrderID] = o
		}
	}
	return out
}

func secret(v string) config.Secret { return config.NewSecret(v) }

// newStub is a bare test server standing in for a store (answers the
// fake would not give).
func newStub(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
