package oauth

import (
	"context"
	"net/http"
	"net/url"
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

	cache tokenCache
}

// Token returns a valid application token, asking for a new one first if
// it expires within the margin. Concurrent callers wait for one request.
func (s *ClientCredentialsSource) Token(ctx context.Context) (string, error) {
	return s.cache.get(ctx, s.Margin, s.Now, func(ctx context.Context) (string, time.Duration, error) {
		form := url.Values{"grant_type": {"client_credentials"}}
		return grant(ctx, s.HTTP, s.TokenURL, form, s.Scopes, s.ClientAuth, s.ClientID, s.ClientSecret)
	})
}

// Invalidate drops the cached token (after the API answered 401).
func (s *ClientCredentialsSource) Invalidate() { s.cache.invalidate() }
