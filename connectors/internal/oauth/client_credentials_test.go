package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenServer is a client_credentials token endpoint that checks what eBay
// checks: Basic client auth, the grant type and the scope.
func tokenServer(t *testing.T, wantScope string, expiresIn int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var issued atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "app-id" || secret != "app-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"unsupported_grant_type","error_description":"grant type in request is not supported"}`)
			return
		}
		if r.PostForm.Get("scope") != wantScope {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_scope","error_description":"the requested scope is invalid"}`)
			return
		}
		n := issued.Add(1)
		fmt.Fprintf(w, `{"access_token":"app-%d","expires_in":%d,"token_type":"Application Access Token"}`, n, expiresIn)
	}))
	t.Cleanup(srv.Close)
	return srv, &issued
}

func TestClientCredentialsSource(t *testing.T) {
	const scope = "https://api.ebay.com/oauth/api_scope"
	tests := []struct {
		name      string
		secret    string
		scopes    []string
		wantCode  string
		wantToken string
	}{
		{name: "good credentials", secret: "app-secret", scopes: []string{scope}, wantToken: "app-1"},
		{name: "bad secret", secret: "wrong-secret", scopes: []string{scope}, wantCode: "invalid_client"},
		{name: "wrong scope", secret: "app-secret", scopes: []string{"https://api.ebay.com/oauth/api_scope/sell.inventory"}, wantCode: "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := tokenServer(t, scope, 7200)
			s := &ClientCredentialsSource{TokenURL: srv.URL, ClientID: "app-id", ClientSecret: tc.secret, Scopes: tc.scopes, HTTP: srv.Client()}
			tok, err := s.Token(context.Background())
			if tc.wantCode == "" {
				if err != nil || tok != tc.wantToken {
					t.Fatalf("Token = %q, %v; want %q", tok, err, tc.wantToken)
				}
				return
			}
			var oe *Error
			if !errors.As(err, &oe) || oe.Code != tc.wantCode {
				t.Fatalf("Token error = %v; want code %s", err, tc.wantCode)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("error %q leaks the client secret", err)
			}
		})
	}
}

func TestClientCredentialsSourceCachesAndRefreshesOnce(t *testing.T) {
	const scope = "https://api.ebay.com/oauth/api_scope"
	srv, issued := tokenServer(t, scope, 7200)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := &ClientCredentialsSource{TokenURL: srv.URL, ClientID: "app-id", ClientSecret: "app-secret", Scopes: []string{scope}, HTTP: srv.Client(), Now: clock}

	fetchAll := func() map[string]bool {
		var wg sync.WaitGroup
		toks := make([]string, 32)
		for i := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := s.Token(context.Background())
				if err != nil {
					t.Error(err)
				}
				toks[i] = tok
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, tok := range toks {
			seen[tok] = true
		}
		return seen
	}
	if seen := fetchAll(); len(seen) != 1 || !seen["app-1"] || issued.Load() != 1 {
		t.Fatalf("first round: tokens %v, %d issued; want only app-1, 1 issued", seen, issued.Load())
	}
	// Within the 5 minute margin of expiry: one new token for everyone.
	mu.Lock()
	now = now.Add(2*time.Hour - 4*time.Minute)
	mu.Unlock()
	if seen := fetchAll(); len(seen) != 1 || !seen["app-2"] || issued.Load() != 2 {
		t.Fatalf("after expiry margin: tokens %v, %d issued; want only app-2, 2 issued", seen, issued.Load())
	}
	s.Invalidate()
	if tok, err := s.Token(context.Background()); err != nil || tok != "app-3" {
		t.Fatalf("after Invalidate: %q, %v; want app-3", tok, err)
	}
}
