package ebaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func token(t *testing.T, s *Server, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/identity/v1/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func get(t *testing.T, s *Server, path, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAuthLikeEBay: the fake refuses what eBay refuses, so the connector's
// tests can not pass against a fake that lets anything through.
func TestAuthLikeEBay(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"test-refresh-token"}, "scope": {ScopeInventory}}
	app := url.Values{"grant_type": {"client_credentials"}, "scope": {ScopeApp}}

	if code, body := token(t, s, "test-client-id", "wrong", refresh); code != 401 || body["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %v", code, body)
	}
	if code, body := token(t, s, "test-client-id", "test-client-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}); code != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("bad refresh token: %d %v", code, body)
	}
	code, body := token(t, s, "test-client-id", "test-client-secret", refresh)
	if code != 200 || body["expires_in"].(float64) != 7200 {
		t.Fatalf("refresh: %d %v", code, body)
	}
	user := body["access_token"].(string)
	_, body = token(t, s, "test-client-id", "test-client-secret", app)
	appTok := body["access_token"].(string)

	tests := []struct {
		name, path, tok string
		want            int
	}{
		{"no token", "/sell/inventory/v1/inventory_item", "", 401},
		{"unknown token", "/sell/inventory/v1/inventory_item", "made-up", 401},
		{"user token, granted scope", "/sell/inventory/v1/inventory_item", user, 200},
		{"user token, scope not granted", "/sell/fulfillment/v1/order/1", user, 403},
		{"app token on a seller API", "/sell/inventory/v1/inventory_item", appTok, 403},
		{"user token on public keys", "/commerce/notification/v1/public_key/" + s.KeyID(), user, 403},
		{"app token on public keys", "/commerce/notification/v1/public_key/" + s.KeyID(), appTok, 200},
		{"unknown key", "/commerce/notification/v1/public_key/nope", appTok, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := get(t, s, tc.path, tc.tok); code != tc.want {
				t.Fatalf("GET %s = %d %s; want %d", tc.path, code, body, tc.want)
			}
		})
	}
	if s.Refreshes() != 1 || s.AppTokens() != 1 {
		t.Fatalf("counted %d refreshes, %d app tokens; want 1 and 1", s.Refreshes(), s.AppTokens())
	}
}

func TestOrdersFilterMustBeEncoded(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	_, body := token(t, s, "test-client-id", "test-client-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"test-refresh-token"}})
	tok := body["access_token"].(string)
	since := s.opts.Now().UTC().Add(-time.Hour).Format(dateFormat)
	if code, b := get(t, s, "/sell/fulfillment/v1/order?filter=lastmodifieddate:["+since+"..]", tok); code != 400 {
		t.Fatalf("raw brackets: %d %s; want 400", code, b)
	}
	if code, b := get(t, s, "/sell/fulfillment/v1/order?filter="+url.QueryEscape("lastmodifieddate:["+since+"..]"), tok); code != 200 {
		t.Fatalf("encoded: %d %s; want 200", code, b)
	}
	if code, b := get(t, s, "/sell/fulfillment/v1/order?limit=201&filter="+url.QueryEscape("lastmodifieddate:["+since+"..]"), tok); code != 400 {
		t.Fatalf("limit 201: %d %s; want 400", code, b)
	}
}

func TestSellLowersItemAndOffersNotBelowZero(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	ids := s.AddListing("A", 5, 2)
	for _, c := range []struct {
		n, want int64
	}{{2, 3}, {1, 2}, {4, 0}} {
		if !s.Sell("A", c.n) {
			t.Fatal("listed SKU reported unlisted")
		}
		if q, _ := s.Quantity("A"); q != c.want {
			t.Fatalf("after selling %d: item quantity %d, want %d", c.n, q, c.want)
		}
		for _, id := range ids {
			if q, _ := s.OfferQuantity(id); q != c.want {
				t.Fatalf("after selling %d: offer %s quantity %d, want %d", c.n, id, q, c.want)
			}
		}
	}
	if s.Sell("NOPE", 1) {
		t.Fatal("an unlisted SKU was sold")
	}
}
