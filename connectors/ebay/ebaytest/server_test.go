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

func userToken(t *testing.T, s *Server) string {
	t.Helper()
	_, body := token(t, s, "test-client-id", "test-client-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"test-refresh-token"}})
	tok, _ := body["access_token"].(string)
	if tok == "" {
		t.Fatalf("no user token: %v", body)
	}
	return tok
}

func bulkGetBody(skus ...string) string {
	reqs := make([]map[string]string, len(skus))
	for i, s := range skus {
		reqs[i] = map[string]string{"sku": s}
	}
	b, _ := json.Marshal(map[string]any{"requests": reqs})
	return string(b)
}

type bulkGetAnswer struct {
	Responses []struct {
		StatusCode    int    `json:"statusCode"`
		SKU           string `json:"sku"`
		InventoryItem *struct {
			SKU          string `json:"sku"`
			Availability struct {
				ShipToLocationAvailability struct {
					Quantity int64 `json:"quantity"`
				} `json:"shipToLocationAvailability"`
			} `json:"availability"`
		} `json:"inventoryItem"`
		Errors []Error `json:"errors"`
	} `json:"responses"`
	Errors []Error `json:"errors"`
}

// TestBulkGetInventoryItem: the fake's bulk_get_inventory_item checks the
// token and the body like eBay and answers one entry per SKU.
func TestBulkGetInventoryItem(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddListing("A", 7, 1)
	s.AddListing("B", 0, 2)
	s.FailRead("C", ItemFailure{Status: 500, ErrorID: 25001, Message: "A system error has occurred."}, 1)
	s.AddListing("C", 3, 1)
	user := userToken(t, s)
	_, body := token(t, s, "test-client-id", "test-client-secret", url.Values{"grant_type": {"client_credentials"}, "scope": {ScopeApp}})
	appTok := body["access_token"].(string)
	many := make([]string, 26)
	for i := range many {
		many[i] = "A"
	}

	type entry struct {
		sku    string
		status int
		qty    int64 // when 200
		errID  int   // otherwise
	}
	tests := []struct {
		name, tok, contentType, body string
		wantStatus                   int
		wantErrID                    int // a request-level error
		want                         []entry
	}{
		{name: "no token", body: bulkGetBody("A"), wantStatus: 401, wantErrID: 1001},
		{name: "unknown token", tok: "made-up", body: bulkGetBody("A"), wantStatus: 401, wantErrID: 1001},
		{name: "app token", tok: appTok, body: bulkGetBody("A"), wantStatus: 403, wantErrID: 1100},
		{name: "not JSON content type", tok: user, contentType: "text/plain", body: bulkGetBody("A"), wantStatus: 415, wantErrID: 25001},
		{name: "26 SKUs", tok: user, body: bulkGetBody(many...), wantStatus: 400, wantErrID: 25709},
		{name: "no SKU", tok: user, body: `{"requests":[]}`, wantStatus: 400, wantErrID: 25709},
		{name: "unknown field", tok: user, body: `{"requests":[{"sku":"A","offerId":"1"}]}`, wantStatus: 400, wantErrID: 25709},
		{name: "all known", tok: user, body: bulkGetBody("A", "B"), wantStatus: 200,
			want: []entry{{sku: "A", status: 200, qty: 7}, {sku: "B", status: 200, qty: 0}}},
		{name: "mixed", tok: user, body: bulkGetBody("NOPE", "A"), wantStatus: 207,
			want: []entry{{sku: "NOPE", status: 404, errID: 25710}, {sku: "A", status: 200, qty: 7}}},
		{name: "none known", tok: user, body: bulkGetBody("NOPE"), wantStatus: 400,
			want: []entry{{sku: "NOPE", status: 404, errID: 25710}}},
		{name: "injected failure", tok: user, body: bulkGetBody("C"), wantStatus: 400,
			want: []entry{{sku: "C", status: 500, errID: 25001}}},
		{name: "injected failure spent", tok: user, body: bulkGetBody("C"), wantStatus: 200,
			want: []entry{{sku: "C", status: 200, qty: 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/sell/inventory/v1/bulk_get_inventory_item", strings.NewReader(tc.body))
			if tc.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tc.tok)
			}
			ct := tc.contentType
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got bulkGetAnswer
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d %+v; want %d", resp.StatusCode, got, tc.wantStatus)
			}
			if tc.wantErrID != 0 {
				if len(got.Errors) != 1 || got.Errors[0].ErrorID != tc.wantErrID || len(got.Responses) != 0 {
					t.Fatalf("answer %+v; want only error %d", got, tc.wantErrID)
				}
				return
			}
			if len(got.Responses) != len(tc.want) {
				t.Fatalf("%d entries %+v; want %d", len(got.Responses), got.Responses, len(tc.want))
			}
			for i, w := range tc.want {
				e := got.Responses[i]
				if e.SKU != w.sku || e.StatusCode != w.status {
					t.Fatalf("entry %d: %s %d; want %s %d", i, e.SKU, e.StatusCode, w.sku, w.status)
				}
				if w.status == 200 {
					if e.InventoryItem == nil || e.InventoryItem.SKU != w.sku || e.InventoryItem.Availability.ShipToLocationAvailability.Quantity != w.qty {
						t.Fatalf("entry %d: item %+v; want %s with quantity %d", i, e.InventoryItem, w.sku, w.qty)
					}
					continue
				}
				if e.InventoryItem != nil || len(e.Errors) != 1 || e.Errors[0].ErrorID != w.errID {
					t.Fatalf("entry %d: %+v; want no item and error %d", i, e, w.errID)
				}
			}
		})
	}
	if n := s.Calls("bulk_get_inventory_item"); n != len(tests) {
		t.Fatalf("counted %d calls; want %d", n, len(tests))
	}
}
