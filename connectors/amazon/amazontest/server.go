// Package amazontest is a fake Amazon for tests and the demo: the Login
// with Amazon token endpoint, the SP-API operations shelfsync calls
// (Orders v0 and v2026-01-01 with confirmShipment, Listings Items
// 2021-08-01 with searchListingsItems, Feeds 2021-06-30 with pre-signed
// document URLs, Reports 2021-06-30 serving the returns report) and
// an SQS queue speaking the AWS JSON 1.0 protocol the AWS SDK for Go v2
// uses, all on one httptest server.
//
// It is strict where a client could get it wrong: the refresh-token grant
// and client credentials, x-amz-access-token on every SP-API call (403
// like Amazon when missing or expired), the two-minute rule of getOrders
// and searchOrders (a LastUpdatedBefore later than now − 2 minutes is a
// 400, and a change shows only once it is two minutes old),
// searchOrders' parameters (one kind of window, the enums, 100 a page,
// paginationToken with the same parameters, the FULFILLMENT dataset),
// searchListingsItems' bounds (20 identifiers, pageSize 20,
// identifiersType with identifiers), the feed document's content type and
// pre-signed URL, SigV4 on SQS calls, confirmShipment's checks (required
// fields, carrier codes, the order's items and marketplace, no more than
// the unshipped quantity, a packageReferenceId sent again edits its
// package) and createReport's (report type, marketplaces, a window of at
// most 60 days ending no later than now). Every operation holds Amazon's
// published default usage plan (PublishedLimits) as a token bucket on the
// wall clock and answers 429 QuotaExceeded when it is empty, with the
// rate in x-amzn-RateLimit-Limit; Options.RateLimits raises a plan (a
// large seller's), for load tests and the demo. It can also be told to
// throttle (429, with or without Retry-After), to refuse a SKU, to fail a
// feed, and to answer slowly. It is for tests only: it must never be used
// as, or to reach, the real Amazon, and it keeps everything in memory.
// Safe for concurrent use.
package amazontest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultClientID     = "amzn1.application-oa2-client.shelfsynctest"
	DefaultClientSecret = "amzn1.oa2-cs.v1.test-secret"
	DefaultRefreshToken = "Atzr|test-refresh-token"
	DefaultSellerID     = "A2SHELFSYNCTEST"
	DefaultMarketplace  = "ATVPDKIKX0DER"
	DefaultAWSKeyID     = "AKIASHELFSYNCTEST"
	DefaultAWSSecret    = "shelfsync-test-aws-secret"
	DefaultAWSRegion    = "us-east-1"
	DefaultQueueName    = "shelfsync-notifications"
	awsAccountID        = "123456789012"
)

// Options configure a Server. Zero values take the defaults above.
type Options struct {
	ClientID, ClientSecret, RefreshToken string
	SellerID                             string
	// TokenTTL is the expires_in of issued access tokens (default 1h).
	TokenTTL time.Duration
	// Latency is added to every SP-API and token answer (the demo's
	// simulator uses ~50ms).
	Latency time.Duration
	// Now is the server's clock for token expiry and the getOrders bound.
	Now func() time.Time
	// OrdersPageSize caps getOrders pages below MaxResultsPerPage;
	// ItemsPageSize sizes getOrderItems pages (default 100 each).
	OrdersPageSize, ItemsPageSize int
	// SearchPageSize caps searchListingsItems pages below the pageSize
	// asked for (Amazon's default 10, at most 20), to exercise paging.
	SearchPageSize int
	// FeedPolls is how many getFeed calls see a feed still processing
	// before it is DONE (default 1).
	FeedPolls int
	// GzipReports compresses processing reports (compressionAlgorithm GZIP).
	GzipReports bool
	// RateLimits raises (or lowers) the usage plan of an operation:
	// requests a second, both enforced (429 QuotaExceeded once the bucket
	// is empty) and announced in x-amzn-RateLimit-Limit. An operation not
	// named keeps Amazon's published default (PublishedLimits). The burst
	// of a changed rate is the published burst or one second of the rate,
	// whichever is larger, unless Bursts names it. The key FeedTypeListings
	// is the JSON_LISTINGS_FEED limit (5 per 5 minutes).
	RateLimits map[string]float64
	// Bursts overrides the burst (bucket size) of an operation's plan.
	Bursts map[string]int
	// AWS credentials the SQS fake accepts, and the queue's name.
	AWSAccessKeyID, AWSSecretAccessKey, QueueName string
	// VisibilityTimeout hides a received message until it is deleted or
	// this passes (default 30s).
	VisibilityTimeout time.Duration
	// RefuseRecipient, when 400 or 403, is the status searchOrders and
	// getOrder (v2026-01-01) answer a call whose includedData names
	// RECIPIENT, as for an app without the Direct-to-Consumer Delivery
	// role, which "is required to access shipping address information"
	// (Get orders with filtering criteria). How Amazon answers is not
	// documented: 400 is InvalidInput "Application do not have access to
	// some or all requested resource" (v0's answer to an address call
	// without the role, jlevers/selling-partner-api#550), 403 is
	// Unauthorized "Access to requested resource is denied." (SP-API's
	// 403). 0: RECIPIENT is served.
	RefuseRecipient int
}

// Server is the fake. Its URL serves every API: point api_url, auth_url
// (URL+"/auth/o2/token") and sqs.endpoint at it.
type Server struct {
	URL  string
	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	tokens    map[string]time.Time
	refreshes int
	calls     map[string]int
	limits    *buckets
	throttled map[string]int
	throttles map[string]*throttle
	orders    map[string]*Order
	pages     map[string]pageState
	// orderSearches are searchOrders' pagination tokens.
	orderSearches map[string]searchOrdersState
	searches      map[string]searchState
	listings      map[string]int64
	failSKUs      map[string]string
	docs          map[string]*document
	feeds         map[string]*feed
	failFeeds     int
	seq           int
	// packages are confirmShipment's packages: order id → packageReferenceId → package.
	packages map[string]map[string]*Package
	returns  map[string]*Return
	reports  map[string]*report

	queue *queue
	// closing ends long polls, so Close does not wait out their wait time.
	closing   chan struct{}
	closeOnce sync.Once
}

// New starts a fake Amazon. Close it when done.
func New(opts Options) *Server {
	fillDefaults(&opts)
	s := &Server{
		opts:          opts,
		tokens:        map[string]time.Time{},
		calls:         map[string]int{},
		limits:        newBuckets(&opts),
		throttled:     map[string]int{},
		throttles:     map[string]*throttle{},
		orders:        map[string]*Order{},
		pages:         map[string]pageState{},
		orderSearches: map[string]searchOrdersState{},
		searches:      map[string]searchState{},
		listings:      map[string]int64{},
		failSKUs:      map[string]string{},
		docs:          map[string]*document{},
		feeds:         map[string]*feed{},
		packages:      map[string]map[string]*Package{},
		returns:       map[string]*Return{},
		reports:       map[string]*report{},
		closing:       make(chan struct{}),
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	s.queue = newQueue(s.URL + "/" + awsAccountID + "/" + opts.QueueName)
	return s
}

// fillDefaults gives the zero values of opts the documented defaults.
func fillDefaults(opts *Options) {
	setDefault(&opts.ClientID, DefaultClientID)
	setDefault(&opts.ClientSecret, DefaultClientSecret)
	setDefault(&opts.RefreshToken, DefaultRefreshToken)
	setDefault(&opts.SellerID, DefaultSellerID)
	setDefault(&opts.AWSAccessKeyID, DefaultAWSKeyID)
	setDefault(&opts.AWSSecretAccessKey, DefaultAWSSecret)
	setDefault(&opts.QueueName, DefaultQueueName)
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OrdersPageSize <= 0 {
		opts.OrdersPageSize = 100
	}
	if opts.ItemsPageSize <= 0 {
		opts.ItemsPageSize = 100
	}
	if opts.FeedPolls <= 0 {
		opts.FeedPolls = 1
	}
	if opts.VisibilityTimeout <= 0 {
		opts.VisibilityTimeout = 30 * time.Second
	}
}

// routes is every API on one mux: the token endpoint, the SP-API
// operations (each wrapped by api under its operation's name), the
// pre-signed storage URLs and SQS at the root.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/o2/token", s.handleToken)
	mux.HandleFunc("GET /orders/v0/orders", s.api("getOrders", s.handleGetOrders))
	mux.HandleFunc("GET /orders/v0/orders/{id}", s.api("getOrder", s.handleGetOrder))
	mux.HandleFunc("GET /orders/v0/orders/{id}/orderItems", s.api("getOrderItems", s.handleGetOrderItems))
	mux.HandleFunc("GET /orders/2026-01-01/orders", s.api("searchOrders", s.handleSearchOrders))
	mux.HandleFunc("GET /orders/2026-01-01/orders/{id}", s.api("getOrder_2026-01-01", s.handleGetOrder2026))
	mux.HandleFunc("PATCH /listings/2021-08-01/items/{seller}/{sku}", s.api("patchListingsItem", s.handlePatchListing))
	mux.HandleFunc("GET /listings/2021-08-01/items/{seller}/{sku}", s.api("getListingsItem", s.handleGetListing))
	mux.HandleFunc("GET /listings/2021-08-01/items/{seller}", s.api("searchListingsItems", s.handleSearchListings))
	mux.HandleFunc("POST /feeds/2021-06-30/documents", s.api("createFeedDocument", s.handleCreateDocument))
	mux.HandleFunc("POST /feeds/2021-06-30/feeds", s.api("createFeed", s.handleCreateFeed))
	mux.HandleFunc("GET /feeds/2021-06-30/feeds/{id}", s.api("getFeed", s.handleGetFeed))
	mux.HandleFunc("GET /feeds/2021-06-30/documents/{id}", s.api("getFeedDocument", s.handleGetDocument))
	mux.HandleFunc("POST /orders/v0/orders/{id}/shipmentConfirmation", s.api("confirmShipment", s.handleConfirmShipment))
	mux.HandleFunc("POST /reports/2021-06-30/reports", s.api("createReport", s.handleCreateReport))
	mux.HandleFunc("GET /reports/2021-06-30/reports/{id}", s.api("getReport", s.handleGetReport))
	mux.HandleFunc("GET /reports/2021-06-30/documents/{id}", s.api("getReportDocument", s.handleGetReportDocument))
	mux.HandleFunc("PUT /_storage/{id}", s.handleUpload)
	mux.HandleFunc("GET /_storage/{id}", s.handleDownload)
	mux.HandleFunc("POST /{$}", s.handleSQS)
	return mux
}

func setDefault(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

// Close shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Options returns the options in effect (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// TokenURL is the Login with Amazon endpoint of the fake.
func (s *Server) TokenURL() string { return s.URL + "/auth/o2/token" }

// Calls returns how many requests operation op received (throttled and
// refused ones included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TokenRefreshes is the number of access tokens issued.
func (s *Server) TokenRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// RevokeTokens makes every issued access token invalid (403 on use).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

type throttle struct {
	n          int
	retryAfter string
	// status, when not 0, is answered instead of 429 (FailNext).
	status int
}

// Throttle makes the next n calls of op answer 429 QuotaExceeded, with a
// Retry-After header of retryAfter unless it is empty.
func (s *Server) Throttle(op string, n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttles[op] = &throttle{n: n, retryAfter: retryAfter}
}

// FailNext makes the next n calls of op answer status (a 5xx: Amazon's
// InternalFailure or ServiceUnavailable) with SP-API's error list.
func (s *Server) FailNext(op string, n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttles[op] = &throttle{n: n, status: status}
}

// Throttled returns how many calls of op were answered 429 because its
// usage plan's bucket was empty (injected Throttle answers not counted).
func (s *Server) Throttled(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled[op]
}

// api wraps an SP-API operation: latency, counting, the access token, 429
// injection, the usage plan's token bucket and the rate-limit header, as
// Amazon's front door does. A 403 carries no x-amzn-RateLimit-Limit (the
// models document it on 200, 400 and 404 answers); the 429s carry it too,
// which Amazon's models do not promise.
func (s *Server) api(op string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.delay(r)
		w.Header().Set("x-amzn-RequestId", s.newID())
		s.mu.Lock()
		s.calls[op]++
		exp, known := s.tokens[r.Header.Get("x-amz-access-token")]
		valid := known && s.opts.Now().Before(exp)
		var th *throttle
		if t := s.throttles[op]; valid && t != nil && t.n > 0 {
			t.n--
			th = t
		}
		s.mu.Unlock()
		if !valid {
			writeErrors(w, http.StatusForbidden, "Unauthorized", "Access to requested resource is denied.")
			return
		}
		s.setRateHeader(w, op)
		if th != nil && th.status != 0 {
			writeErrors(w, th.status, "InternalFailure", "We encountered an internal error. Please try again.")
			return
		}
		if th != nil {
			if th.retryAfter != "" {
				w.Header().Set("Retry-After", th.retryAfter)
			}
			writeQuotaExceeded(w)
			return
		}
		if !s.limits.allow(op) {
			s.mu.Lock()
			s.throttled[op]++
			s.mu.Unlock()
			writeQuotaExceeded(w)
			return
		}
		h(w, r)
	}
}

func (s *Server) delay(r *http.Request) {
	if s.opts.Latency <= 0 {
		return
	}
	t := time.NewTimer(s.opts.Latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// handleToken is Login with Amazon's refresh-token grant.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.delay(r)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "unreadable form"})
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "refresh_token":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "grant_type must be refresh_token"})
		return
	case f.Get("client_id") != s.opts.ClientID || f.Get("client_secret") != s.opts.ClientSecret:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed"})
		return
	case f.Get("refresh_token") != s.opts.RefreshToken:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "The request has an invalid grant parameter : refresh_token"})
		return
	}
	tok := "Atza|" + s.newID()
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(s.opts.TokenTTL)
	s.refreshes++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "refresh_token": s.opts.RefreshToken,
		"token_type": "bearer", "expires_in": int(s.opts.TokenTTL / time.Second),
	})
}

func (s *Server) newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nextSeq numbers feeds and documents; the caller holds s.mu.
func (s *Server) nextSeq() int {
	s.seq++
	return s.seq
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErrors answers SP-API's error list.
func writeErrors(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": code, "message": msg, "details": ""}}})
}
