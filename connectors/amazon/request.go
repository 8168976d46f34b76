package amazon

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

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/oauth"
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
	for attempt := 0; ; attempt++ {
		status, raw, err := c.roundTrip(ctx, op, method, path, query, payload)
		if err != nil {
			return status, err
		}
		if status == http.StatusForbidden && attempt == 0 {
			c.tokens.Invalidate()
			continue
		}
		if status < 200 || status > 299 {
			return status, apiError(op, status, raw)
		}
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return status, fmt.Errorf("amazon %s: decoding response: %w", op, err)
			}
		}
		return status, nil
	}
}

func (c *Connector) roundTrip(ctx context.Context, op, method, path string, query url.Values, payload []byte) (int, []byte, error) {
	// The access token first: a refresh takes a round trip to Login with
	// Amazon, and a request the limiter let go must leave at once, or the
	// next ones reach Amazon closer together than the plan allows.
	token, err := c.tokens.Token(ctx)
	c.noteAuth(err)
	if err != nil {
		return 0, nil, fmt.Errorf("amazon %s: access token: %w", op, err)
	}
	if err := c.limits.get(op).Wait(ctx); err != nil {
		return 0, nil, fmt.Errorf("amazon %s: waiting for the rate limit: %w", op, err)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("amazon %s: %w", op, err)
	}
	req.Header.Set("x-amz-access-token", token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "shelfsync (Language=Go)")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("amazon %s: %w", op, err)
	}
	defer resp.Body.Close()
	c.limits.observe(op, resp.Header)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("amazon %s: reading response: %w", op, err)
	}
	return resp.StatusCode, raw, nil
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
