package amazon

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/internal/oauth"
)

// Kind is the registry kind.
const Kind = "amazon"

// DefaultAuthURL is Login with Amazon's token endpoint.
const DefaultAuthURL = "https://api.amazon.com/auth/o2/token"

// maxBatch is the most messages one JSON_LISTINGS_FEED may carry.
const maxBatch = 25000

// orderVisibilityDelay: getOrders refuses a LastUpdatedBefore later than two
// minutes before now, because an order's change shows there only then. A
// few seconds more keep a skewed clock from being refused.
const orderVisibilityDelay = 2*time.Minute + 10*time.Second

func init() {
	connectors.Register(connectors.Kind{
		Name:      Kind,
		Settings:  func() config.KindSettings { return &Settings{} },
		New:       New,
		Normalize: Normalize,
	})
}

// Connector is one Amazon seller account in one region. It implements
// every role but Runner; New returns a *QueueConnector (which adds Run)
// when the channel has an SQS queue configured.
type Connector struct {
	name        string
	sellerID    string
	marketplace []string
	productType string
	threshold   int
	baseURL     string

	log     zerolog.Logger
	http    *http.Client
	now     func() time.Time
	tokens  *oauth.RefreshSource
	limits  *limiters
	metrics *metrics

	secrets [][]byte
	header  string

	orders orderSource

	// feedPoll is the first wait between getFeed calls (it doubles up to
	// feedPollMax); feedWait bounds the whole wait for a feed's processing.
	feedPoll    time.Duration
	feedPollMax time.Duration
	feedWait    time.Duration
	// workers is how many listing calls run at once; the limiters pace
	// them. Enough to use a raised usage plan at ~100 ms per call (a
	// plan's rate times the call's latency); at the published 5/s the
	// limiter, not the workers, sets the pace.
	workers int
	// authErr is the last refusal of the credentials by Login with Amazon.
	authErr atomic.Pointer[authFailure]
	// lineIDs remembers orders' item ids by SKU, for returns (the returns
	// report names SKUs only).
	lineIDs lineCache
}

var (
	_ connectors.Connector         = (*Connector)(nil)
	_ connectors.OrderPoller       = (*Connector)(nil)
	_ connectors.OrderFetcher      = (*Connector)(nil)
	_ connectors.WebhookVerifier   = (*Connector)(nil)
	_ connectors.QuantityPusher    = (*Connector)(nil)
	_ connectors.QuantityReader    = (*Connector)(nil)
	_ connectors.Checker           = (*Connector)(nil)
	_ connectors.ShipmentConfirmer = (*Connector)(nil)
	_ connectors.ReturnPoller      = (*Connector)(nil)
)

// option tunes a connector in tests: Amazon's real pacing would make them
// wait minutes.
type option func(*Connector)

// withLimits replaces every operation's plan (and the feed window) by one
// fast plan, and stops adapting to x-amzn-RateLimit-Limit unless adapt.
func withLimits(perSecond float64, burst int, adapt bool) option {
	return func(c *Connector) {
		plans := make(map[string]opLimit, len(publishedLimits))
		for op := range publishedLimits {
			plans[op] = opLimit{perSecond, burst}
		}
		c.limits = newLimiters(plans, rate.NewLimiter(rate.Limit(perSecond), burst))
		c.limits.adapt = adapt
	}
}

// withFeedPolling sets the getFeed polling interval and the bound of the wait.
func withFeedPolling(first, max, bound time.Duration) option {
	return func(c *Connector) { c.feedPoll, c.feedPollMax, c.feedWait = first, max, bound }
}

// New builds the connector of an amazon channel. It does no network I/O.
func New(deps connectors.Deps) (connectors.Connector, error) {
	c, err := newConnector(deps)
	if err != nil {
		return nil, err
	}
	am := deps.Channel.Settings.(*Settings) // newConnector checked
	if am.SQS.QueueURL == "" {
		return c, nil
	}
	q, err := newQueue(deps.Channel.Credentials, am.SQS)
	if err != nil {
		return nil, err
	}
	return &QueueConnector{Connector: c, queue: q}, nil
}

func newConnector(deps connectors.Deps, opts ...option) (*Connector, error) {
	ch := deps.Channel
	am, ok := ch.Settings.(*Settings)
	if !ok {
		return nil, connectors.SettingsError(Kind, ch.Settings)
	}
	cr := ch.Credentials
	authURL := am.AuthURL
	if authURL == "" {
		authURL = DefaultAuthURL
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{
		name:        ch.Name,
		sellerID:    am.SellerID,
		marketplace: append([]string(nil), am.MarketplaceIDs...),
		productType: am.ProductType,
		threshold:   am.FeedThreshold,
		baseURL:     apiBaseURL(ch.APIURL, am.Region),
		log:         deps.Logger,
		http:        deps.HTTP,
		now:         now,
		tokens: &oauth.RefreshSource{
			TokenURL:     authURL,
			ClientID:     cr.ClientID.Value(),
			ClientSecret: cr.ClientSecret.Value(),
			RefreshToken: cr.RefreshToken.Value(),
			ClientAuth:   oauth.AuthBody,
			HTTP:         deps.HTTP,
			Now:          now,
		},
		limits:      newLimiters(publishedLimits, rate.NewLimiter(rate.Every(feedEvery*time.Second), feedBurst)),
		header:      ch.Webhook.Header,
		feedPoll:    5 * time.Second,
		feedPollMax: time.Minute,
		feedWait:    30 * time.Minute,
		workers:     16,
	}
	for _, s := range ch.Webhook.Secrets {
		if s.IsSet() {
			c.secrets = append(c.secrets, []byte(s.Value()))
		}
	}
	c.orders = newOrderSource(c, am.OrdersAPI, am.ReadShipTo == nil || *am.ReadShipTo)
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, fmt.Errorf("amazon: %w", err)
	}
	c.metrics = m
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// apiBaseURL is api_url when set, else the region's SP-API endpoint.
func apiBaseURL(apiURL, region string) string {
	if apiURL != "" {
		return strings.TrimRight(apiURL, "/")
	}
	return "https://sellingpartnerapi-" + region + ".amazon.com"
}

// Kind implements connectors.Connector.
func (c *Connector) Kind() string { return Kind }

// MaxBatch implements connectors.QuantityPusher: one feed's worth.
func (c *Connector) MaxBatch() int { return maxBatch }

// Ready implements connectors.Checker: not ready while Login with Amazon
// refuses the credentials (a revoked authorization needs a person).
func (c *Connector) Ready() error {
	if f := c.authErr.Load(); f != nil {
		return fmt.Errorf("amazon: credentials refused: %w", f.err)
	}
	return nil
}
