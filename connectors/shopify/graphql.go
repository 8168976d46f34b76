package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// maxThrottleRetries bounds the retries of one call answered THROTTLED;
// each waits for the bucket to restore the call's cost, so a few suffice
// unless other clients of the same store drain it.
const maxThrottleRetries = 5

// maxResponse bounds a GraphQL response body.
const maxResponse = 32 << 20

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables,omitempty"`
}

type gqlError struct {
	Message string `json:"message"`
	// Path is where in the query the error is (field names and indexes).
	Path       []any `json:"path"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Cost *queryCost `json:"cost"`
	} `json:"extensions"`
}

// errThrottled is a call still throttled after every retry.
var errThrottled = errors.New("shopify: throttled")

// throttledError is a call still THROTTLED after every retry: Wait is
// what Shopify's last cost extension says the bucket needs to restore the
// call's cost.
type throttledError struct {
	op       string
	attempts int
	Wait     time.Duration
}

func (e *throttledError) Error() string {
	return fmt.Sprintf("shopify %s: %v after %d retries", e.op, errThrottled, e.attempts)
}

func (e *throttledError) Unwrap() error { return errThrottled }

// statusError is an answer outside HTTP 200, after the HTTP client's
// retries (if the operation allows them). RetryAfter is the answer's
// Retry-After, when it has one. The message never holds the token.
type statusError struct {
	op         string
	Status     int
	RetryAfter time.Duration
	body       string
}

func (e *statusError) Error() string {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return fmt.Sprintf("shopify %s: HTTP %d: the access token is refused or lacks a scope (%s)", e.op, e.Status, e.body)
	}
	return fmt.Sprintf("shopify %s: HTTP %d: %s", e.op, e.Status, e.body)
}

// graphqlError is an answer with top-level GraphQL errors (not THROTTLED):
// the query or its variables were refused and nothing ran.
type graphqlError struct {
	op   string
	errs []gqlError
}

func (e *graphqlError) Error() string {
	msgs := make([]string, 0, len(e.errs))
	for _, ge := range e.errs {
		m := ge.Message
		if ge.Extensions.Code != "" {
			m = ge.Extensions.Code + ": " + m
		}
		msgs = append(msgs, m)
	}
	return fmt.Sprintf("shopify %s: %s", e.op, strings.Join(msgs, "; "))
}

// code is the first error's extensions.code ("" if none).
func (e *graphqlError) code() string {
	for _, ge := range e.errs {
		if ge.Extensions.Code != "" {
			return ge.Extensions.Code
		}
	}
	return ""
}

// graphql runs one named operation and decodes its data into out. It
// paces the call on the cost bucket and retries THROTTLED answers after
// the restore time; HTTP 429/5xx are the framework client's to retry.
func (c *Connector) graphql(ctx context.Context, op operation, vars map[string]any, out any) error {
	body, err := json.Marshal(gqlRequest{Query: op.query, OperationName: op.name, Variables: vars})
	if err != nil {
		return fmt.Errorf("shopify %s: encoding request: %w", op.name, err)
	}
	for attempt := 0; ; attempt++ {
		if err := c.bucket.wait(ctx, op.name, op.background); err != nil {
			return fmt.Errorf("shopify %s: %w", op.name, err)
		}
		resp, err := c.post(ctx, op, body)
		if err != nil {
			return err
		}
		c.bucket.observe(op.name, resp.Extensions.Cost)
		if throttled(resp.Errors) {
			c.metrics.throttled.Inc()
			wait := c.bucket.throttledWait(resp.Extensions.Cost)
			if attempt >= maxThrottleRetries {
				return &throttledError{op: op.name, attempts: attempt, Wait: wait}
			}
			if err := connectors.WaitContext(ctx, wait); err != nil {
				return fmt.Errorf("shopify %s: %w", op.name, err)
			}
			continue
		}
		if len(resp.Errors) > 0 {
			return &graphqlError{op: op.name, errs: resp.Errors}
		}
		if len(resp.Data) == 0 || bytes.Equal(resp.Data, []byte("null")) {
			return fmt.Errorf("shopify %s: response without data", op.name)
		}
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return fmt.Errorf("shopify %s: decoding data: %w", op.name, err)
		}
		return nil
	}
}

func throttled(errs []gqlError) bool {
	for _, e := range errs {
		if e.Extensions.Code == "THROTTLED" {
			return true
		}
	}
	return false
}

// post sends one request: through the framework's retrying client, or,
// for an operation that must not be sent twice blindly (op.once), in one
// attempt. The access token goes only in its header; no error built here
// can contain it.
func (c *Connector) post(ctx context.Context, op operation, body []byte) (*gqlResponse, error) {
	opName := op.name
	client := c.deps.HTTP
	if op.once {
		client = c.onceHTTP
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("shopify %s: %w", opName, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token.Value())
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shopify %s: %w", opName, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("shopify %s: reading response: %w", opName, err)
	}
	if len(raw) > maxResponse {
		return nil, fmt.Errorf("shopify %s: response over %d bytes", opName, maxResponse)
	}
	if res.StatusCode != http.StatusOK {
		se := &statusError{op: opName, Status: res.StatusCode, body: snippet(raw)}
		se.RetryAfter, _ = connectors.RetryAfter(res.Header.Get("Retry-After"), time.Now())
		return nil, se
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("shopify %s: decoding response: %w", opName, err)
	}
	return &out, nil
}

// snippet is the start of an error body, for the error message.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
