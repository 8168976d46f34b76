// Package shopifytest is a fake Shopify Admin API on httptest, for tests
// and the demo simulator. It serves the GraphQL operations the shopify
// connector sends (dispatching on the operation name), checks the access
// token like Shopify (401 without the right X-Shopify-Access-Token),
// keeps a cost bucket at a standard plan's limits (raise them in Options)
// and answers THROTTLED when it can not cover a call, refunds what an
// answer did not use (requested − actual cost; the shipment read only),
// refuses a query over 1000 points, reports extensions.cost on every
// answer, pages with
// cursors, applies inventorySetQuantities all or nothing with
// changeFromQuantity compare-and-set, answers a used @idempotent key with
// its first request's result and applies nothing, holds inventory levels
// and orders a test can read and change (updated_at in whole seconds, as
// Shopify's), and sends correctly signed webhooks.
//
// It is not a GraphQL engine: it reads the variables and the few sizes
// (first: N) the connector's documents state, nothing else. It must never
// be used against, or reach, the network beyond its own listener. Safe for
// concurrent use.
package shopifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"time"
)

// Shopify's published GraphQL Admin API limits, the fake's defaults.
//
// The restore rate of a standard plan is 100 points a second (Advanced
// 200, Plus 1000, enterprise 2000):
// https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits.
// That page gives each plan a bucket size without stating it; 2000
// points (twenty seconds of restore) is what a standard store reports in
// extensions.cost.throttleStatus.maximumAvailable (unverified in the
// docs: Shopify's own answers, as in testdata/graphql_orders_page.json).
// One query may ask for at most 1000 points, refused before it runs
// (https://help.shopify.com/en/api/graphql-admin-api/call-limit, "Single
// query limit"). A call the bucket can not cover is answered HTTP 200
// with errors[].extensions.code THROTTLED, actualQueryCost null and the
// throttle status, and runs nothing (Shopify's older page of the same
// limits: "an {errors: [{ message: "Throttled" }]} error is returned",
// https://help.shopify.com/en/api/graphql-admin-api/graphql-admin-api-rate-limits;
// the HTTP status is stated on no page found: 200 is unverified).
const (
	StandardRestoreRate = 100
	StandardBucketSize  = 2000
	MaxQueryCostLimit   = 1000
)

// Options configures a fake store. Zero values take the defaults below.
type Options struct {
	// AccessToken is the token requests must carry (default "shpat_test_token").
	AccessToken string
	// APIVersion is the version the endpoint path must name (default "2026-04").
	APIVersion string
	// WebhookSecret signs webhooks (default "shopifytest-webhook-secret").
	WebhookSecret string
	// Shop is the myshopify domain (default "shelfsync-test.myshopify.com").
	Shop string
	// LocationID is the store's location GID (default "gid://shopify/Location/1").
	LocationID string
	// Locations are the store's other locations' GIDs. Shopify sells a
	// variant's levels summed over every location that stocks it
	// (Sellable); pushes and reads may name any of the store's locations.
	Locations []string
	// BucketSize and RestoreRate are the GraphQL cost bucket (defaults
	// StandardBucketSize and StandardRestoreRate: Shopify's standard plan).
	// Raise them for a bigger plan (Shopify Plus restores 1000 points a
	// second), or for tests that must not wait.
	BucketSize  float64
	RestoreRate float64
	// MaxQueryCost is the most one query may ask for (default
	// MaxQueryCostLimit); a query over it, or over BucketSize, is refused
	// with MAX_COST_EXCEEDED.
	MaxQueryCost float64
	// Latency delays every answer (the demo runs with ~50 ms).
	Latency time.Duration
	// MaxPageSize caps every connection's page (0: as asked), so tests
	// page through a few objects.
	MaxPageSize int
	// ShipTo is how orders' shippingAddress is answered to the app: an
	// address is level 2 protected customer data, and an app not approved
	// for it gets "errors or redacted data" (shopify.dev, protected
	// customer data). Default ShipToServed.
	ShipTo ShipToAccess
}

// ShipToAccess is what an order's shippingAddress is answered with.
type ShipToAccess int

const (
	// ShipToServed: the address (its country and province), or null.
	ShipToServed ShipToAccess = iota
	// ShipToDenied: null, and an ACCESS_DENIED error on the field's path
	// per order, beside the rest of the data (as Shopify answers a field
	// the app may not read).
	ShipToDenied
	// ShipToRedacted: null, no error.
	ShipToRedacted
)

// Server is a running fake store.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu        sync.Mutex
	items     map[string]*item // by SKU
	itemsByID map[string]*item // by numeric id
	// shared are variants that share a SKU with one in items
	// (AddSharedSKUVariant): listed and read by inventory item id only.
	shared      []*item
	nextID      int64
	orders      map[int64]*Order
	available   float64
	bucketAt    time.Time
	calls       map[string]int
	idempotent  map[string]idempotentResult
	replays     int                  // mutations answered from a used @idempotent key
	failures    map[string]userError // SKU → injected error
	staleNext   map[string]bool      // SKU → sell one unit before the next push
	throttleFor int                  // answer the next n calls THROTTLED
	created     []CreatedFulfillment
	// failN requests are answered failStatus (FailNext); lose is the
	// operation whose next answer is lost (LoseNextAnswer).
	failN          int
	failStatus     int
	failRetryAfter string
	lose           string
	before         map[string]func() // BeforeNext
}

type item struct {
	id     int64
	sku    string
	levels map[string]int64 // location GID → available
}

// idempotentResult is what a key's first attempt did: a replay with the
// same input gets the same answer, or, if the attempt failed,
// IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED.
type idempotentResult struct {
	input  string
	body   []byte
	failed bool
}

// New starts a fake store. Close it when done.
func New(opts Options) *Server {
	if opts.AccessToken == "" {
		opts.AccessToken = "shpat_test_token"
	}
	if opts.APIVersion == "" {
		opts.APIVersion = "2026-04"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = "shopifytest-webhook-secret"
	}
	if opts.Shop == "" {
		opts.Shop = "shelfsync-test.myshopify.com"
	}
	if opts.LocationID == "" {
		opts.LocationID = "gid://shopify/Location/1"
	}
	if opts.BucketSize == 0 {
		opts.BucketSize = StandardBucketSize
	}
	if opts.RestoreRate == 0 {
		opts.RestoreRate = StandardRestoreRate
	}
	if opts.MaxQueryCost == 0 {
		opts.MaxQueryCost = MaxQueryCostLimit
	}
	s := &Server{
		opts:       opts,
		items:      map[string]*item{},
		itemsByID:  map[string]*item{},
		nextID:     1000,
		orders:     map[int64]*Order{},
		available:  opts.BucketSize,
		bucketAt:   time.Now(),
		calls:      map[string]int{},
		idempotent: map[string]idempotentResult{},
		failures:   map[string]userError{},
		staleNext:  map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/api/{version}/graphql.json", s.serveGraphQL)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the store's base URL: a channel's api_url.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Options returns the options in effect (defaults applied).
func (s *Server) Options() Options { return s.opts }

// Calls returns how often each operation was called (THROTTLED and
// refused calls included), by operation name.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// Replays is how many inventorySetQuantities calls carried an
// @idempotent key already used, and so were answered from that key's
// first request (or refused) without applying anything.
func (s *Server) Replays() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replays
}

// Throttle answers the next n calls THROTTLED, whatever the bucket holds.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleFor = n
}

// DrainBucket empties the cost bucket: calls are throttled until it refills.
func (s *Server) DrainBucket() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.available, s.bucketAt = 0, time.Now()
}

type gqlRequest struct {
	Query         string                     `json:"query"`
	OperationName string                     `json:"operationName"`
	Variables     map[string]json.RawMessage `json:"variables"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

var opNameRE = regexp.MustCompile(`^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)`)

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if !s.delay(r) {
		return
	}
	req, ok := s.readGraphQLRequest(w, r)
	if !ok || s.injectedFailure(w) {
		return
	}
	s.mu.Lock()
	hook := s.before[operationName(req)]
	delete(s.before, operationName(req))
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	resp := s.execute(req)
	s.mu.Lock()
	lost := s.lose != "" && s.lose == operationName(req)
	if lost {
		s.lose = ""
	}
	s.mu.Unlock()
	if lost {
		writeJSON(w, http.StatusBadGateway, map[string]any{"errors": "shopifytest: answer lost"})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// injectedFailure answers a failure FailNext asked for; false when there
// is none left.
func (s *Server) injectedFailure(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN <= 0 {
		return false
	}
	s.failN--
	if s.failRetryAfter != "" {
		w.Header().Set("Retry-After", s.failRetryAfter)
	}
	writeJSON(w, s.failStatus, map[string]any{"errors": http.StatusText(s.failStatus)})
	return true
}

// delay waits Options.Latency; false when the client went away first,
// and nothing is answered.
func (s *Server) delay(r *http.Request) bool {
	if s.opts.Latency <= 0 {
		return true
	}
	t := time.NewTimer(s.opts.Latency)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// readGraphQLRequest checks what Shopify checks before GraphQL runs (the
// API version, POST, the access token, a body with a query) and reads the
// request; when it answers false it has written the error.
func (s *Server) readGraphQLRequest(w http.ResponseWriter, r *http.Request) (*gqlRequest, bool) {
	if r.PathValue("version") != s.opts.APIVersion {
		http.Error(w, `{"errors":"Not Found"}`, http.StatusNotFound)
		return nil, false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, `{"errors":"Method Not Allowed"}`, http.StatusMethodNotAllowed)
		return nil, false
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.AccessToken {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": "bad request body"})
		return nil, false
	}
	var req gqlRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return nil, false
	}
	return &req, true
}

// operationName is the request's operationName, or else the name the
// document gives its operation.
func operationName(req *gqlRequest) string {
	if req.OperationName != "" {
		return req.OperationName
	}
	if m := opNameRE.FindStringSubmatch(req.Query); m != nil {
		return m[1]
	}
	return ""
}

// execute counts the operation, charges its cost to the bucket and runs
// it, or refuses it (unknown, over the single query limit, throttled);
// it returns the answer, always HTTP 200.
func (s *Server) execute(req *gqlRequest) map[string]any {
	name := operationName(req)
	h, ok := handlers[name]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
	if !ok {
		return map[string]any{"errors": []gqlError{{Message: "shopifytest: unknown operation " + name}}}
	}
	cost := h.cost(s, req)
	status := s.restoreLocked()
	if maxCost := math.Min(s.opts.MaxQueryCost, s.opts.BucketSize); cost > maxCost {
		return map[string]any{
			"errors": []gqlError{{Message: fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (%.0f).", cost, maxCost),
				Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": maxCost, "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": costExtensions(cost, nil, status),
		}
	}
	if s.throttleFor > 0 || s.available < cost {
		if s.throttleFor > 0 {
			s.throttleFor--
		}
		return map[string]any{
			"errors":     []gqlError{{Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": costExtensions(cost, nil, s.throttleStatusLocked()),
		}
	}
	s.available -= cost
	data, errs := h.serve(s, req)
	actual := cost
	if h.actual != nil && data != nil {
		actual = math.Min(cost, h.actual(data))
	}
	s.available += cost - actual // Shopify's refund of what the answer did not use
	resp := map[string]any{"extensions": costExtensions(cost, actual, s.throttleStatusLocked())}
	if data != nil {
		resp["data"] = data
	}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	return resp
}

// costExtensions is extensions.cost: actual is nil for a call that did
// not run.
func costExtensions(requested float64, actual any, status map[string]float64) map[string]any {
	return map[string]any{"cost": map[string]any{"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}
}

// restoreLocked refills the bucket for the time passed. Call with mu held.
func (s *Server) restoreLocked() map[string]float64 {
	now := time.Now()
	s.available = math.Min(s.opts.BucketSize, s.available+s.opts.RestoreRate*now.Sub(s.bucketAt).Seconds())
	s.bucketAt = now
	return s.throttleStatusLocked()
}

func (s *Server) throttleStatusLocked() map[string]float64 {
	return map[string]float64{
		"maximumAvailable":   s.opts.BucketSize,
		"currentlyAvailable": math.Floor(s.available),
		"restoreRate":        s.opts.RestoreRate,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// firstArg reads "field(first: N" from the document: the page size the
// client asked for, capped by MaxPageSize.
func (s *Server) firstArg(query, field string, def int) int {
	re := regexp.MustCompile(regexp.QuoteMeta(field) + `\(\s*first:\s*(\d+)`)
	n := def
	if m := re.FindStringSubmatch(query); m != nil {
		n = atoi(m[1], def)
	}
	if s.opts.MaxPageSize > 0 && n > s.opts.MaxPageSize {
		n = s.opts.MaxPageSize
	}
	return n
}

func atoi(s string, def int) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return def
		}
	}
	return n
}

// intVar reads an integer variable.
func intVar(req *gqlRequest, name string, def int) int {
	var n int
	if raw, ok := req.Variables[name]; ok && json.Unmarshal(raw, &n) == nil {
		return n
	}
	return def
}

// strVar reads a string variable ("" if absent or null).
func strVar(req *gqlRequest, name string) string {
	var v string
	if raw, ok := req.Variables[name]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}
