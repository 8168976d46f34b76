package amazontest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func token(t *testing.T, s *Server, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(s.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if body.Error != "" {
		return resp.StatusCode, body.Error
	}
	return resp.StatusCode, body.AccessToken
}

func goodForm() url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {DefaultRefreshToken}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
}

func TestTokenEndpoint(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		status int
		want   string
	}{
		{"good", func(url.Values) {}, 200, "Atza|"},
		{"wrong grant", func(f url.Values) { f.Set("grant_type", "client_credentials") }, 400, "unsupported_grant_type"},
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "x") }, 401, "invalid_client"},
		{"credentials as basic auth only", func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }, 401, "invalid_client"},
		{"wrong refresh token", func(f url.Values) { f.Set("refresh_token", "Atzr|other") }, 400, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := goodForm()
			tc.change(f)
			status, got := token(t, s, f)
			if status != tc.status || !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %d %q, want %d %q", status, got, tc.status, tc.want)
			}
		})
	}
	if s.TokenRefreshes() != 1 {
		t.Errorf("%d tokens issued, want 1", s.TokenRefreshes())
	}
}

func get(t *testing.T, s *Server, path, tok string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if tok != "" {
		req.Header.Set("x-amz-access-token", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAccessTokenChecked(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }, TokenTTL: time.Minute})
	defer s.Close()
	s.SetListing("A", 1)
	_, tok := token(t, s, goodForm())
	path := "/listings/2021-08-01/items/" + DefaultSellerID + "/A?marketplaceIds=" + DefaultMarketplace
	if resp, _ := get(t, s, path, ""); resp.StatusCode != 403 {
		t.Errorf("no token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := get(t, s, path, "Atza|made-up"); resp.StatusCode != 403 {
		t.Errorf("unknown token: %d, want 403", resp.StatusCode)
	}
	resp, _ := get(t, s, path, tok)
	if resp.StatusCode != 200 || resp.Header.Get("x-amzn-RateLimit-Limit") != "5" {
		t.Errorf("good token: %d, rate limit %q", resp.StatusCode, resp.Header.Get("x-amzn-RateLimit-Limit"))
	}
	now = now.Add(time.Minute)
	if resp, _ := get(t, s, path, tok); resp.StatusCode != 403 {
		t.Errorf("expired token: %d, want 403", resp.StatusCode)
	}
}

func TestGetOrdersValidation(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	_, tok := token(t, s, goodForm())
	for _, tc := range []struct {
		name   string
		query  string
		status int
	}{
		{"ok", "MarketplaceIds=" + DefaultMarketplace + "&LastUpdatedAfter=2026-01-01T10:00:00Z&LastUpdatedBefore=2026-01-01T11:58:00Z", 200},
		{"before too recent", "MarketplaceIds=" + DefaultMarketplace + "&LastUpdatedAfter=2026-01-01T10:00:00Z&LastUpdatedBefore=2026-01-01T11:59:00Z", 400},
		{"no marketplace", "LastUpdatedAfter=2026-01-01T10:00:00Z", 400},
		{"no after", "MarketplaceIds=" + DefaultMarketplace, 400},
		{"page too big", "MarketplaceIds=" + DefaultMarketplace + "&LastUpdatedAfter=2026-01-01T10:00:00Z&MaxResultsPerPage=101", 400},
		{"bad token", "MarketplaceIds=" + DefaultMarketplace + "&NextToken=nope", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp, body := get(t, s, "/orders/v0/orders?"+tc.query, tok); resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.SetListing("A", 1)
	_, tok := token(t, s, goodForm())
	s.Throttle("getListingsItem", 1, "2")
	path := "/listings/2021-08-01/items/" + DefaultSellerID + "/A?marketplaceIds=" + DefaultMarketplace
	resp, body := get(t, s, path, tok)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(body, "QuotaExceeded") {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := get(t, s, path, tok); resp.StatusCode != 200 {
		t.Fatalf("after the throttle: %d", resp.StatusCode)
	}
}

func TestSQSRefusesUnsigned(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	body := `{"QueueUrl":"` + s.QueueURL() + `","MaxNumberOfMessages":1}`
	for _, tc := range []struct {
		name, target, ctype, auth string
		status                    int
	}{
		{"no target", "", "application/x-amz-json-1.0", "", 400},
		{"query protocol content type", "AmazonSQS.ReceiveMessage", "application/x-www-form-urlencoded", "", 400},
		{"unsigned", "AmazonSQS.ReceiveMessage", "application/x-amz-json-1.0", "", 403},
		{"other key", "AmazonSQS.ReceiveMessage", "application/x-amz-json-1.0", "AWS4-HMAC-SHA256 Credential=AKIAOTHER/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
			req.Header.Set("Content-Type", tc.ctype)
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func TestSellLowersTheListingNotBelowZero(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.SetListing("A", 3)
	for _, c := range []struct {
		n, want int64
	}{{1, 2}, {5, 0}} {
		if !s.Sell("A", c.n) {
			t.Fatal("listed SKU reported unlisted")
		}
		if q, _ := s.Quantity("A"); q != c.want {
			t.Fatalf("after selling %d: %d, want %d", c.n, q, c.want)
		}
	}
	if s.Sell("NOPE", 1) {
		t.Fatal("an unlisted SKU was sold")
	}
}
