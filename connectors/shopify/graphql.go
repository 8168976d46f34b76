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
	Message    string `json:"message"`
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
		resp, err := c.post(ctx, op.name, body)
		if err != nil {
			return err
		}
		c.bucket.observe(op.name, resp.Extensions.Cost)
		if throttled(resp.Errors) {
			c.metrics.throttled.Inc()
			if attempt >= maxThrottleRetries {
				return fmt.Errorf("shopify %s: %w after %d retries", op.name, errThrottled, attempt)
			}
			if err := connectors.WaitContext(ctx, c.bucket.throttledWait(resp.Extensions.Cost)); err != nil {
				return fmt.Errorf("shopify %s: %w", op.name, err)
			}
			continue
		}
		if len(resp.Errors) > 0 {
			msgs := make([]string, 0, len(resp.Errors))
			for _, e := range resp.Errors {
				m := e.Message
				if e.Extensions.Code != "" {
					m = e.Extensions.Code + ": " + m
				}
				msgs = append(msgs, m)
			}
			return fmt.Errorf("shopify %s: %s", op.name, strings.Join(msgs, "; "))
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

// post sends one request. The access token goes only in its header; no
// error built here can contain it.
func (c *Connector) post(ctx context.Context, opName string, body []byte) (*gqlResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("shopify %s: %w", opName, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token.Value())
	res, err := c.deps.HTTP.Do(req)
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
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("shopify %s: HTTP %d: the access token is refused or lacks a scope (%s)", opName, res.StatusCode, snippet(raw))
	case res.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("shopify %s: HTTP %d: %s", opName, res.StatusCode, snippet(raw))
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
