package amazontest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
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

type searchAnswer struct {
	NumberOfResults int `json:"numberOfResults"`
	Items           []struct {
		SKU                     string `json:"sku"`
		FulfillmentAvailability []struct {
			FulfillmentChannelCode string `json:"fulfillmentChannelCode"`
			Quantity               int64  `json:"quantity"`
		} `json:"fulfillmentAvailability"`
	} `json:"items"`
	Pagination struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
}

func (a *searchAnswer) skus() string {
	var out []string
	for _, it := range a.Items {
		s := it.SKU
		for _, fa := range it.FulfillmentAvailability {
			s += "=" + fa.FulfillmentChannelCode + ":" + strconv.FormatInt(fa.Quantity, 10)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func numberedSKUs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "S" + strconv.Itoa(i)
	}
	return out
}

// TestSearchListings: searchListingsItems checks the token and seller like
// the other listing calls, holds Amazon's bounds, splits identifiers on
// every comma, and answers only the listings it has, paged.
func TestSearchListings(t *testing.T) {
	// A wide bucket at the published rate: this test is about the bounds.
	s := New(Options{Bursts: map[string]int{"searchListingsItems": 100}})
	defer s.Close()
	for _, sku := range numberedSKUs(25) {
		s.SetListing(sku, 1)
	}
	s.SetListing("A", 3)
	s.SetListing("B", 0)
	s.SetListing("RED,M", 4)
	s.SetListing("X Y&Z", 5)
	_, tok := token(t, s, goodForm())
	base := "/listings/2021-08-01/items/" + DefaultSellerID + "?marketplaceIds=" + DefaultMarketplace
	byIDs := func(ids ...string) string {
		for i := range ids {
			ids[i] = url.QueryEscape(ids[i])
		}
		return base + "&identifiersType=SKU&includedData=fulfillmentAvailability&identifiers=" + strings.Join(ids, ",")
	}
	for _, tc := range []struct {
		name, path, tok string
		status          int
		want            string // the items, when 200
		total           int
		next            bool
	}{
		{name: "no token", path: byIDs("A"), status: 403},
		{name: "other seller", path: strings.Replace(byIDs("A"), DefaultSellerID, "A3OTHER", 1), tok: tok, status: 403},
		{name: "no marketplace", path: "/listings/2021-08-01/items/" + DefaultSellerID + "?identifiersType=SKU&identifiers=A", tok: tok, status: 400},
		{name: "identifiers without type", path: base + "&identifiers=A", tok: tok, status: 400},
		{name: "type without identifiers", path: base + "&identifiersType=SKU", tok: tok, status: 400},
		{name: "not by SKU", path: base + "&identifiersType=ASIN&identifiers=B071VG5N9D", tok: tok, status: 400},
		{name: "21 identifiers", path: byIDs(numberedSKUs(21)...) + "&pageSize=20", tok: tok, status: 400},
		{name: "empty identifier", path: byIDs("A", "", "B"), tok: tok, status: 400},
		{name: "page size 21", path: byIDs("A") + "&pageSize=21", tok: tok, status: 400},
		{name: "page size 0", path: byIDs("A") + "&pageSize=0", tok: tok, status: 400},
		{name: "bad page token", path: byIDs("A") + "&pageToken=nope", tok: tok, status: 400},
		{name: "known and unknown", path: byIDs("B", "NOPE", "A", "A"), tok: tok, status: 200,
			want: "B=DEFAULT:0 A=DEFAULT:3", total: 2},
		{name: "none known", path: byIDs("NOPE"), tok: tok, status: 200, want: "", total: 0},
		{name: "encoded space and ampersand", path: byIDs("X Y&Z"), tok: tok, status: 200, want: "X Y&Z=DEFAULT:5", total: 1},
		{name: "an encoded comma splits too", path: byIDs("RED,M"), tok: tok, status: 200, want: "", total: 0},
		{name: "20 identifiers, default page of 10", path: byIDs(numberedSKUs(20)...), tok: tok, status: 200,
			want:  "S0=DEFAULT:1 S1=DEFAULT:1 S2=DEFAULT:1 S3=DEFAULT:1 S4=DEFAULT:1 S5=DEFAULT:1 S6=DEFAULT:1 S7=DEFAULT:1 S8=DEFAULT:1 S9=DEFAULT:1",
			total: 20, next: true},
		{name: "summaries only by default", path: base + "&identifiersType=SKU&identifiers=A", tok: tok, status: 200, want: "A", total: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, s, tc.path, tc.tok)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			// The models document x-amzn-RateLimit-Limit on 200, 400 and
			// 404 answers, not on 403.
			if rl := resp.Header.Get("x-amzn-RateLimit-Limit"); rl != "5" && tc.status != 403 {
				t.Errorf("x-amzn-RateLimit-Limit %q, want 5", rl)
			}
			if tc.status != 200 {
				return
			}
			var a searchAnswer
			if err := json.Unmarshal([]byte(body), &a); err != nil {
				t.Fatal(err)
			}
			if got := a.skus(); got != tc.want || a.NumberOfResults != tc.total || (a.Pagination.NextToken != "") != tc.next {
				t.Fatalf("got %q of %d, next %q; want %q of %d, next %v", got, a.NumberOfResults, a.Pagination.NextToken, tc.want, tc.total, tc.next)
			}
		})
	}
	if n := s.Calls("searchListingsItems"); n != 17 {
		t.Errorf("%d searchListingsItems calls counted, want 17", n)
	}
}

// TestSearchListingsPages: nextToken leads through the rest of the result,
// once.
func TestSearchListingsPages(t *testing.T) {
	s := New(Options{SearchPageSize: 3, Bursts: map[string]int{"searchListingsItems": 100}})
	defer s.Close()
	for _, sku := range []string{"D", "A", "C", "B"} {
		s.SetListing(sku, 2)
	}
	_, tok := token(t, s, goodForm())
	base := "/listings/2021-08-01/items/" + DefaultSellerID + "?marketplaceIds=" + DefaultMarketplace + "&pageSize=20"
	for _, tc := range []struct {
		name, query string
		pages       []string
	}{
		{"by identifiers, in their order", "&identifiersType=SKU&identifiers=D,NOPE,C,B,A", []string{"D C B", "A"}},
		{"every listing, by SKU", "", []string{"A B C", "D"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := base + tc.query
			var pages []string
			var used []string
			for range 5 {
				resp, body := get(t, s, path, tok)
				if resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				var a searchAnswer
				if err := json.Unmarshal([]byte(body), &a); err != nil {
					t.Fatal(err)
				}
				if a.NumberOfResults != 4 {
					t.Errorf("numberOfResults %d, want 4", a.NumberOfResults)
				}
				page := strings.Fields(a.skus())
				for i := range page {
					page[i], _, _ = strings.Cut(page[i], "=")
				}
				pages = append(pages, strings.Join(page, " "))
				if a.Pagination.NextToken == "" {
					break
				}
				used = append(used, a.Pagination.NextToken)
				path = base + tc.query + "&pageToken=" + url.QueryEscape(a.Pagination.NextToken)
			}
			if strings.Join(pages, "|") != strings.Join(tc.pages, "|") {
				t.Fatalf("pages %q, want %q", pages, tc.pages)
			}
			for _, u := range used {
				if resp, _ := get(t, s, base+tc.query+"&pageToken="+url.QueryEscape(u), tok); resp.StatusCode != 400 {
					t.Errorf("a used pageToken answered %d, want 400", resp.StatusCode)
				}
			}
		})
	}
}
