// Package ebay is shelfsync's eBay connector, on eBay's REST Sell APIs:
// orders come from the Fulfillment API (getOrders polled by last
// modification date, getOrder for "order changed" notifications), pushed
// notifications from the Notification API (ECDSA-signed, verified against
// eBay's public key for the signature's kid), and listed quantities go out
// through the Inventory API's bulk_update_price_quantity, 25 SKUs a call,
// on both the inventory item's ship-to quantity and each of its offers.
//
// Auth is OAuth: a seller's user token from the refresh-token grant (Basic
// client auth, sell.fulfillment and sell.inventory scopes) for the Sell
// APIs, and an application token (client_credentials) for public keys.
// Both are cached and refreshed one at a time; a 401 drops the token and
// the call is tried once more.
//
// The connector translates; it never decides. It must never log or return
// a credential, keep state outside its Connector value, or leave a
// goroutine running: every call blocks on the caller's context (a push or
// a read may run a few requests at once, all done before it returns).
//
// Shipments go out as the Fulfillment API's shipping fulfillments
// (shipment.go); returns come in from the Post-Order API's return search
// (returns.go).
package ebay

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/internal/oauth"
)

// Kind is the registry kind of this connector.
const Kind = "ebay"

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
	_ connectors.WebhookChallenger = (*Connector)(nil)
	_ connectors.QuantityPusher    = (*Connector)(nil)
	_ connectors.QuantityReader    = (*Connector)(nil)
	_ connectors.Checker           = (*Connector)(nil)
	_ connectors.ShipmentConfirmer = (*Connector)(nil)
	_ connectors.ReturnPoller      = (*Connector)(nil)
	_ connectors.LocationPusher    = (*Connector)(nil)
	_ connectors.LocationReader    = (*Connector)(nil)
)

// Defaults of what the configuration leaves out.
const (
	DefaultAPIURL = "https://api.ebay.com"
	// DefaultRevisionCeiling stays below eBay's 250 revisions a listing may
	// take a day, leaving room for the merchant's own edits.
	DefaultRevisionCeiling = 240
	// tokenPath is the OAuth token endpoint under the API (or auth) URL.
	tokenPath = "/identity/v1/oauth2/token"
)

// DefaultScopes are the user token's scopes: orders and inventory.
var DefaultScopes = []string{
	"https://api.ebay.com/oauth/api_scope/sell.fulfillment",
	"https://api.ebay.com/oauth/api_scope/sell.inventory",
}

// appScope is the application token's scope (public keys).
const appScope = "https://api.ebay.com/oauth/api_scope"

// Options are the connector's settings that the configuration file does
// not (yet) carry; New uses the defaults.
type Options struct {
	// RevisionCeiling is the most quantity revisions a SKU gets a UTC day
	// (default DefaultRevisionCeiling, at most 250).
	RevisionCeiling int
	// KeyTTL is how long a notification public key is cached (default 1h,
	// eBay's recommendation).
	KeyTTL time.Duration
	// UnknownKeyTTL is how long a kid eBay does not know is answered 412
	// without asking again (default DefaultUnknownKeyTTL).
	UnknownKeyTTL time.Duration
	// FailedKeyTTL is how long after a failed key fetch the kid is not
	// asked for again (default DefaultFailedKeyTTL).
	FailedKeyTTL time.Duration
	// KeyFetchesPerMinute and KeyFetchBurst are the key-fetch budget, a
	// token bucket of its own (defaults DefaultKeyFetchesPerMinute and
	// DefaultKeyFetchBurst). A delivery whose kid would need a fetch
	// beyond it is answered 503.
	KeyFetchesPerMinute int
	KeyFetchBurst       int
	// KeyHTTP is the client of key fetches and of the application token
	// they need. Default: the framework's client (retries, timeout) with
	// no limiter, so key fetches never wait on or take from the channel's
	// limiter, which paces pushes and polls; the budget above bounds them.
	KeyHTTP *http.Client
}

// Connector is one eBay seller account.
type Connector struct {
	deps        connectors.Deps
	name        string
	log         zerolog.Logger
	api         string // base URL, no trailing slash
	marketplace string
	user        *oauth.RefreshSource
	app         *oauth.ClientCredentialsSource
	keys        *keyCache
	budget      *revisionBudget
	opts        Options
	metrics     *metrics
	// perLocation: the channel is stock_mode per_location (perloc.go);
	// locationKeys maps each of its locations to its merchantLocationKey,
	// keyLocations the other way.
	perLocation  bool
	locationKeys map[string]string
	keyLocations map[string]string
	// postHTTP sends what must not be sent twice blind
	// (createShippingFulfillment): the channel's limiter and timeout, no
	// retries.
	postHTTP *http.Client
	// verificationToken and endpointURL answer the endpoint challenge.
	verificationToken config.Secret
	endpointURL       string
	// authErr is the last refusal of the token endpoint (revoked refresh
	// token, wrong secret), for Ready; nil once a token is issued again.
	authErr atomic.Pointer[error]
}

// New builds an eBay connector from the channel's configuration with the
// default Options. It does no I/O and starts nothing.
func New(deps connectors.Deps) (connectors.Connector, error) {
	return NewWithOptions(deps, Options{})
}

// NewWithOptions is New with explicit Options.
func NewWithOptions(deps connectors.Deps, opts Options) (*Connector, error) {
	ch := deps.Channel
	eb, ok := ch.Settings.(*Settings)
	if !ok {
		return nil, connectors.SettingsError(Kind, ch.Settings)
	}
	if deps.HTTP == nil {
		return nil, errors.New("ebay connector needs an HTTP client")
	}
	api := strings.TrimRight(ch.APIURL, "/")
	if api == "" {
		api = DefaultAPIURL
	}
	tokenURL := tokenEndpoint(api, eb)
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if opts.KeyHTTP == nil {
		opts.KeyHTTP = newKeyHTTP(ch, deps.Logger)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
		deps.Now = now
	}
	endpoint := notificationEndpoint(deps)
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	cr := ch.Credentials
	c := &Connector{
		deps:        deps,
		name:        ch.Name,
		log:         deps.Logger,
		api:         api,
		marketplace: eb.MarketplaceID,
		user: &oauth.RefreshSource{
			TokenURL: tokenURL, ClientID: cr.ClientID.Value(), ClientSecret: cr.ClientSecret.Value(),
			RefreshToken: cr.RefreshToken.Value(), Scopes: eb.Scopes, ClientAuth: oauth.AuthBasic,
			HTTP: deps.HTTP, Now: now,
		},
		// The application token serves only key fetches: it is asked
		// for on their client, outside the channel's limiter.
		app: &oauth.ClientCredentialsSource{
			TokenURL: tokenURL, ClientID: cr.ClientID.Value(), ClientSecret: cr.ClientSecret.Value(),
			Scopes: []string{appScope}, ClientAuth: oauth.AuthBasic, HTTP: opts.KeyHTTP, Now: now,
		},
		opts:              opts,
		metrics:           m,
		postHTTP:          newPostHTTP(ch, deps),
		verificationToken: ch.Webhook.VerificationToken,
		endpointURL:       endpoint,
	}
	c.setLocations(ch, eb)
	c.keys = newKeyCache(opts)
	c.budget = &revisionBudget{cache: deps.Cache, ceiling: opts.RevisionCeiling, now: now}
	return c, nil
}

// tokenEndpoint is the OAuth token URL: the API's, unless the settings
// name an auth_url (the endpoint's base, or a full token URL taken as is).
func tokenEndpoint(api string, eb *Settings) string {
	if eb.AuthURL == "" {
		return api + tokenPath
	}
	tokenURL := strings.TrimRight(eb.AuthURL, "/")
	if !strings.HasSuffix(tokenURL, "/oauth2/token") {
		tokenURL += tokenPath
	}
	return tokenURL
}

// notificationEndpoint is the URL eBay delivers the channel's
// notifications to: the configured one, else the daemon's public URL's
// webhook path for the channel ("" when neither is known).
func notificationEndpoint(deps connectors.Deps) string {
	ch := deps.Channel
	if ch.Webhook.EndpointURL != "" || deps.PublicURL == "" {
		return ch.Webhook.EndpointURL
	}
	return strings.TrimRight(deps.PublicURL, "/") + "/webhooks/" + ch.Name
}

// defaults fills the zero Options with their defaults and refuses what
// eBay would not allow (Options are set in code, not in the config file).
func (opts *Options) defaults() error {
	if opts.RevisionCeiling == 0 {
		opts.RevisionCeiling = DefaultRevisionCeiling
	}
	if opts.RevisionCeiling < 1 || opts.RevisionCeiling > 250 {
		return fmt.Errorf("revision ceiling must be between 1 and 250 (eBay's daily limit), got %d", opts.RevisionCeiling)
	}
	if opts.KeyTTL == 0 {
		opts.KeyTTL = time.Hour
	}
	if opts.UnknownKeyTTL == 0 {
		opts.UnknownKeyTTL = DefaultUnknownKeyTTL
	}
	if opts.FailedKeyTTL == 0 {
		opts.FailedKeyTTL = DefaultFailedKeyTTL
	}
	if opts.KeyFetchesPerMinute == 0 {
		opts.KeyFetchesPerMinute = DefaultKeyFetchesPerMinute
	}
	if opts.KeyFetchBurst == 0 {
		opts.KeyFetchBurst = DefaultKeyFetchBurst
	}
	if opts.KeyFetchesPerMinute < 0 || opts.KeyFetchBurst < 0 {
		return fmt.Errorf("key fetch budget must not be negative (%d a minute, burst %d)", opts.KeyFetchesPerMinute, opts.KeyFetchBurst)
	}
	return nil
}

// newKeyHTTP is the default Options.KeyHTTP: the framework's client with
// no limiter, one retry and a short timeout (a delivery waits for it).
// Its calls are not in the shared shelfsync_channel_api_* metrics (Deps
// does not hand those out); shelfsync_ebay_public_key_fetches_total
// counts them.
func newKeyHTTP(ch config.Channel, log zerolog.Logger) *http.Client {
	timeout := 5 * time.Second
	if ch.Timeout > 0 && ch.Timeout < timeout {
		timeout = ch.Timeout
	}
	return connectors.NewHTTPClient(connectors.HTTPOptions{
		Channel: ch.Name, Timeout: timeout, MaxRetries: 1,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Logger: log,
	})
}

// newPostHTTP is the client of calls that must not be retried blind: the
// framework's client with the channel's limiter and timeout and no
// retries. Its calls are not in the shared shelfsync_channel_api_*
// metrics (Deps hands out no way to build a metered client).
func newPostHTTP(ch config.Channel, deps connectors.Deps) *http.Client {
	return connectors.NewHTTPClient(connectors.HTTPOptions{
		Channel: ch.Name, Timeout: ch.Timeout, MaxRetries: 0, Limiter: deps.Limiter, Logger: deps.Logger,
	})
}

// Kind implements connectors.Connector.
func (c *Connector) Kind() string { return Kind }

// MaxBatch implements connectors.QuantityPusher: eBay takes 25 items a call.
func (c *Connector) MaxBatch() int { return maxBulkItems }

// Ready implements connectors.Checker: not ready while eBay refuses the
// credentials (a revoked refresh token needs the merchant to consent again).
func (c *Connector) Ready() error {
	if p := c.authErr.Load(); p != nil {
		return fmt.Errorf("eBay refuses the channel's credentials: %w", *p)
	}
	return nil
}
