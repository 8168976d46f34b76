package ebay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/shelfsync/shelfsync/connectors/oauth"
)

// maxResponse bounds what is read of one API answer.
const maxResponse = 16 << 20

// response is an API answer read whole.
type response struct {
	status int
	body   []byte
}

// tokenSource is the part of the two OAuth sources a call needs.
type tokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// send makes one API call with the seller's user token (or the app token
// when app is set). On 401 it drops the token and tries once more with a
// fresh one: eBay revokes tokens early now and then. 429 and 5xx are
// retried by the framework's HTTP client; what comes back after that is
// returned as is. The error is for transport, auth and ctx failures only.
func (c *Connector) send(ctx context.Context, method, path string, query url.Values, body []byte, app bool) (*response, error) {
	var src tokenSource = c.user
	client := c.deps.HTTP
	if app {
		// Application calls are key fetches: their own client and budget.
		src, client = c.app, c.opts.KeyHTTP
	}
	u := c.api + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := src.Token(ctx)
		if err != nil {
			if !app {
				c.noteAuthError(err)
			}
			return nil, fmt.Errorf("eBay access token: %w", err)
		}
		if !app {
			c.authErr.Store(nil)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, fmt.Errorf("eBay %s %s: %w", method, path, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-EBAY-C-MARKETPLACE-ID", c.marketplace)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("eBay %s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("eBay %s %s: reading the answer: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.metrics.tokenRejections.Inc()
			src.Invalidate()
			continue
		}
		return &response{status: resp.StatusCode, body: data}, nil
	}
}

// noteAuthError remembers a refusal of the credentials themselves for
// Ready; network trouble on the way to the token endpoint is not one.
func (c *Connector) noteAuthError(err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) && (oe.Status == http.StatusBadRequest || oe.Status == http.StatusUnauthorized) {
		c.authErr.Store(&err)
	}
}

// getJSON makes a GET with the user token and decodes a 2xx answer into
// out; anything else is an *APIError.
func (c *Connector) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil, false)
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return newAPIError("GET "+path, resp)
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("eBay GET %s: decoding the answer: %w", path, err)
	}
	return nil
}

// APIError is an eBay answer outside 2xx, with eBay's own error list.
type APIError struct {
	Op     string // "GET /sell/..."
	Status int
	Errors []ebayError
}

// ebayError is one entry of eBay's REST error list.
type ebayError struct {
	ErrorID     int    `json:"errorId"`
	Domain      string `json:"domain,omitempty"`
	Category    string `json:"category,omitempty"`
	Message     string `json:"message"`
	LongMessage string `json:"longMessage,omitempty"`
}

func newAPIError(op string, resp *response) *APIError {
	e := &APIError{Op: op, Status: resp.status}
	var body struct {
		Errors []ebayError `json:"errors"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.Errors = body.Errors
	}
	return e
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eBay %s: HTTP %d", e.Op, e.Status)
	for i, er := range e.Errors {
		if i == 3 {
			fmt.Fprintf(&b, " (and %d more)", len(e.Errors)-i)
			break
		}
		fmt.Fprintf(&b, "; error %d: %s", er.ErrorID, er.Message)
	}
	return b.String()
}

// hasError reports whether eBay named one of ids.
func (e *APIError) hasError(ids ...int) bool {
	for _, er := range e.Errors {
		for _, id := range ids {
			if er.ErrorID == id {
				return true
			}
		}
	}
	return false
}

// messages joins eBay's error messages, for a push result's reason.
func messages(errs []ebayError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		m := e.Message
		if e.ErrorID != 0 {
			m = fmt.Sprintf("%d: %s", e.ErrorID, m)
		}
		parts = append(parts, m)
	}
	return strings.Join(parts, "; ")
}
