package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// TokenSource hands out a channel's access token (oauth.RefreshSource,
// oauth.ClientCredentialsSource). Invalidate drops the token, so the next
// Token fetches a fresh one.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate()
}

// DefaultMaxAnswer bounds what API.Send reads of one answer by default.
const DefaultMaxAnswer = 16 << 20

// API is a channel's authenticated JSON REST API, as one call needs it:
// the part of an eBay or Amazon call that is the same for both. A call
// (Send, Call):
//
//  1. takes an access token from Tokens (OnToken sees the outcome);
//  2. waits on Wait, if set (a rate limiter: after the token, whose refresh
//     may take a round trip, so a request the limiter let go leaves at once);
//  3. sends the request with the token attached by Authorize, Accept:
//     application/json, Content-Type: application/json when it has a body,
//     and Header; Client retries 429 and 5xx (NewHTTPClient);
//  4. reads at most MaxAnswer bytes of the answer (Observe sees it first);
//  5. if the status is one of RefreshOn and this was the first try, drops
//     the token (OnRefresh) and goes back to 1, once: the channel no longer
//     takes a token it issued (revoked early, expired in flight).
//
// Send returns the answer whatever its status; its error is for the
// token, the limiter, transport, reading and ctx only. Call also decodes a
// 2xx answer into out and turns any other into the channel's error.
//
// An API is a plain value: a connector may build one per call.
type API struct {
	// Channel names the channel in errors: "eBay", "amazon".
	Channel string
	Client  *http.Client
	Tokens  TokenSource
	// Authorize attaches the token to a request's headers (BearerToken,
	// TokenHeader). Required.
	Authorize func(h http.Header, token string)
	// Header is set on every request (after the defaults above).
	Header http.Header
	// RefreshOn are the statuses that mean "this token is no longer
	// taken": eBay answers 401, SP-API 403. Default: 401.
	RefreshOn []int
	// MaxAnswer bounds what is read of one answer; default DefaultMaxAnswer.
	// A longer answer is cut there (and will not decode).
	MaxAnswer int64
	// OnToken, if set, sees the outcome of every token fetch (nil on
	// success): a connector's Ready remembers a refusal of its credentials.
	OnToken func(err error)
	// OnRefresh, if set, is called when a token was refused and dropped.
	OnRefresh func()
	// Wait, if set, is waited on before every request (a rate limiter).
	Wait func(ctx context.Context) error
	// Observe, if set, sees every answer's headers (rate-limit headers).
	Observe func(resp *http.Response)
	// Error turns an answer outside 2xx into the channel's error (its
	// error body decoded). Default: *APIStatusError.
	Error func(op string, status int, body []byte) error
	// AllowEmpty lets Call take a 2xx answer without a body, leaving out
	// untouched; otherwise that is a decoding error.
	AllowEmpty bool
}

// APIRequest is one call: Op names it in errors ("GET /sell/…",
// "getOrders"); URL carries the query; Body is the JSON to send (nil: none).
type APIRequest struct {
	Op     string
	Method string
	URL    string
	Body   []byte
}

// APIResponse is an answer read whole (up to API.MaxAnswer).
type APIResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// BearerToken attaches a token as "Authorization: Bearer <token>" (eBay).
func BearerToken(h http.Header, token string) { h.Set("Authorization", "Bearer "+token) }

// TokenHeader attaches a token as the value of a header of its own
// (Amazon's x-amz-access-token).
func TokenHeader(name string) func(h http.Header, token string) {
	return func(h http.Header, token string) { h.Set(name, token) }
}

// APIStatusError is the default error of an answer outside 2xx.
type APIStatusError struct {
	Channel string
	Op      string
	Status  int
	Body    string // the start of the answer
}

func (e *APIStatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Channel, e.Op, e.Status, e.Body)
}

// Unwrap lets errors.Is(err, ErrNotFound) see a 404.
func (e *APIStatusError) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

// Send makes the call and returns its answer, whatever the status (see
// API). On a failed read the answer so far comes with the error.
func (a API) Send(ctx context.Context, r APIRequest) (*APIResponse, error) {
	refreshOn := a.RefreshOn
	if refreshOn == nil {
		refreshOn = []int{http.StatusUnauthorized}
	}
	limit := a.MaxAnswer
	if limit <= 0 {
		limit = DefaultMaxAnswer
	}
	for attempt := 0; ; attempt++ {
		out, err := a.sendOnce(ctx, r, limit)
		if err != nil {
			return out, err
		}
		// A token the channel no longer takes is dropped and the call
		// made again with a fresh one, once.
		if attempt == 0 && slices.Contains(refreshOn, out.Status) {
			if a.OnRefresh != nil {
				a.OnRefresh()
			}
			a.Tokens.Invalidate()
			continue
		}
		return out, nil
	}
}

// sendOnce is one try of Send (steps 1 to 4 on API), reading at most
// limit bytes of the answer. On a failed read the answer so far comes
// with the error.
func (a API) sendOnce(ctx context.Context, r APIRequest, limit int64) (*APIResponse, error) {
	tok, err := a.Tokens.Token(ctx)
	if a.OnToken != nil {
		a.OnToken(err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: access token: %w", a.Channel, r.Op, err)
	}
	if a.Wait != nil {
		if err := a.Wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: waiting for the rate limit: %w", a.Channel, r.Op, err)
		}
	}
	req, err := a.newRequest(ctx, r, tok)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", a.Channel, r.Op, err)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", a.Channel, r.Op, err)
	}
	if a.Observe != nil {
		a.Observe(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	out := &APIResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if err != nil {
		return out, fmt.Errorf("%s %s: reading the answer: %w", a.Channel, r.Op, err)
	}
	return out, nil
}

// newRequest builds r's HTTP request with its headers (the JSON defaults,
// then a.Header) and the token attached by a.Authorize.
func (a API) newRequest(ctx context.Context, r APIRequest, tok string) (*http.Request, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range a.Header {
		req.Header[k] = slices.Clone(v)
	}
	a.Authorize(req.Header, tok)
	return req, nil
}

// Call is Send, then: a 2xx answer is decoded into out (unless out is
// nil); any other status is API.Error's error.
func (a API) Call(ctx context.Context, r APIRequest, out any) (*APIResponse, error) {
	resp, err := a.Send(ctx, r)
	if err != nil {
		return resp, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp, a.StatusError(r.Op, resp)
	}
	if out == nil || (a.AllowEmpty && len(resp.Body) == 0) {
		return resp, nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return resp, fmt.Errorf("%s %s: decoding the answer: %w", a.Channel, r.Op, err)
	}
	return resp, nil
}

// StatusError is the error of an answer outside 2xx (API.Error, or an
// *APIStatusError).
func (a API) StatusError(op string, resp *APIResponse) error {
	if a.Error != nil {
		return a.Error(op, resp.Status, resp.Body)
	}
	return &APIStatusError{Channel: a.Channel, Op: op, Status: resp.Status, Body: Snippet(resp.Body, 200)}
}

// Snippet is the start of an answer (at most n bytes), on one line, for an
// error message.
func Snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
}
