// Package woocommercetest is a fake WooCommerce store (REST API v3) on
// httptest, for tests and the demo simulator. It serves the calls the
// woocommerce connector makes, as WooCommerce documents them
// (https://woocommerce.github.io/woocommerce-rest-api-docs/):
//
//   - HTTP Basic auth with the consumer key and secret; anything else is a
//     401 woocommerce_rest_cannot_view.
//   - GET /orders with modified_after/modified_before (exclusive, like
//     WP_Date_Query), dates_are_gmt (without it the dates are site time:
//     Options.SiteOffset from GMT), status (any leaves out trash; any
//     still lists checkout drafts, as WooCommerce before 10.8 does),
//     orderby id|date|modified, order, page and per_page (at most 100,
//     else 400 rest_invalid_param), with X-WP-Total and X-WP-TotalPages.
//   - GET /orders/{id} (trashed orders read with status trash; a deleted
//     one is a 404) and GET /orders/{id}/refunds (negative quantities and
//     _refunded_item_id, as the documented example).
//   - GET /products?sku=A,B (comma-separated, matching without case as
//     MySQL does, products and variations), GET /products/{id},
//     GET /products/{id}/variations.
//   - POST /products/batch and POST /products/{id}/variations/batch: at
//     most Options.BatchLimit (100) items, else 413
//     woocommerce_rest_request_entity_too_large; every item answered on
//     its own ({id, error} for an unknown id or an injected failure);
//     stock_quantity ignored for a listing that does not manage stock
//     (answered manage_stock false, stock_quantity null), or whose
//     variation leaves it to its parent (manage_stock "parent").
//
// Order and product times are kept in whole seconds, as WooCommerce keeps
// them: two states of an order within one second share date_modified_gmt.
//
// WooCommerce core puts no rate limit on the REST API (only the Store
// API has an optional one, off by default); hosts and firewalls often do.
// Options.RateLimit plays such a host: 429 with Retry-After. It is off by
// default.
//
// It must never reach the network beyond its own listener. Safe for
// concurrent use.
package woocommercetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a fake store. Zero values take the defaults.
type Options struct {
	// ConsumerKey and ConsumerSecret are the REST API key requests must
	// carry as HTTP Basic auth (defaults "ck_test_key", "cs_test_secret").
	ConsumerKey    string
	ConsumerSecret string
	// WebhookSecret signs webhooks (default "woocommercetest-webhook-secret");
	// WebhookID is X-WC-Webhook-ID (default 1).
	WebhookSecret string
	WebhookID     int64
	// APIPath is the REST API prefix (default /wp-json/wc/v3).
	APIPath string
	// SiteOffset is the site's time zone offset from GMT, for the dates
	// without _gmt and for modified_after without dates_are_gmt (default
	// +3h, as in the documentation's examples; set -1ns for GMT).
	SiteOffset time.Duration
	// BatchLimit is the woocommerce_rest_batch_items_limit (default 100).
	BatchLimit int
	// Latency delays every answer (the demo runs with ~50 ms).
	Latency time.Duration
	// RateLimit, when above 0, answers requests beyond that many a second
	// (bucket of Burst, default 1) with 429 and Retry-After: 1, as a host
	// in front of the store might. WooCommerce itself has no such limit.
	RateLimit float64
	Burst     int
	// Now is the clock stamping orders and products (default time.Now).
	Now func() time.Time
}

// Server is a running fake store.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	nextID   int64
	orders   map[int64]*Order
	products map[int64]*Product // products and variations, by id
	failures map[string]itemFailure
	calls    map[string]int
	tokens   float64
	tokensAt time.Time
	// hook runs (with mu released) before a list answer is written; tests
	// use it to change the store between two pages.
	hook func(route string, page int)
}

type itemFailure struct {
	code, message string
	status        int
}

// New starts a fake store. Close it when done.
func New(opts Options) *Server {
	if opts.ConsumerKey == "" {
		opts.ConsumerKey = "ck_test_key"
	}
	if opts.ConsumerSecret == "" {
		opts.ConsumerSecret = "cs_test_secret"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = "woocommercetest-webhook-secret"
	}
	if opts.WebhookID == 0 {
		opts.WebhookID = 1
	}
	if opts.APIPath == "" {
		opts.APIPath = "/wp-json/wc/v3"
	}
	switch opts.SiteOffset {
	case 0:
		opts.SiteOffset = 3 * time.Hour
	case -1:
		opts.SiteOffset = 0
	}
	if opts.BatchLimit == 0 {
		opts.BatchLimit = 100
	}
	if opts.Burst == 0 {
		opts.Burst = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:     opts,
		nextID:   1000,
		orders:   map[int64]*Order{},
		products: map[int64]*Product{},
		failures: map[string]itemFailure{},
		calls:    map[string]int{},
		tokens:   float64(opts.Burst),
		tokensAt: time.Now(),
	}
	mux := http.NewServeMux()
	p := strings.TrimRight(opts.APIPath, "/")
	mux.HandleFunc("GET "+p+"/orders", s.guard("GET /orders", s.listOrders))
	mux.HandleFunc("GET "+p+"/orders/{id}", s.guard("GET /orders/{id}", s.getOrder))
	mux.HandleFunc("GET "+p+"/orders/{id}/refunds", s.guard("GET /orders/{id}/refunds", s.listRefunds))
	mux.HandleFunc("GET "+p+"/products", s.guard("GET /products", s.listProducts))
	mux.HandleFunc("GET "+p+"/products/{id}", s.guard("GET /products/{id}", s.getProduct))
	mux.HandleFunc("GET "+p+"/products/{id}/variations", s.guard("GET /products/{id}/variations", s.listVariations))
	mux.HandleFunc("POST "+p+"/products/batch", s.guard("POST /products/batch", s.batchProducts))
	mux.HandleFunc("POST "+p+"/products/{id}/variations/batch", s.guard("POST /products/{id}/variations/batch", s.batchVariations))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the store's address: a channel's woocommerce.url.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Options returns the options in effect (defaults applied).
func (s *Server) Options() Options { return s.opts }

// Calls returns how often each route was called (refused calls included),
// by "METHOD /route".
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// OnListPage sets a function run before a list answer (GET /orders,
// GET /products) of the given page is written, outside the store's lock:
// a test changes the store between two pages with it. nil removes it.
func (s *Server) OnListPage(f func(route string, page int)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// guard counts the call, waits the latency, applies the host rate limit
// and checks Basic auth like WooCommerce.
func (s *Server) guard(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[route]++
		limited := s.opts.RateLimit > 0 && !s.takeTokenLocked()
		s.mu.Unlock()
		if s.opts.Latency > 0 {
			t := time.NewTimer(s.opts.Latency)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if limited {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests.")
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != s.opts.ConsumerKey || pass != s.opts.ConsumerSecret {
			// WooCommerce answers a missing or wrong key like a missing
			// capability (#authentication, #errors: 401).
			writeError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
			return
		}
		h(w, r)
	}
}

func (s *Server) takeTokenLocked() bool {
	now := time.Now()
	s.tokens += s.opts.RateLimit * now.Sub(s.tokensAt).Seconds()
	if max := float64(s.opts.Burst); s.tokens > max {
		s.tokens = max
	}
	s.tokensAt = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// runHook runs the page hook, if any, outside the lock.
func (s *Server) runHook(route string, page int) {
	s.mu.Lock()
	h := s.hook
	s.mu.Unlock()
	if h != nil {
		h(route, page)
	}
}

// wcError is WooCommerce's error body (#errors).
type wcError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]int `json:"data"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, wcError{Code: code, Message: message, Data: map[string]int{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// paging reads page and per_page like WooCommerce's collection params
// (per_page 1..100, default 10; page ≥ 1, default 1). ok false: a 400 was
// written.
func paging(w http.ResponseWriter, r *http.Request) (page, perPage int, ok bool) {
	page, perPage = 1, 10
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): page")
			return 0, 0, false
		}
		page = n
	}
	if v := r.URL.Query().Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): per_page")
			return 0, 0, false
		}
		perPage = n
	}
	return page, perPage, true
}

// writePage writes one page of items with X-WP-Total and X-WP-TotalPages.
func writePage[T any](w http.ResponseWriter, items []T, page, perPage int) {
	total := len(items)
	pages := (total + perPage - 1) / perPage
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

// pathID reads the {id} path value (0 if not a positive number).
func pathID(r *http.Request) int64 {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// wholeSeconds cuts a time to the second, as WooCommerce stores dates.
func wholeSeconds(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// gmt and local format a time as WooCommerce answers it.
func gmt(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func (s *Server) local(t time.Time) string {
	return t.UTC().Add(s.opts.SiteOffset).Format("2006-01-02T15:04:05")
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) String() string { return fmt.Sprintf("woocommercetest %s", s.srv.URL) }
