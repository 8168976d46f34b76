package shopify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// Kind is the registry kind of this connector.
const Kind = "shopify"

func init() {
	connectors.Register(connectors.Kind{
		Name:      Kind,
		Settings:  func() config.KindSettings { return &Settings{} },
		New:       New,
		Normalize: Normalize,
	})
}

// Compile-time checks of the roles this connector plays.
var (
	_ connectors.Connector         = (*Connector)(nil)
	_ connectors.OrderPoller       = (*Connector)(nil)
	_ connectors.OrderFetcher      = (*Connector)(nil)
	_ connectors.WebhookVerifier   = (*Connector)(nil)
	_ connectors.QuantityPusher    = (*Connector)(nil)
	_ connectors.SaleEchoer        = (*Connector)(nil)
	_ connectors.QuantityReader    = (*Connector)(nil)
	_ connectors.Checker           = (*Connector)(nil)
	_ connectors.ShipmentConfirmer = (*Connector)(nil)
)

// Connector is one Shopify store.
type Connector struct {
	deps     connectors.Deps
	log      zerolog.Logger
	endpoint string // the GraphQL endpoint
	token    config.Secret
	secrets  []config.Secret
	shop     string // myshopify domain, to check X-Shopify-Shop-Domain
	// pushLocation is the Shopify location GID where the channel's ATS is
	// set: the GID of the channel's first location. Empty when the channel
	// lists no location (then pushes fail, reads and polls still work).
	pushLocation string
	// locations maps a Shopify location's numeric id to the shelfsync
	// location id, so orders name where they ship from.
	locations map[string]string
	// locationGIDs maps a shelfsync location id to its Shopify location
	// GID (per-location pushes, QuantityUpdate.Location).
	locationGIDs map[string]string
	// perLocation: the channel is stock_mode per_location (ReadQuantities
	// reads every location's level).
	perLocation bool
	bucket      *costBucket
	metrics     *metrics
	// onceHTTP sends operations that must not be retried blindly
	// (fulfillmentCreate): deps.HTTP without its retries (see singleAttempt).
	onceHTTP *http.Client
	// notifyCustomer is fulfillmentCreate's notifyCustomer (setting
	// shopify.notify_customer).
	notifyCustomer bool
	// shipTo: order reads ask for the shipping address (setting
	// shopify.read_ship_to), until Shopify refuses it (orderQuery).
	shipTo *connectors.OptionalPart
	// pageSize is the orders per poll page, small because Shopify refuses
	// a query whose requested cost exceeds 1000 points (see queries.go).
	pageSize int
	// maxPaginated is how many orders one poll reads at most
	// (maxPaginated, Shopify's cursor pagination limit; tests lower it).
	maxPaginated int
}

type metrics struct {
	noSKULines *prometheus.CounterVec // source: webhook, poll
	// throttled is Deps.Throttled (the channel's 429 counter), counting
	// THROTTLED answers with the 429s.
	throttled     prometheus.Counter
	refusedOrders *prometheus.CounterVec // source: poll, fetch; reason: quantity, identifier, version
	// shipToRefused counts Shopify refusing the orders' shippingAddress
	// (once a process: order reads go on without it).
	shipToRefused prometheus.Counter
}

// New builds a Shopify connector from the channel's configuration. It does
// no I/O and starts nothing.
func New(deps connectors.Deps) (connectors.Connector, error) {
	return newConnector(deps)
}

func newConnector(deps connectors.Deps) (*Connector, error) {
	ch := deps.Channel
	sh, ok := ch.Settings.(*Settings)
	if !ok {
		return nil, connectors.SettingsError(Kind, ch.Settings)
	}
	var errs []error
	base := strings.TrimRight(ch.APIURL, "/")
	if base == "" {
		base = "https://" + sh.Shop
	}
	c := &Connector{
		deps:         deps,
		log:          deps.Logger,
		endpoint:     base + "/admin/api/" + sh.APIVersion + "/graphql.json",
		token:        ch.Credentials.AccessToken,
		secrets:      ch.Webhook.Secrets,
		shop:         strings.ToLower(sh.Shop),
		pageSize:     3,
		maxPaginated: maxPaginated,
		locations:    map[string]string{},
		locationGIDs: map[string]string{},
		perLocation:  ch.PerLocation(),
	}
	c.notifyCustomer = sh.NotifyCustomer == nil || *sh.NotifyCustomer
	c.shipTo = connectors.NewOptionalPart(sh.ReadShipTo == nil || *sh.ReadShipTo, shipToRefused, c.droppedShipTo)
	// Validate checked that every id is one, and that every location of
	// the channel has one.
	for loc, id := range sh.LocationIDs {
		c.locations[numericID(id)] = loc
		c.locationGIDs[loc] = gid("Location", numericID(id))
	}
	if len(ch.Locations) > 0 {
		c.pushLocation = gid("Location", numericID(sh.LocationIDs[ch.Locations[0]]))
	}
	if deps.HTTP == nil {
		errs = append(errs, errors.New("no HTTP client in deps"))
	}
	if deps.Cache == nil {
		errs = append(errs, errors.New("no cache in deps"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c.onceHTTP = singleAttempt(deps.HTTP)
	if deps.Now == nil {
		c.deps.Now = time.Now
	}
	if err := c.registerMetrics(deps.Registerer); err != nil {
		return nil, err
	}
	return c, nil
}

// registerMetrics builds the connector's metrics and its cost bucket and
// registers the metrics with reg (nil: a registry of their own, so they
// go nowhere).
func (c *Connector) registerMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		reg = prometheus.NewRegistry() // unexported, so metrics go nowhere
	}
	c.metrics = newMetrics(c.deps.Throttled)
	c.bucket = newCostBucket()
	available := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shelfsync_shopify_cost_available",
		Help: "GraphQL cost points Shopify last reported available in the bucket (estimated, restored since).",
	}, c.bucket.estimate)
	for _, col := range []prometheus.Collector{c.metrics.noSKULines, c.metrics.refusedOrders, c.metrics.shipToRefused, available} {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// newMetrics builds the connector's counters, not yet registered;
// throttled is the shared one (nil: a counter that goes nowhere).
func newMetrics(throttled prometheus.Counter) *metrics {
	if throttled == nil {
		throttled = prometheus.NewCounter(prometheus.CounterOpts{Name: "shelfsync_channel_api_throttled_total", Help: "unexported"})
	}
	return &metrics{
		throttled: throttled,
		noSKULines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_shopify_nosku_lines_total",
			Help: "Order lines without a SKU (custom items): kept, moving no stock.",
		}, []string{"source"}),
		refusedOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_shopify_refused_orders_total",
			Help: "Polled or fetched orders not handed on because the ledger would refuse them, by source (poll, fetch) and reason (quantity, identifier, version).",
		}, []string{"source", "reason"}),
		shipToRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_shopify_ship_to_refused_total",
			Help: "Times Shopify refused the orders' shippingAddress (protected customer data) and orders were read again without their destination, from then on for the process.",
		}),
	}
}

// singleAttempt is the framework's client without its retries: the
// client go-retryablehttp sends each attempt with (the same limiter, API
// metrics and timeout per attempt). A client built otherwise (a test's
// own) is used as it is.
func singleAttempt(c *http.Client) *http.Client {
	if rt, ok := c.Transport.(*retryablehttp.RoundTripper); ok && rt.Client != nil && rt.Client.HTTPClient != nil {
		return rt.Client.HTTPClient
	}
	return c
}

// Kind implements connectors.Connector.
func (c *Connector) Kind() string { return Kind }

// Ready implements connectors.Checker: the connector needs nothing at run
// time that construction did not check, so it is ready when built; a
// missing push location is reported, since pushes would fail.
func (c *Connector) Ready() error {
	if c.pushLocation == "" {
		return errors.New("no push location: the channel lists no location mapped in shopify.location_ids")
	}
	return nil
}
