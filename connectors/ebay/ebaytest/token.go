package ebaytest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// handleToken is eBay's POST /identity/v1/oauth2/token: Basic client auth,
// form body, grant_type refresh_token (with the seller's refresh token and
// sell scopes) or client_credentials (with the application scope).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "client authentication failed"})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "request is missing a required parameter or malformed"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "request is missing a required parameter or malformed"})
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	var app bool
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("refresh_token")), []byte(s.opts.RefreshToken)) != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "the provided authorization refresh token is invalid or was issued to another client"})
			return
		}
		for _, sc := range scopes {
			if sc != ScopeFulfillment && sc != ScopeInventory {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope", "error_description": "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client"})
				return
			}
		}
		if len(scopes) == 0 {
			// eBay grants the scopes of the original consent.
			scopes = []string{ScopeFulfillment, ScopeInventory}
		}
	case "client_credentials":
		if len(scopes) != 1 || scopes[0] != ScopeApp {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope", "error_description": "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client"})
			return
		}
		app = true
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "grant type in request is not supported by the authorization server"})
		return
	}

	s.mu.Lock()
	s.issued++
	kind, tokenType := "user", "User Access Token"
	if app {
		s.appTokens++
		kind, tokenType = "app", "Application Access Token"
	} else {
		s.refreshes++
	}
	tok := fmt.Sprintf("v^1.1#ebaytest-%s-%d", kind, s.issued)
	set := map[string]bool{}
	for _, sc := range scopes {
		set[sc] = true
	}
	s.tokens[tok] = issuedToken{app: app, scopes: set, expires: s.opts.Now().Add(s.opts.TokenTTL)}
	s.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(s.opts.TokenTTL.Seconds()),
		"token_type":   tokenType,
	})
}
