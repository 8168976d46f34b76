package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// tokens hands out "t1", "t2", … (a fresh one after each Invalidate).
type tokens struct {
	mu          sync.Mutex
	n           int
	invalidated int
	err         error
}

func (t *tokens) Token(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return "", t.err
	}
	if t.n == 0 {
		t.n = 1
	}
	return fmt.Sprintf("t%d", t.n), nil
}

func (t *tokens) Invalidate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.invalidated++
	t.n++
}

// seen is one request as the server saw it.
type seen struct {
	method, path, query, body string
	header                    http.Header
}

type answer struct {
	status int
	body   string
}

// errorList is a channel's error body, {"errors":[{"code","message"}]}.
type errorList struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

type channelError struct {
	op     string
	status int
	code   string
}

func (e *channelError) Error() string { return fmt.Sprintf("%s: %d %s", e.op, e.status, e.code) }

func decodeErrorList(op string, status int, body []byte) error {
	e := &channelError{op: op, status: status}
	var l errorList
	if json.Unmarshal(body, &l) == nil && len(l.Errors) > 0 {
		e.code = l.Errors[0].Code
	}
	return e
}

func TestAPICall(t *testing.T) {
	errNoToken := errors.New("refresh token revoked")
	cases := []struct {
		name string
		// api tunes the API under test (Client, Tokens, Channel set).
		api      func(a *API)
		req      APIRequest // Method default GET, Path default /x
		tokenErr error
		answers  []answer // in order; the last repeats
		send     bool     // Send instead of Call

		wantErr      string // substring; "" for none
		wantErrIs    error
		wantErrAs    bool // a *channelError
		wantStatus   int
		wantRequests int
		wantAuth     []string // the token header of each request
		wantOut      string
		wantRefresh  int
	}{
		{
			name: "bearer token, headers, body, decoded answer",
			api: func(a *API) {
				a.Authorize = BearerToken
				a.Header = http.Header{"X-Ebay-C-Marketplace-Id": {"EBAY_DE"}}
			},
			req:     APIRequest{Op: "POST /x", Method: http.MethodPost, Body: []byte(`{"a":1}`)},
			answers: []answer{{200, `{"v":"ok"}`}}, wantStatus: 200, wantRequests: 1,
			wantAuth: []string{"Bearer t1"}, wantOut: "ok",
		},
		{
			name:       "token refused once (eBay 401): refreshed, tried again",
			api:        func(a *API) { a.Authorize = BearerToken },
			answers:    []answer{{401, `{"errors":[{"code":"1001"}]}`}, {200, `{"v":"second"}`}},
			wantStatus: 200, wantRequests: 2, wantAuth: []string{"Bearer t1", "Bearer t2"}, wantOut: "second", wantRefresh: 1,
		},
		{
			name:    "token refused twice: the second refusal is the channel's error",
			api:     func(a *API) { a.Authorize = BearerToken; a.Error = decodeErrorList },
			answers: []answer{{401, `{"errors":[{"code":"1001"}]}`}},
			wantErr: "GET /x: 401 1001", wantErrAs: true, wantStatus: 401, wantRequests: 2, wantRefresh: 1,
		},
		{
			name: "amazon: x-amz-access-token, 403 refreshes",
			api: func(a *API) {
				a.Authorize = TokenHeader("x-amz-access-token")
				a.RefreshOn = []int{http.StatusForbidden}
			},
			answers:    []answer{{403, `{"errors":[{"code":"Unauthorized"}]}`}, {200, `{"v":"ok"}`}},
			wantStatus: 200, wantRequests: 2, wantAuth: []string{"t1", "t2"}, wantOut: "ok", wantRefresh: 1,
		},
		{
			name:    "a status not in RefreshOn is not retried",
			api:     func(a *API) { a.Authorize = BearerToken; a.Error = decodeErrorList },
			answers: []answer{{403, `{"errors":[{"code":"insufficient scope"}]}`}},
			wantErr: "403 insufficient scope", wantErrAs: true, wantStatus: 403, wantRequests: 1,
		},
		{
			name:    "default error: status and the start of the body; a 404 is ErrNotFound",
			api:     func(a *API) { a.Authorize = BearerToken },
			answers: []answer{{404, "no\n  such   order"}},
			wantErr: "test GET /x: HTTP 404: no such order", wantErrIs: ErrNotFound, wantStatus: 404, wantRequests: 1,
		},
		{
			name:    "Send returns a refusal as an answer",
			api:     func(a *API) { a.Authorize = BearerToken },
			send:    true,
			answers: []answer{{400, `{"errors":[]}`}}, wantStatus: 400, wantRequests: 1,
		},
		{
			name:    "an answer past MaxAnswer is cut and does not decode",
			api:     func(a *API) { a.Authorize = BearerToken; a.MaxAnswer = 8 },
			answers: []answer{{200, `{"v":"far too long"}`}},
			wantErr: "test GET /x: decoding the answer", wantStatus: 200, wantRequests: 1,
		},
		{
			name:    "an undecodable 2xx answer",
			api:     func(a *API) { a.Authorize = BearerToken },
			answers: []answer{{200, `<html>`}},
			wantErr: "decoding the answer", wantStatus: 200, wantRequests: 1,
		},
		{
			name:    "an empty 2xx answer is an error unless allowed",
			api:     func(a *API) { a.Authorize = BearerToken },
			answers: []answer{{200, ``}},
			wantErr: "decoding the answer", wantStatus: 200, wantRequests: 1,
		},
		{
			name:    "an empty 2xx answer allowed",
			api:     func(a *API) { a.Authorize = BearerToken; a.AllowEmpty = true },
			answers: []answer{{204, ``}}, wantStatus: 204, wantRequests: 1, wantOut: "untouched",
		},
		{
			name:     "no token: no request",
			api:      func(a *API) { a.Authorize = BearerToken },
			tokenErr: errNoToken,
			wantErr:  "test GET /x: access token: refresh token revoked", wantErrIs: errNoToken,
		},
		{
			name: "the limiter refuses: no request",
			api: func(a *API) {
				a.Authorize = BearerToken
				a.Wait = func(context.Context) error { return context.DeadlineExceeded }
			},
			wantErr: "waiting for the rate limit", wantErrIs: context.DeadlineExceeded,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var reqs []seen
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				reqs = append(reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()})
				a := tc.answers[min(len(reqs), len(tc.answers))-1]
				mu.Unlock()
				w.Header().Set("X-Seen", "1")
				w.WriteHeader(a.status)
				_, _ = io.WriteString(w, a.body)
			}))
			defer srv.Close()
			tok := &tokens{err: tc.tokenErr}
			var tokenOutcomes []error
			refreshes, observed := 0, 0
			a := API{Channel: "test", Client: srv.Client(), Tokens: tok,
				OnToken:   func(err error) { tokenOutcomes = append(tokenOutcomes, err) },
				OnRefresh: func() { refreshes++ },
				Observe:   func(r *http.Response) { observed += len(r.Header.Values("X-Seen")) },
			}
			tc.api(&a)
			r := tc.req
			if r.Op == "" {
				r.Op = "GET /x"
			}
			if r.Method == "" {
				r.Method = http.MethodGet
			}
			r.URL = srv.URL + "/x?q=1"
			out := struct{ V string }{V: "untouched"}
			var resp *APIResponse
			var err error
			if tc.send {
				resp, err = a.Send(context.Background(), r)
			} else {
				resp, err = a.Call(context.Background(), r, &out)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			if tc.wantErrIs != nil && !errors.Is(err, tc.wantErrIs) {
				t.Fatalf("error %v is not %v", err, tc.wantErrIs)
			}
			var ce *channelError
			if tc.wantErrAs != errors.As(err, &ce) {
				t.Fatalf("error %v: channel error %v, want %v", err, ce != nil, tc.wantErrAs)
			}
			if tc.wantStatus != 0 && (resp == nil || resp.Status != tc.wantStatus) {
				t.Fatalf("answer %+v, want status %d", resp, tc.wantStatus)
			}
			if len(reqs) != tc.wantRequests || observed != tc.wantRequests {
				t.Fatalf("%d requests (%d observed), want %d", len(reqs), observed, tc.wantRequests)
			}
			if refreshes != tc.wantRefresh || tok.invalidated != tc.wantRefresh {
				t.Fatalf("%d refreshes, %d invalidations; want %d", refreshes, tok.invalidated, tc.wantRefresh)
			}
			if len(tokenOutcomes) == 0 || !errors.Is(tokenOutcomes[len(tokenOutcomes)-1], tc.tokenErr) {
				t.Fatalf("OnToken saw %v", tokenOutcomes)
			}
			if tc.wantOut != "" && out.V != tc.wantOut {
				t.Fatalf("decoded %q, want %q", out.V, tc.wantOut)
			}
			for i, want := range tc.wantAuth {
				got := reqs[i].header.Get("Authorization")
				if a.RefreshOn != nil {
					got = reqs[i].header.Get("X-Amz-Access-Token")
				}
				if got != want {
					t.Fatalf("request %d carried token %q, want %q", i, got, want)
				}
			}
			for _, s := range reqs {
				if s.method != r.Method || s.path != "/x" || s.query != "q=1" || s.header.Get("Accept") != "application/json" {
					t.Fatalf("request %+v", s)
				}
				if string(r.Body) != s.body || (r.Body != nil) != (s.header.Get("Content-Type") == "application/json") {
					t.Fatalf("request body %q, content type %q", s.body, s.header.Get("Content-Type"))
				}
				for k := range a.Header {
					if s.header.Get(k) != a.Header.Get(k) {
						t.Fatalf("header %s: %q", k, s.header.Get(k))
					}
				}
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"a\n\tb  ":               "a b",
		"abcdefghij":             "abcde",
		"ab\xffcd":               "abcd",
		strings.Repeat("x ", 10): "x x x",
	} {
		if got := Snippet([]byte(in), 5); got != want {
			t.Errorf("Snippet(%q) = %q, want %q", in, got, want)
		}
	}
}
