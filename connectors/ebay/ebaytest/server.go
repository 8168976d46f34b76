// Package ebaytest is a fake of the eBay APIs the ebay connector uses,
// on httptest: the OAuth token endpoint, the Notification API's public
// keys, Fulfillment getOrders/getOrder and an order's shipping
// fulfillments (create, list), the Inventory API's offers, inventory
// items (one, a page, or bulk_get_inventory_item),
// bulk_update_price_quantity and the seller's inventory locations
// (getInventoryLocations), and the Post-Order API's return search and
// return detail. It checks credentials and bearer tokens the
// way eBay does (401 otherwise), holds listed quantities the test can
// read, injects throttling and per-item failures, and signs notifications
// with its own ECDSA key, so tests and the demo exercise the connector end
// to end without the network.
//
// It is a test double: it must never be pointed at, or proxy to, the real
// eBay, and it holds no state outside a Server value. Safe for concurrent use.
package ebaytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Scopes a user token may carry here (eBay's sell scopes).
const (
	ScopeFulfillment = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
	ScopeInventory   = "https://api.ebay.com/oauth/api_scope/sell.inventory"
	// ScopeApp is the client_credentials scope for application tokens.
	ScopeApp = "https://api.ebay.com/oauth/api_scope"
)

// The credentials a Server accepts unless Options say otherwise.
const (
	DefaultClientID     = "test-client-id"
	DefaultClientSecret = "test-client-secret"
	DefaultRefreshToken = "test-refresh-token"
)

// Options configures a Server. Zero values take the defaults noted.
type Options struct {
	ClientID     string // default DefaultClientID
	ClientSecret string // default DefaultClientSecret
	RefreshToken string // default DefaultRefreshToken
	// TokenTTL is the expires_in of issued tokens (default 2h, as eBay).
	TokenTTL time.Duration
	// Latency delays every answer (the demo simulates ~50ms).
	Latency time.Duration
	// KeyID is the kid of the server's own signing key (default "ebaytest-key-1").
	KeyID string
	// Now is the clock used for token expiry, getOrders' date checks and
	// the day of the revision limit (default time.Now).
	Now func() time.Time
	// RevisionsPerDay is how many successful quantity updates a SKU takes
	// in one UTC day before bulk_update_price_quantity refuses it (default
	// DefaultRevisionsPerDay, eBay's limit; negative is no limit).
	RevisionsPerDay int
}

// Server is the fake. Create it with New and Close it when done.
type Server struct {
	opts Options
	srv  *httptest.Server
	key  *ecdsa.PrivateKey

	mu        sync.Mutex
	tokens    map[string]issuedToken
	issued    int
	refreshes int
	appTokens int
	orders    map[string]*Order
	items     map[string]*inventoryItem // by SKU
	locations map[string]bool           // merchantLocationKey → enabled
	// disabledRefusals counts entries refused for a change at a disabled location.
	disabledRefusals int
	offers           map[string]*offer // by offer id
	nextOfferID      int
	fail             map[string]ItemFailure  // bulk update failures by SKU
	failRead         map[string]*readFailure // bulk get failures by SKU
	throttle         int
	refuseBulk       int
	// beforeBulk runs before each bulk update is applied (BeforeBulkUpdate).
	beforeBulk func()
	// beforeLocations runs before each getInventoryLocations page is read
	// (BeforeLocationsPage).
	beforeLocations func(offset int)
	retryAfter      string
	keys            map[string]PublicKey
	keyFailures     map[string]int               // kid → HTTP status to answer
	signers         map[string]*ecdsa.PrivateKey // kid → key of AddSigningKey
	calls           map[string]int               // by endpoint name

	fulfillments    map[string][]Fulfillment // by order id, in creation order
	nextFulfillment int
	loseAnswers     int // createShippingFulfillment answers to replace by a 502
	returns         map[string]*Return
}

type issuedToken struct {
	app     bool
	scopes  map[string]bool
	expires time.Time
}

// New starts a fake eBay on a local port.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = DefaultRefreshToken
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 2 * time.Hour
	}
	if opts.KeyID == "" {
		opts.KeyID = "ebaytest-key-1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RevisionsPerDay == 0 {
		opts.RevisionsPerDay = DefaultRevisionsPerDay
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("ebaytest: generating the signing key: %v", err))
	}
	s := &Server{
		opts:        opts,
		key:         key,
		tokens:      map[string]issuedToken{},
		orders:      map[string]*Order{},
		items:       map[string]*inventoryItem{},
		locations:   map[string]bool{},
		offers:      map[string]*offer{},
		nextOfferID: 500000000001,
		fail:        map[string]ItemFailure{},
		failRead:    map[string]*readFailure{},
		keys:        map[string]PublicKey{},
		keyFailures: map[string]int{},
		signers:     map[string]*ecdsa.PrivateKey{},
		calls:       map[string]int{},

		fulfillments:    map[string][]Fulfillment{},
		nextFulfillment: 5000000000001,
		returns:         map[string]*Return{},
	}
	s.keys[opts.KeyID] = PublicKey{Key: publicKeyPEM(&key.PublicKey), Algorithm: "ECDSA", Digest: "SHA1"}
	s.srv = httptest.NewServer(s.latency(s.routes()))
	return s
}

// routes is the fake's API: every endpoint it serves.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /identity/v1/oauth2/token", s.handleToken)
	mux.HandleFunc("GET /commerce/notification/v1/public_key/{kid}", s.api("public_key", true, s.handlePublicKey))
	mux.HandleFunc("GET /sell/fulfillment/v1/order", s.api("get_orders", false, s.handleGetOrders))
	mux.HandleFunc("GET /sell/fulfillment/v1/order/{id}", s.api("get_order", false, s.handleGetOrder))
	mux.HandleFunc("GET /sell/inventory/v1/offer", s.api("get_offers", false, s.handleGetOffers))
	mux.HandleFunc("GET /sell/inventory/v1/inventory_item", s.api("get_inventory_items", false, s.handleGetItems))
	mux.HandleFunc("GET /sell/inventory/v1/inventory_item/{sku}", s.api("get_inventory_item", false, s.handleGetItem))
	mux.HandleFunc("GET /sell/inventory/v1/location", s.api("get_inventory_locations", false, s.handleGetLocations))
	mux.HandleFunc("POST /sell/inventory/v1/bulk_update_price_quantity", s.api("bulk_update_price_quantity", false, s.handleBulkUpdate))
	mux.HandleFunc("POST /sell/inventory/v1/bulk_get_inventory_item", s.api("bulk_get_inventory_item", false, s.handleBulkGet))
	mux.HandleFunc("POST /sell/fulfillment/v1/order/{id}/shipping_fulfillment", s.api("create_shipping_fulfillment", false, s.handleCreateFulfillment))
	mux.HandleFunc("GET /sell/fulfillment/v1/order/{id}/shipping_fulfillment", s.api("get_shipping_fulfillments", false, s.handleGetFulfillments))
	mux.HandleFunc("GET /post-order/v2/return/search", s.api("search_returns", false, s.handleSearchReturns))
	mux.HandleFunc("GET /post-order/v2/return/{id}", s.api("get_return", false, s.handleGetReturn))
	return mux
}

// URL is the base URL to use as the channel's api_url.
func (s *Server) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Refreshes counts refresh_token grants answered with a token.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// AppTokens counts client_credentials grants answered with a token.
func (s *Server) AppTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appTokens
}

// Calls counts the authorised calls to one endpoint: public_key,
// get_orders, get_order, get_offers, get_inventory_items,
// get_inventory_item, get_inventory_locations, bulk_get_inventory_item,
// bulk_update_price_quantity,
// create_shipping_fulfillment, get_shipping_fulfillments, search_returns,
// get_return.
// Throttled and refused calls count too.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// RevokeTokens makes every token issued so far invalid, as when eBay
// revokes them early: the next API call answers 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]issuedToken{}
}

// Throttle makes the next n API calls (not token calls) answer 429, with
// a Retry-After header of retryAfter unless it is empty.
func (s *Server) Throttle(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retryAfter = n, retryAfter
}

// latency delays every answer by Options.Latency, or until the client goes.
func (s *Server) latency(next http.Handler) http.Handler {
	if s.opts.Latency <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(s.opts.Latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		next.ServeHTTP(w, r)
	})
}

// api wraps an endpoint: counts it, checks the token (an application
// token where app is true, else a user token with the sell scopes; as
// "Authorization: Bearer <token>", or "IAF <token>" on the Post-Order
// API), and applies injected throttling.
func (s *Server) api(name string, app bool, h http.HandlerFunc) http.HandlerFunc {
	scheme := "Bearer "
	if isPostOrder(name) {
		scheme = "IAF "
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[name]++
		tok, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), scheme)]
		valid := ok && strings.HasPrefix(r.Header.Get("Authorization"), scheme) && s.opts.Now().Before(tok.expires)
		throttled := false
		if valid && s.throttle > 0 {
			s.throttle--
			throttled = true
		}
		retryAfter := s.retryAfter
		s.mu.Unlock()
		switch {
		case !valid:
			writeErrors(w, http.StatusUnauthorized, Error{ErrorID: 1001, Domain: "OAuth", Category: "REQUEST",
				Message: "Invalid access token", LongMessage: "Invalid access token. Check the value of the Authorization HTTP request header."})
			return
		case tok.app != app:
			writeErrors(w, http.StatusForbidden, Error{ErrorID: 1100, Domain: "ACCESS", Category: "REQUEST",
				Message: "Access denied", LongMessage: "Insufficient permissions to fulfill the request."})
			return
		case !app && !tok.scopes[scopeFor(name)]:
			writeErrors(w, http.StatusForbidden, Error{ErrorID: 1100, Domain: "ACCESS", Category: "REQUEST",
				Message: "Access denied", LongMessage: "Insufficient permissions to fulfill the request."})
			return
		case throttled:
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			writeErrors(w, http.StatusTooManyRequests, Error{ErrorID: 2001, Domain: "ACCESS", Category: "REQUEST",
				Message: "Too many requests.", LongMessage: "The request limit has been reached for the resource."})
			return
		}
		h(w, r)
	}
}

// scopeFor is the user token scope an endpoint needs: sell.fulfillment
// for orders, fulfillments and the Post-Order API (which scope eBay wants
// there is not documented on the pages checked), sell.inventory else.
func scopeFor(endpoint string) string {
	if strings.HasPrefix(endpoint, "get_order") || strings.Contains(endpoint, "fulfillment") || isPostOrder(endpoint) {
		return ScopeFulfillment
	}
	return ScopeInventory
}

// isPostOrder: the endpoint is the Post-Order API's.
func isPostOrder(endpoint string) bool {
	return strings.HasSuffix(endpoint, "_return") || strings.HasSuffix(endpoint, "_returns")
}

// Error is one entry of an eBay REST error answer.
type Error struct {
	ErrorID     int    `json:"errorId"`
	Domain      string `json:"domain"`
	Category    string `json:"category"`
	Message     string `json:"message"`
	LongMessage string `json:"longMessage,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...Error) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
