package amazon

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

// maxResponse bounds what is read of one SP-API answer (a getOrders page
// of 100 orders is far below it; feed reports are read elsewhere).
const maxResponse = 16 << 20

// APIError is a refused SP-API call: the operation, the HTTP status and
// Amazon's own error code and message (errors[0] of its error body).
type APIError struct {
	Op      string
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("amazon %s: HTTP %d %s: %s", e.Op, e.Status, e.Code, e.Message)
}

// Unwrap lets errors.Is(err, connectors.ErrNotFound) see a 404.
func (e *APIError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return connectors.ErrNotFound
	}
	return nil
}

// errorBody is SP-API's error list, {"errors":[{code,message,details}]}.
type errorBody struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details string `json:"details"`
	} `json:"errors"`
}

// call makes one SP-API request of operation op: it waits on op's limiter,
// signs it with the access token, decodes a 2xx answer into out (if not
// nil) and turns anything else into an *APIError. The framework's client
// already retried 429 and 5xx. A 403 is retried once with a fresh token,
// because that is how SP-API answers an access token it no longer takes.
func (c *Connector) call(ctx context.Context, op, method, path string, query url.Values, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("amazon %s: encoding request: %w", op, err)
		}
		payload = b
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	resp, err := c.rest(op).Call(ctx, connectors.APIRequest{Op: op, Method: method, URL: u, Body: payload}, out)
	if resp == nil {
		return 0, err
	}
	return resp.Status, err
}

// rest is the authenticated JSON call of operation op (connectors.API):
// the token in x-amz-access-token, taken before op's limiter is waited on
// (a refresh takes a round trip to Login with Amazon, and a request the
// limiter let go must leave at once, or the next ones reach Amazon closer
// together than the plan allows); one more try with a fresh token after a
// 403; the limiter adapted to every answer's rate-limit header; answers
// read up to maxResponse; SP-API's error body as an *APIError.
func (c *Connector) rest(op string) connectors.API {
	return connectors.API{
		Channel: "amazon", Client: c.http, Tokens: c.tokens,
		Authorize: connectors.TokenHeader("x-amz-access-token"),
		Header:    http.Header{"User-Agent": {"shelfsync (Language=Go)"}},
		RefreshOn: []int{http.StatusForbidden},
		MaxAnswer: maxResponse,
		OnToken:   c.noteAuth,
		Wait:      c.limits.get(op).Wait,
		Observe:   func(resp *http.Response) { c.limits.observe(op, resp.Header) },
		Error:     apiError,
		// A 2xx answer without a body leaves out as it was.
		AllowEmpty: true,
	}
}

// noteAuth remembers whether Login with Amazon refused the credentials, for Ready.
func (c *Connector) noteAuth(err error) {
	var oe *oauth.Error
	switch {
	case err == nil:
		c.authErr.Store(nil)
	case errors.As(err, &oe):
		c.authErr.Store(&authFailure{err: oe})
	}
}

type authFailure struct{ err error }

func apiError(op string, status int, raw []byte) error {
	e := &APIError{Op: op, Status: status}
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && len(eb.Errors) > 0 {
		e.Code, e.Message = eb.Errors[0].Code, eb.Errors[0].Message
	} else {
		e.Message = strings.TrimSpace(string(truncate(raw, 200)))
	}
	return e
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
