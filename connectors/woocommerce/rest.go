package woocommerce

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxResponse bounds what one answer may hold (a page of 100 orders with
// their meta is well under a megabyte); a longer one is cut and does not
// decode.
const maxResponse = connectors.DefaultMaxAnswer

// apiError is a call WooCommerce (or the server in front of it) answered
// with a status outside 2xx, after the HTTP client's retries.
type apiError struct {
	Method, Path string
	Status       int
	Code         string // WooCommerce's error code, "" if the body had none
	Message      string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("woocommerce %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap makes a 404 an ErrNotFound.
func (e *apiError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return connectors.ErrNotFound
	}
	return nil
}

// statusOf is the HTTP status of an apiError in err's chain (0 if none).
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// basicAuth is the connectors.TokenSource of WooCommerce's static REST
// API key: its token is the HTTP Basic credentials of the consumer key
// and secret, as WooCommerce documents them over HTTPS
// (#authentication-over-https). Nothing expires, so nothing refreshes.
type basicAuth struct{ header string }

func newBasicAuth(key, secret string) basicAuth {
	return basicAuth{header: "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))}
}

func (b basicAuth) Token(context.Context) (string, error) { return b.header, nil }
func (basicAuth) Invalidate()                             {}

// String and GoString keep the credentials out of any print of a value
// that holds them.
func (basicAuth) String() string   { return "[redacted]" }
func (basicAuth) GoString() string { return "[redacted]" }

// api is the authenticated JSON call (connectors.API): Basic auth, no
// token refresh (a refused key stays refused), answers read up to
// maxResponse, every status noted for Ready.
func (c *Connector) api() connectors.API {
	return connectors.API{
		Channel: "woocommerce", Client: c.deps.HTTP, Tokens: c.auth,
		Authorize: func(h http.Header, token string) { h.Set("Authorization", token) },
		Header:    http.Header{"User-Agent": {"shelfsync"}},
		RefreshOn: []int{},
		MaxAnswer: maxResponse,
		Observe:   func(resp *http.Response) { c.noteAuth(resp.StatusCode) },
	}
}

// call makes one REST call: method on the API path p (under the store's
// API prefix) with query, body marshalled as JSON when not nil, and a 2xx
// answer's JSON decoded into out when not nil; any other status is an
// *apiError with WooCommerce's error code and message. The secret never
// goes in a URL. The call, the framework's retries included, is bounded
// by the settings' timeout. It returns the answer's headers (paging).
func (c *Connector) call(ctx context.Context, method, p string, query url.Values, body, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.base + p
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("woocommerce %s %s: encoding the body: %w", method, p, err)
		}
	}
	resp, err := c.api().Send(ctx, connectors.APIRequest{Op: method + " " + p, Method: method, URL: u, Body: b})
	if err != nil {
		// net/http's error names the URL, which holds no secret.
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		ae := &apiError{Method: method, Path: p, Status: resp.Status}
		var we wcError
		if json.Unmarshal(resp.Body, &we) == nil {
			ae.Code, ae.Message = we.Code, truncate(we.Message, 300)
		}
		if ae.Code == "" && ae.Message == "" {
			ae.Message = connectors.Snippet(resp.Body, 200)
		}
		return resp.Header, ae
	}
	if out != nil {
		// WordPress sites sometimes print a UTF-8 byte order mark before
		// the JSON (a plugin file saved with one).
		data := bytes.TrimPrefix(resp.Body, []byte("\xef\xbb\xbf"))
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("woocommerce %s %s: the answer is not the documented JSON: %w", method, p, err)
		}
	}
	return resp.Header, nil
}

// noteAuth remembers whether WooCommerce last refused the consumer key
// (401, 403) or accepted it, for Ready.
func (c *Connector) noteAuth(status int) {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		c.authFailedAt.Store(c.deps.Now().UnixNano())
		c.authStatus.Store(int64(status))
	case status >= 200 && status < 300:
		c.authFailedAt.Store(0)
	}
}

// totalPages reads X-WP-TotalPages (#pagination); ok is false when the
// header is absent or unreadable.
func totalPages(h http.Header) (int, bool) {
	n, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// total reads X-WP-Total; ok is false when absent or unreadable.
func total(h http.Header) (int, bool) {
	n, err := strconv.Atoi(h.Get("X-WP-Total"))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// authError says when WooCommerce last refused the credentials ("" if
// the last answer accepted them).
func (c *Connector) authError() string {
	at := c.authFailedAt.Load()
	if at == 0 {
		return ""
	}
	return fmt.Sprintf("WooCommerce refused the consumer key (HTTP %d) at %s: check credentials and the key's read/write permission",
		c.authStatus.Load(), time.Unix(0, at).UTC().Format(time.RFC3339))
}
