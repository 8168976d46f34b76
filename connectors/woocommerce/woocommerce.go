package woocommerce

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// Kind is the registry kind of this connector.
const Kind = "woocommerce"

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
	_ connectors.Connector       = (*Connector)(nil)
	_ connectors.OrderPoller     = (*Connector)(nil)
	_ connectors.OrderFetcher    = (*Connector)(nil)
	_ connectors.WebhookVerifier = (*Connector)(nil)
	_ connectors.QuantityPusher  = (*Connector)(nil)
	_ connectors.QuantityReader  = (*Connector)(nil)
	_ connectors.Checker         = (*Connector)(nil)
)

// Credentials are the secrets the connector needs. None is ever logged,
// printed or put in a URL (config.Secret redacts itself).
type Credentials struct {
	// ConsumerKey (ck_…) and ConsumerSecret (cs_…) are a WooCommerce REST
	// API key with Read/Write access (WooCommerce > Settings > Advanced >
	// REST API), sent as HTTP Basic auth over HTTPS.
	ConsumerKey    config.Secret
	ConsumerSecret config.Secret
	// WebhookSecrets verify X-WC-Webhook-Signature: the Secret of each
	// webhook that delivers to the channel. Several are tried (rotation, or
	// one secret per webhook); none means every signed delivery is refused.
	WebhookSecrets []config.Secret
}

// credentialsOf takes the connector's credentials from the channel's
// generic keys: the consumer key is credentials.client_id, the consumer
// secret credentials.client_secret (a key and secret pair, like an OAuth
// client's), the webhook secrets webhook.secrets.
func credentialsOf(ch *config.Channel) Credentials {
	return Credentials{
		ConsumerKey:    ch.Credentials.ClientID,
		ConsumerSecret: ch.Credentials.ClientSecret,
		WebhookSecrets: ch.Webhook.Secrets,
	}
}

// Validate reports missing credentials with the YAML paths they come from
// (relative to the channel, see credentialsOf). webhookDisabled: the
// channel takes no webhooks, so no webhook secret is needed.
func (c Credentials) Validate(webhookDisabled bool) []config.FieldProblem {
	var ps config.FieldProblems
	if !c.ConsumerKey.IsSet() {
		ps.Addf("credentials.client_id", "required: the WooCommerce REST API key's consumer key (ck_…)")
	}
	if !c.ConsumerSecret.IsSet() {
		ps.Addf("credentials.client_secret", "required: the WooCommerce REST API key's consumer secret (cs_…)")
	}
	if !webhookDisabled && len(c.WebhookSecrets) == 0 {
		ps.Addf("webhook.secrets", "at least one secret is required: the Secret of the WooCommerce webhooks (or webhook.disabled: true)")
	}
	for i, s := range c.WebhookSecrets {
		if !s.IsSet() {
			ps.Addf(fmt.Sprintf("webhook.secrets[%d]", i), "is empty")
		}
	}
	return ps
}

// Connector is one WooCommerce store.
type Connector struct {
	deps    connectors.Deps
	log     zerolog.Logger
	base    string // store URL + API path, no trailing slash
	timeout time.Duration
	auth    basicAuth
	hooks   []config.Secret
	mapping mapping
	// pageSize is the orders per poll page.
	pageSize int
	// batchLimit is the most updates one batch call takes: 100, lowered
	// when the store answers 413 (the limit is a WordPress filter).
	batchLimit atomic.Int64
	// authFailedAt is when WooCommerce last refused the credentials
	// (UnixNano, 0: the last answer accepted them); authStatus its status.
	authFailedAt atomic.Int64
	authStatus   atomic.Int64
	metrics      *metrics
}

type metrics struct {
	noSKULines     *prometheus.CounterVec // source: webhook, poll, fetch
	unmanaged      *prometheus.CounterVec // source: push, read
	refusedOrders  *prometheus.CounterVec // source, reason
	unknownStatus  *prometheus.CounterVec // source
	draftOrders    *prometheus.CounterVec // source
	batchLimitSeen prometheus.Gauge
}

// New is the kind's factory (connectors.Factory): the channel's
// *Settings, as config.Load defaulted and validated them, and the
// credentials from its generic keys. It trusts them, does no I/O and
// starts nothing; it refuses only deps it can not work with.
func New(deps connectors.Deps) (connectors.Connector, error) {
	st, ok := deps.Channel.Settings.(*Settings)
	if !ok || st == nil {
		return nil, connectors.SettingsError(Kind, deps.Channel.Settings)
	}
	c, err := newConnector(deps, st, credentialsOf(&deps.Channel))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newConnector builds a connector from settings that passed Defaults and
// Validate and credentials that passed Credentials.Validate (it checks
// neither again). It refuses deps it can not work with.
func newConnector(deps connectors.Deps, st *Settings, cred Credentials) (*Connector, error) {
	var errs []error
	if deps.HTTP == nil {
		errs = append(errs, errors.New("woocommerce: no HTTP client in deps"))
	}
	if deps.Cache == nil {
		errs = append(errs, errors.New("woocommerce: no cache in deps"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := &Connector{
		deps:     deps,
		log:      deps.Logger,
		base:     strings.TrimRight(st.URL, "/") + strings.TrimRight(st.APIPath, "/"),
		timeout:  st.Timeout,
		auth:     newBasicAuth(cred.ConsumerKey.Value(), cred.ConsumerSecret.Value()),
		hooks:    append([]config.Secret(nil), cred.WebhookSecrets...),
		mapping:  newMapping(deps.Channel.Name, st.Location, st.Statuses),
		pageSize: st.PageSize,
	}
	c.batchLimit.Store(maxBatch)
	if c.deps.Now == nil {
		c.deps.Now = time.Now
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // unexported: metrics go nowhere
	}
	c.metrics = newMetrics()
	if err := c.metrics.register(reg); err != nil {
		return nil, err
	}
	return c, nil
}

// newMetrics makes the connector's metrics, unregistered; the batch limit
// gauge starts at WooCommerce's default limit.
func newMetrics() *metrics {
	m := &metrics{
		noSKULines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_woocommerce_nosku_lines_total",
			Help: "Order lines without a SKU (deleted products, products without one): kept, moving no stock.",
		}, []string{"source"}),
		unmanaged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_woocommerce_unmanaged_stock_total",
			Help: "Listings WooCommerce does not manage stock for (manage_stock off, or managed on the parent product), met by a push (refused as failed) or a read (left out).",
		}, []string{"source"}),
		refusedOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_woocommerce_refused_orders_total",
			Help: "Polled or fetched orders not handed on because the ledger would refuse them, by source (poll, fetch) and reason (quantity, identifier, version).",
		}, []string{"source", "reason"}),
		unknownStatus: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_woocommerce_unknown_status_orders_total",
			Help: "Orders in a status neither WooCommerce core nor woocommerce.statuses names, mapped as open (reserving).",
		}, []string{"source"}),
		draftOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_woocommerce_draft_orders_total",
			Help: "Orders skipped because their status says they are not orders yet (checkout-draft, draft, or a status mapped to ignore).",
		}, []string{"source"}),
		batchLimitSeen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shelfsync_woocommerce_batch_limit",
			Help: "Updates per batch call in use: 100, lowered when the store answered 413.",
		}),
	}
	m.batchLimitSeen.Set(maxBatch)
	return m
}

// register registers every metric with reg; the first refusal (a
// registry already holding them) is the error.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, col := range []prometheus.Collector{m.noSKULines, m.unmanaged,
		m.refusedOrders, m.unknownStatus, m.draftOrders, m.batchLimitSeen} {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// Format prints the connector as its kind and store, whatever the verb:
// fmt does not call String on unexported fields, so a %+v of the struct
// would print the credentials it holds.
func (c *Connector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "woocommerce.Connector{%s}", c.base)
}

// Kind implements connectors.Connector.
func (c *Connector) Kind() string { return Kind }

// Ready implements connectors.Checker without I/O: the connector needs
// nothing at run time that construction did not check, except that
// WooCommerce keeps accepting its key. Not ready while the store's last
// answer refused the credentials (401/403: a revoked key, a key without
// write access, a server that drops the Authorization header); the next
// accepted call clears it.
func (c *Connector) Ready() error {
	if msg := c.authError(); msg != "" {
		return errors.New(msg)
	}
	return nil
}
