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
	"errors"
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

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token returns a valid access token, refreshing it first if it expires
// within the margin. Concurrent callers wait for one refresh.
func (s *RefreshSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	margin := s.Margin
	if margin == 0 {
		margin = 5 * time.Minute
	}
	if s.token != "" && now.Add(margin).Before(s.expires) {
		return s.token, nil
	}
	tok, ttl, err := s.refresh(ctx)
	if err != nil {
		return "", err
	}
	s.token, s.expires = tok, now.Add(ttl)
	return tok, nil
}

// Invalidate drops the cached token (after the API answered 401).
func (s *RefreshSource) Invalidate() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

func (s *RefreshSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Error is a refused token request. It carries the server's error code,
// never the credentials.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string {
	return fmt.Sprintf("token refresh refused: HTTP %d %s %s", e.Status, e.Code, e.Description)
}

func (s *RefreshSource) refresh(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.RefreshToken}}
	if len(s.Scopes) > 0 {
		form.Set("scope", strings.Join(s.Scopes, " "))
	}
	if s.ClientAuth == AuthBody {
		form.Set("client_id", s.ClientID)
		form.Set("client_secret", s.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.ClientAuth == AuthBasic {
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("reading token response: %w", err)
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
		return "", 0, fmt.Errorf("decoding token response: %w", jerr)
	}
	if tr.AccessToken == "" {
		return "", 0, errors.New("token response has no access_token")
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = time.Hour
	}
	return tr.AccessToken, ttl, nil
}
