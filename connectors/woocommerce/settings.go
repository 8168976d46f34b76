package woocommerce

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// Defaults of the settings.
const (
	// DefaultAPIPath is where WordPress serves the WooCommerce REST API v3
	// with pretty permalinks on (https://woocommerce.github.io/woocommerce-rest-api-docs/#requirements).
	DefaultAPIPath = "/wp-json/wc/v3"
	// DefaultTimeout bounds one API call, the framework's retries included.
	DefaultTimeout = 2 * time.Minute
	// MaxPageSize is the most items a WooCommerce list answers per page
	// (per_page's maximum, 100).
	MaxPageSize = 100
)

// Settings is a channel's `woocommerce:` block. config.Load decodes it,
// calls Defaults, then Validate; New trusts what Validate passed.
type Settings struct {
	// URL is the store's address, the WordPress site URL (a sub-directory
	// install keeps its path): https://shop.example.com. HTTPS is
	// required: the consumer key and secret travel as HTTP Basic auth.
	// Plain http is accepted only for a loopback host (a test server).
	URL string `yaml:"url"`
	// APIPath is the REST API's path under URL (default /wp-json/wc/v3).
	APIPath string `yaml:"api_path"`
	// Timeout bounds one API call including the HTTP client's retries
	// (default 2m). The channel's `timeout` still bounds each attempt.
	Timeout time.Duration `yaml:"timeout"`
	// Location is the shelfsync location WooCommerce orders take stock
	// from; empty lets the ledger choose among the channel's locations by
	// priority. WooCommerce core keeps one stock figure per product.
	Location string `yaml:"location"`
	// PageSize is the orders per poll page, 1 to 100 (default 100).
	PageSize int `yaml:"page_size"`
	// Statuses maps an order status to how it moves stock, overriding the
	// built-in mapping or naming a status a plugin added: one of pending
	// (reserves, not yet paid), open (reserves, to ship), shipped (every
	// unit left), cancelled (nothing more ships) or ignore (not an order
	// yet: nothing is handed on). Keys are the status as the REST API
	// answers it, without the "wc-" prefix.
	Statuses map[string]string `yaml:"statuses"`
}

// Status classes a Settings.Statuses value may name.
const (
	ClassPending   = "pending"
	ClassOpen      = "open"
	ClassShipped   = "shipped"
	ClassCancelled = "cancelled"
	ClassIgnore    = "ignore"
)

var statusClasses = []string{ClassPending, ClassOpen, ClassShipped, ClassCancelled, ClassIgnore}

// Defaults fills every unset field with its default. It is idempotent.
func (s *Settings) Defaults() {
	if s.APIPath == "" {
		s.APIPath = DefaultAPIPath
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.PageSize == 0 {
		s.PageSize = MaxPageSize
	}
}

var (
	_ config.KindSettings   = (*Settings)(nil)
	_ connectors.Documented = (*Settings)(nil)
)

// Validate implements config.KindSettings: every problem of the block
// (woocommerce.url, woocommerce.statuses.shipped, …), of the credentials
// the kind needs (credentials.client_id, credentials.client_secret,
// webhook.secrets unless webhook.disabled), and a woocommerce.location
// that is not one of the channel's locations. Each path is relative to
// the channel. It does no network I/O and never quotes a secret. Load
// calls it after Defaults: an unset field with a default is not a problem.
func (s *Settings) Validate(ch *config.Channel) []config.FieldProblem {
	ps := s.check()
	if s.Location != "" && !slices.Contains(ch.Locations, s.Location) {
		ps.Addf("woocommerce.location", "%q is not one of the channel's locations %v", s.Location, ch.Locations)
	}
	ps = append(ps, credentialsOf(ch).Validate(ch.Webhook.Disabled)...)
	return ps
}

// Reference implements connectors.Documented: every key of the block and
// every generic key the kind requires.
func (s *Settings) Reference() []config.KeyDoc {
	return []config.KeyDoc{
		{Key: "credentials.client_id", Default: "required", Meaning: "The REST API key's consumer key (`ck_…`), sent as HTTP Basic auth over HTTPS"},
		{Key: "credentials.client_secret", Default: "required", Meaning: "The REST API key's consumer secret (`cs_…`)"},
		{Key: "webhook.secrets", Default: "required", Meaning: "The Secret of the WooCommerce webhooks (several are tried); not needed with `webhook.disabled`"},
		{Key: "woocommerce.url", Default: "required", Meaning: "The store's address (the WordPress site URL; a sub-directory install keeps its path); `https://`, `http://` only for a loopback host"},
		{Key: "woocommerce.api_path", Default: "`" + DefaultAPIPath + "`", Meaning: "The REST API's path under `url`"},
		{Key: "woocommerce.timeout", Default: "`2m`", Meaning: "Bounds one API call, the HTTP client's retries included (the channel's `timeout` bounds each attempt)"},
		{Key: "woocommerce.location", Default: "none", Meaning: "The location (one of the channel's `locations`) WooCommerce orders take stock from; none lets the ledger choose by priority"},
		{Key: "woocommerce.page_size", Default: "`100`", Meaning: "Orders per poll page, 1 to 100"},
		{Key: "woocommerce.statuses", Default: "none", Meaning: "Order status (without `wc-`) → `pending`, `open`, `shipped`, `cancelled` or `ignore`: a plugin's status, or a core one remapped"},
	}
}

// check reports every problem of the block itself, each with its YAML
// path relative to the channel (woocommerce.url).
func (s *Settings) check() config.FieldProblems {
	var ps config.FieldProblems
	add := func(path, format string, args ...any) {
		ps.Addf("woocommerce."+path, format, args...)
	}
	if msg := checkStoreURL(s.URL); msg != "" {
		add("url", "%s", msg)
	}
	s.checkAPIPath(add)
	if s.Timeout < time.Second {
		add("timeout", "%s is too short: at least 1s (a batch of 100 stock updates takes seconds)", s.Timeout)
	}
	if s.PageSize < 1 || s.PageSize > MaxPageSize {
		add("page_size", "%d is out of range: 1 to %d (WooCommerce's per_page maximum)", s.PageSize, MaxPageSize)
	}
	if s.Location != "" && (strings.TrimSpace(s.Location) != s.Location || hasControl(s.Location)) {
		add("location", "%q must not hold spaces at its ends or control characters", s.Location)
	}
	s.checkStatuses(add)
	return ps
}

// addProblem records a problem at a path relative to the block
// (api_path, statuses.x).
type addProblem func(path, format string, args ...any)

// checkAPIPath reports what is wrong with api_path: it is joined to the
// store's URL, so it must be a plain absolute path.
func (s *Settings) checkAPIPath(add addProblem) {
	switch {
	case s.APIPath == "":
		add("api_path", "required (the default is %s)", DefaultAPIPath)
	case !strings.HasPrefix(s.APIPath, "/"):
		add("api_path", "%q must start with /", s.APIPath)
	case strings.ContainsAny(s.APIPath, "?#") || hasControl(s.APIPath):
		add("api_path", "%q must be a plain path (no query, fragment or control character)", s.APIPath)
	case containsDotSegment(s.APIPath):
		add("api_path", "%q must not hold a . or .. segment", s.APIPath)
	}
}

// checkStatuses reports each statuses entry whose status is not written
// as the REST API answers it, or whose class is unknown; in key order,
// so the report is stable.
func (s *Settings) checkStatuses(add addProblem) {
	keys := make([]string, 0, len(s.Statuses))
	for k := range s.Statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.Statuses[k]
		switch {
		case k == "" || hasControl(k) || strings.ToLower(strings.TrimSpace(k)) != k:
			add("statuses", "status %q must be lower case, without spaces or control characters", k)
		case strings.HasPrefix(k, "wc-"):
			add("statuses."+k, "write the status as the REST API answers it, without the wc- prefix (%q)", strings.TrimPrefix(k, "wc-"))
		case !validClass(v):
			add("statuses."+k, "%q is not one of %s", v, strings.Join(statusClasses, ", "))
		}
	}
}

func validClass(v string) bool {
	for _, c := range statusClasses {
		if v == c {
			return true
		}
	}
	return false
}

// checkStoreURL says what is wrong with a store URL ("" if nothing).
func checkStoreURL(raw string) string {
	if raw == "" {
		return "required: the store's address, https://shop.example.com"
	}
	if hasControl(raw) {
		return "holds a control character"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", raw, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("%q has no host: write the full address, https://shop.example.com", raw)
	case u.User != nil:
		// Never echo it: it may hold a password.
		return "must not hold a user name or password: the consumer key and secret go in credentials"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?"):
		return fmt.Sprintf("%q must not hold a query or a fragment", raw)
	case containsDotSegment(u.Path):
		return fmt.Sprintf("%q must not hold a . or .. path segment", raw)
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopback(u.Hostname()) {
			return ""
		}
		return fmt.Sprintf("%q is plain http: the consumer key and secret would travel in clear text (HTTP Basic auth); use https (http is accepted only for a loopback test server)", raw)
	default:
		return fmt.Sprintf("%q must be an https URL", raw)
	}
}

// isLoopback says whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

func containsDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

var _ config.Identifier = (*Settings)(nil)

// Identity implements config.Identifier: the store's address, its scheme
// and host in lower case, without a trailing slash.
func (s *Settings) Identity(*config.Channel) string {
	u, err := url.Parse(strings.TrimSpace(s.URL))
	if err != nil || u.Host == "" {
		return ""
	}
	return "store " + strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/")
}
