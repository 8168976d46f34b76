package ebay

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

const (
	testVerificationToken = "71745723-d031-455c-bfa5-f90d11b4f20a"
	testEndpointURL       = "https://shelfsync.example.com/webhooks/ebay-test"
)

// clock is a settable time shared by the fake and the connector, so token
// expiry and key cache expiry can be stepped over without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a connector wired to a fresh fake.
type env struct {
	fake  *ebaytest.Server
	conn  *Connector
	deps  connectors.Deps
	clock *clock
}

type envConfig struct {
	fake    ebaytest.Options
	opts    Options
	channel func(*config.Channel)
}

// defaultSettings are eBay settings with every default, as Load hands them on.
func defaultSettings() *Settings {
	s := &Settings{}
	s.Defaults()
	return s
}

// settingsOf is ch's eBay settings.
func settingsOf(ch *config.Channel) *Settings { return ch.Settings.(*Settings) }

func newEnv(t testing.TB, ec envConfig) *env {
	t.Helper()
	clk := newClock()
	if ec.fake.Now == nil {
		ec.fake.Now = clk.Now
	}
	fake := ebaytest.New(ec.fake)
	t.Cleanup(fake.Close)
	ch := config.Channel{
		Name:   "ebay-test",
		Kind:   Kind,
		APIURL: fake.URL(),
		Credentials: config.Credentials{
			ClientID:     config.NewSecret("test-client-id"),
			ClientSecret: config.NewSecret("test-client-secret"),
			RefreshToken: config.NewSecret("test-refresh-token"),
		},
		Webhook: config.Webhook{
			VerificationToken: config.NewSecret(testVerificationToken),
			EndpointURL:       testEndpointURL,
		},
		MaxRetries: 3,
		Settings:   defaultSettings(),
	}
	if ec.channel != nil {
		ec.channel(&ch)
	}
	deps := connectors.TestDeps(ch)
	deps.Now = clk.Now
	conn, err := NewWithOptions(deps, ec.opts)
	if err != nil {
		t.Fatalf("NewWithOptions: %v", err)
	}
	return &env{fake: fake, conn: conn, deps: deps, clock: clk}
}

// counter reads a counter (a Counter, or one child of a CounterVec).
func counter(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatalf("reading a counter: %v", err)
	}
	return m.GetCounter().GetValue()
}
