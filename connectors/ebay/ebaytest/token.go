package ebaytest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// handleToken is eBay's POST /identity/v1/oauth2/token: Basic client auth,
// form body, grant_type refresh_token (with the seller's refresh token and
// sell scopes) or client_credentials (with the application scope).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !s.checkTokenRequest(w, r) {
		return
	}
	scopes, app, refusal := s.grant(r.PostForm)
	if refusal != "" {
		writeOAuthError(w, http.StatusBadRequest, refusal)
		return
	}
	tok, tokenType := s.issueToken(scopes, app)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(s.opts.TokenTTL.Seconds()),
		"token_type":   tokenType,
	})
}

// OAuth errors of the token endpoint, as eBay describes them.
var oauthErrors = map[string]string{
	"invalid_client":         "client authentication failed",
	"invalid_request":        "request is missing a required parameter or malformed",
	"invalid_grant":          "the provided authorization refresh token is invalid or was issued to another client",
	"invalid_scope":          "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client",
	"unsupported_grant_type": "grant type in request is not supported by the authorization server",
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": oauthErrors[code]})
}

// checkTokenRequest checks the client's Basic credentials and reads the
// form body; when it answers false it has written the error.
func (s *Server) checkTokenRequest(w http.ResponseWriter, r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client")
		return false
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return false
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request")
		return false
	}
	return true
}

// grant reads the grant a form asks for: the scopes to grant and whether
// the token is an application token, or the OAuth error refusing it.
func (s *Server) grant(form url.Values) (scopes []string, app bool, refusal string) {
	scopes = strings.Fields(form.Get("scope"))
	switch form.Get("grant_type") {
	case "refresh_token":
		if subtle.ConstantTimeCompare([]byte(form.Get("refresh_token")), []byte(s.opts.RefreshToken)) != 1 {
			return nil, false, "invalid_grant"
		}
		for _, sc := range scopes {
			if sc != ScopeFulfillment && sc != ScopeInventory {
				return nil, false, "invalid_scope"
			}
		}
		if len(scopes) == 0 {
			// eBay grants the scopes of the original consent.
			scopes = []string{ScopeFulfillment, ScopeInventory}
		}
		return scopes, false, ""
	case "client_credentials":
		if len(scopes) != 1 || scopes[0] != ScopeApp {
			return nil, false, "invalid_scope"
		}
		return scopes, true, ""
	default:
		return nil, false, "unsupported_grant_type"
	}
}

// issueToken issues and records a token of scopes, counting it as an
// application token or a refresh.
func (s *Server) issueToken(scopes []string, app bool) (tok, tokenType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	kind := "user"
	tokenType = "User Access Token"
	if app {
		s.appTokens++
		kind, tokenType = "app", "Application Access Token"
	} else {
		s.refreshes++
	}
	tok = fmt.Sprintf("v^1.1#ebaytest-%s-%d", kind, s.issued)
	set := map[string]bool{}
	for _, sc := range scopes {
		set[sc] = true
	}
	s.tokens[tok] = issuedToken{app: app, scopes: set, expires: s.opts.Now().Add(s.opts.TokenTTL)}
	return tok, tokenType
}
