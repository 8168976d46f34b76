package amazon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

const (
	testRelayHeader = "X-Relay-Secret"
	testSecretOld   = "relay-secret-old-0123456789"
	testSecretNew   = "relay-secret-new-9876543210"
)

// clock is a settable clock shared by a test's connector and fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fastRates is a usage plan far above Amazon's, for every operation the
// connector calls and the JSON_LISTINGS_FEED limit: the fake enforces and
// announces it, and it never slows a test down. Tests of pacing itself
// leave the fake at the published plan.
func fastRates() map[string]float64 {
	m := map[string]float64{amazontest.FeedTypeListings: 1000}
	for op := range publishedLimits {
		m[op] = 1000
	}
	return m
}

// pacedRate is the limiter rate of a plan's rate (computed at run time,
// as the connector does).
func pacedRate(v float64) float64 { return v * paceMargin }

// newFake starts a fake Amazon on clk, closed when the test ends.
func newFake(t testing.TB, clk *clock, mutate func(*amazontest.Options)) *amazontest.Server {
	t.Helper()
	o := amazontest.Options{Now: clk.Now, RateLimits: fastRates()}
	if mutate != nil {
		mutate(&o)
	}
	srv := amazontest.New(o)
	t.Cleanup(srv.Close)
	return srv
}

// testChannel is an amazon channel pointed at srv, defaults applied.
func testChannel(srv *amazontest.Server) config.Channel {
	o := srv.Options()
	return config.Channel{
		Name:       "amazon-us",
		Kind:       Kind,
		APIURL:     srv.URL,
		MaxRetries: 3,
		Timeout:    10 * time.Second,
		Credentials: config.Credentials{
			ClientID:           config.NewSecret(o.ClientID),
			ClientSecret:       config.NewSecret(o.ClientSecret),
			RefreshToken:       config.NewSecret(o.RefreshToken),
			AWSAccessKeyID:     config.NewSecret(o.AWSAccessKeyID),
			AWSSecretAccessKey: config.NewSecret(o.AWSSecretAccessKey),
		},
		Webhook: config.Webhook{
			Header:  testRelayHeader,
			Secrets: []config.Secret{config.NewSecret(testSecretOld), config.NewSecret(testSecretNew)},
		},
		Settings: defaulted(&Settings{
			SellerID:       o.SellerID,
			MarketplaceIDs: []string{amazontest.DefaultMarketplace},
			Region:         "na",
			AuthURL:        srv.TokenURL(),
			ProductType:    "PRODUCT",
			FeedThreshold:  DefaultFeedThreshold,
			SQS: SQS{
				QueueURL:    srv.QueueURL(),
				Region:      amazontest.DefaultAWSRegion,
				Endpoint:    srv.URL,
				WaitTime:    time.Second,
				MaxMessages: 10,
			},
		}),
	}
}

// defaulted is s with its defaults applied, as config.Load hands settings on.
func defaulted(s *Settings) *Settings {
	s.Defaults()
	return s
}

// settingsOf is ch's Amazon settings.
func settingsOf(ch *config.Channel) *Settings { return ch.Settings.(*Settings) }

// newTestConnector builds a connector on srv with fast limits and feed polling.
func newTestConnector(t testing.TB, srv *amazontest.Server, clk *clock, mutate func(*config.Channel), opts ...option) *Connector {
	t.Helper()
	ch := testChannel(srv)
	if mutate != nil {
		mutate(&ch)
	}
	deps := connectors.TestDeps(ch)
	deps.Now = clk.Now
	all := append([]option{withLimits(1000, 100, false), withFeedPolling(time.Millisecond, 4*time.Millisecond, 10*time.Second)}, opts...)
	c, err := newConnector(deps, all...)
	if err != nil {
		t.Fatalf("newConnector: %v", err)
	}
	return c
}

// ordersAPIs are the Orders API versions the connector speaks
// (amazon.orders_api): tests of orders run against each.
var ordersAPIs = OrdersAPIs

// withOrdersAPI sets amazon.orders_api.
func withOrdersAPI(api string) func(*config.Channel) {
	return func(ch *config.Channel) { settingsOf(ch).OrdersAPI = api }
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls cond until it holds or the test's patience (10s) ends.
// It waits for a state, it asserts nothing about time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		if errors.Is(connectors.WaitContext(ctx, 5*time.Millisecond), context.DeadlineExceeded) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
