package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/internal/oauth"
)

// response is an API answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// rest is the authenticated JSON call with the seller's user token, or the
// application token when app is set (connectors.API: the token as
// "Authorization: Bearer", one more try with a fresh token after a 401,
// answers read up to connectors.DefaultMaxAnswer, eBay's error list).
func (c *Connector) rest(app bool) connectors.API {
	a := connectors.API{
		Channel: "eBay", Client: c.deps.HTTP, Tokens: c.user,
		Authorize: connectors.BearerToken,
		Header:    http.Header{"X-Ebay-C-Marketplace-Id": {c.marketplace}},
		RefreshOn: []int{http.StatusUnauthorized},
		OnToken: func(err error) {
			if err != nil {
				c.noteAuthError(err)
			} else {
				c.authErr.Store(nil)
			}
		},
		OnRefresh: c.metrics.tokenRejections.Inc,
		Error: func(op string, status int, body []byte) error {
			return newAPIError(op, &response{status: status, body: body})
		},
	}
	if app {
		// Application calls are key fetches: their own client and budget,
		// and no bearing on the seller's credentials.
		a.Tokens, a.Client, a.OnToken = c.app, c.opts.KeyHTTP, nil
	}
	return a
}

// send makes one API call with the seller's user token (or the app token
// when app is set). On 401 it drops the token and tries once more with a
// fresh one: eBay revokes tokens early now and then. 429 and 5xx are
// retried by the framework's HTTP client; what comes back after that is
// returned as is. The error is for transport, auth and ctx failures only.
func (c *Connector) send(ctx context.Context, method, path string, query url.Values, body []byte, app bool) (*response, error) {
	return c.sendWith(ctx, c.rest(app), method, path, query, body)
}

// sendWith is send on the API a (rest, postOrder, or rest with another
// client).
func (c *Connector) sendWith(ctx context.Context, a connectors.API, method, path string, query url.Values, body []byte) (*response, error) {
	resp, err := a.Send(ctx, c.request(method, path, query, body))
	if err != nil {
		return nil, err
	}
	return &response{status: resp.Status, header: resp.Header, body: resp.Body}, nil
}

// postOrder is the Post-Order API's call: rest with the user token as
// "Authorization: IAF <token>", the form that API takes OAuth tokens in
// (its error list is read by newAPIError too).
func (c *Connector) postOrder() connectors.API {
	a := c.rest(false)
	a.Authorize = func(h http.Header, token string) { h.Set("Authorization", "IAF "+token) }
	return a
}

func (c *Connector) request(method, path string, query url.Values, body []byte) connectors.APIRequest {
	u := c.api + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return connectors.APIRequest{Op: method + " " + path, Method: method, URL: u, Body: body}
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
	_, err := c.rest(false).Call(ctx, c.request(http.MethodGet, path, query, nil), out)
	return err
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

// newAPIError reads eBay's error list: the REST APIs' {"errors":[…]},
// or the Post-Order API's {"errorMessage":{"error":[…]}}.
func newAPIError(op string, resp *response) *APIError {
	e := &APIError{Op: op, Status: resp.status}
	var body struct {
		Errors       []ebayError `json:"errors"`
		ErrorMessage struct {
			Error []ebayError `json:"error"`
		} `json:"errorMessage"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.Errors = body.Errors
		if len(e.Errors) == 0 {
			e.Errors = body.ErrorMessage.Error
		}
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
