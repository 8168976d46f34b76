// Package oauth is the refresh-token grant that eBay and Login with Amazon
// both use: one access token per channel, cached in memory, refreshed a
// margin before it expires, one refresh at a time however many callers wait.
//
// It is not golang.org/x/oauth2 because eBay's refresh must carry a scope
// parameter and Amazon wants the client credentials in the form body, and
// both need the refresh to go through the channel's metered, rate-limited
// HTTP client.
package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ClientAuth says where the client id and secret go.
type ClientAuth int

const (
	// AuthBasic sends them as HTTP Basic auth (eBay).
	AuthBasic ClientAuth = iota
	// AuthBody sends them as client_id and client_secret form fields (Amazon).
	AuthBody
)

// RefreshSource hands out access tokens from a refresh token.
type RefreshSource struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	RefreshToken string
	// Scopes, if any, go space-separated in the scope field.
	Scopes     []string
	ClientAuth ClientAuth
	HTTP       *http.Client
	// Margin: a token is refreshed this long before it expires (default 5m).
	Margin time.Duration
	Now    func() time.Time

	cache tokenCache
}

// Token returns a valid access token, refreshing it first if it expires
// within the margin. Concurrent callers wait for one refresh.
func (s *RefreshSource) Token(ctx context.Context) (string, error) {
	return s.cache.get(ctx, s.Margin, s.Now, func(ctx context.Context) (string, time.Duration, error) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.RefreshToken}}
		return grant(ctx, s.HTTP, s.TokenURL, form, s.Scopes, s.ClientAuth, s.ClientID, s.ClientSecret)
	})
}

// Invalidate drops the cached token (after the API answered 401).
func (s *RefreshSource) Invalidate() { s.cache.invalidate() }

// tokenCache holds one token and lets one fetch run at a time.
type tokenCache struct {
	mu      sync.Mutex
	token   string
	expires time.Time
}

func (c *tokenCache) get(ctx context.Context, margin time.Duration, now func() time.Time,
	fetch func(context.Context) (string, time.Duration, error)) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := time.Now()
	if now != nil {
		t = now()
	}
	if margin == 0 {
		margin = 5 * time.Minute
	}
	if c.token != "" && t.Add(margin).Before(c.expires) {
		return c.token, nil
	}
	tok, ttl, err := fetch(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.expires = tok, t.Add(ttl)
	return tok, nil
}

func (c *tokenCache) invalidate() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// Error is a refused token request. It carries the server's error code,
// never the credentials.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string {
	return fmt.Sprintf("token request refused: HTTP %d %s %s", e.Status, e.Code, e.Description)
}

// grant posts one token request of the grant in form and reads the answer.
func grant(ctx context.Context, client *http.Client, tokenURL string, form url.Values, scopes []string,
	auth ClientAuth, id, secret string) (string, time.Duration, error) {
	what := form.Get("grant_type")
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	if auth == AuthBody {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("%s token request: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth == AuthBasic {
		req.SetBasicAuth(id, secret)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%s token request: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("reading %s token response: %w", what, err)
	}
	var tr struct {
		AccessToken      string  `json:"access_token"`
		ExpiresIn        float64 `json:"expires_in"`
		Error            string  `json:"error"`
		ErrorDescription string  `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &tr)
	if resp.StatusCode != http.StatusOK {
		return "", 0, &Error{Status: resp.StatusCode, Code: tr.Error, Description: tr.ErrorDescription}
	}
	if jerr != nil {
		return "", 0, fmt.Errorf("decoding %s token response: %w", what, jerr)
	}
	if tr.AccessToken == "" {
		return "", 0, fmt.Errorf("%s token response has no access_token", what)
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = time.Hour
	}
	return tr.AccessToken, ttl, nil
}
