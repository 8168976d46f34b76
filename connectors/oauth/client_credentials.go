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

// ClientCredentialsSource hands out application tokens from the
// client_credentials grant: eBay's token for the Notification API's public
// keys, which belongs to the app, not to a seller. Like RefreshSource it
// caches the token, refreshes it a margin before expiry and lets one
// refresh run at a time however many callers wait.
type ClientCredentialsSource struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
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

// Token returns a valid application token, asking for a new one first if
// it expires within the margin. Concurrent callers wait for one request.
func (s *ClientCredentialsSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	margin := s.Margin
	if margin == 0 {
		margin = 5 * time.Minute
	}
	if s.token != "" && now.Add(margin).Before(s.expires) {
		return s.token, nil
	}
	tok, ttl, err := s.request(ctx)
	if err != nil {
		return "", err
	}
	s.token, s.expires = tok, now.Add(ttl)
	return tok, nil
}

// Invalidate drops the cached token (after the API answered 401).
func (s *ClientCredentialsSource) Invalidate() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

func (s *ClientCredentialsSource) request(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(s.Scopes) > 0 {
		form.Set("scope", strings.Join(s.Scopes, " "))
	}
	if s.ClientAuth == AuthBody {
		form.Set("client_id", s.ClientID)
		form.Set("client_secret", s.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("application token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.ClientAuth == AuthBasic {
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("application token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("reading application token response: %w", err)
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
		return "", 0, fmt.Errorf("decoding application token response: %w", jerr)
	}
	if tr.AccessToken == "" {
		return "", 0, errors.New("application token response has no access_token")
	}
	ttl := time.Duration(tr.ExpiresIn * float64(time.Second))
	if ttl <= 0 {
		ttl = time.Hour
	}
	return tr.AccessToken, ttl, nil
}
