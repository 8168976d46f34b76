package ebaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

// manualClock is a settable clock for the fake.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func post(t *testing.T, s *Server, path, tok, contentType, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type bulkUpdateAnswer struct {
	Responses []struct {
		StatusCode int     `json:"statusCode"`
		SKU        string  `json:"sku"`
		OfferID    string  `json:"offerId"`
		Errors     []Error `json:"errors"`
	} `json:"responses"`
	Errors []Error `json:"errors"`
}

const bulkUpdatePath = "/sell/inventory/v1/bulk_update_price_quantity"

// TestBulkUpdateLikeEBay: bulk_update_price_quantity refuses what eBay
// documents it refuses, and answers each offer (or item) on its own with
// 200 for the call when all succeed, 207 when some do, 400 when none do.
func TestBulkUpdateLikeEBay(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	a := s.AddListing("A", 5, 2)
	b := s.AddListing("B", 5, 1)
	user := userToken(t, s)
	item := func(sku string, qty int64, offers ...string) map[string]any {
		m := map[string]any{"sku": sku, "shipToLocationAvailability": map[string]any{"quantity": qty}}
		var os []map[string]any
		for _, id := range offers {
			os = append(os, map[string]any{"offerId": id, "availableQuantity": qty})
		}
		if os != nil {
			m["offers"] = os
		}
		return m
	}
	body := func(items ...map[string]any) string {
		out, _ := json.Marshal(map[string]any{"requests": items})
		return string(out)
	}
	many := make([]map[string]any, 26)
	for i := range many {
		many[i] = item("A", 1)
	}
	manyOffers := make([]string, 26)
	for i := range manyOffers {
		manyOffers[i] = a[0]
	}

	type entry struct {
		status, errID int
	}
	tests := []struct {
		name, contentType, body string
		wantStatus, wantErrID   int // wantErrID: a request-level error
		want                    []entry
		wantA                   int64 // A's item quantity after the call
	}{
		{name: "no content type", body: body(item("A", 1, a...)), wantStatus: 415, wantErrID: 25001, wantA: 5},
		{name: "26 SKUs", contentType: "application/json", body: body(many...), wantStatus: 400, wantErrID: 25709, wantA: 5},
		{name: "26 offers of one SKU", contentType: "application/json", body: body(item("A", 1, manyOffers...)), wantStatus: 400, wantErrID: 25709, wantA: 5},
		{name: "no request", contentType: "application/json", body: `{"requests":[]}`, wantStatus: 400, wantErrID: 25709, wantA: 5},
		{name: "all succeed", contentType: "application/json", body: body(item("A", 7, a...), item("B", 2, b...)), wantStatus: 200,
			want: []entry{{200, 0}, {200, 0}, {200, 0}}, wantA: 7},
		{name: "item only", contentType: "application/json", body: body(item("A", 6)), wantStatus: 200, want: []entry{{200, 0}}, wantA: 6},
		{name: "some succeed", contentType: "application/json", body: body(item("NOPE", 1, "1"), item("A", 4, a...)), wantStatus: 207,
			want: []entry{{404, 25710}, {200, 0}, {200, 0}}, wantA: 4},
		{name: "none succeeds", contentType: "application/json", body: body(item("NOPE", 1)), wantStatus: 400,
			want: []entry{{404, 25710}}, wantA: 4},
		{name: "offer of another SKU", contentType: "application/json", body: body(item("A", 3, b...)), wantStatus: 400,
			want: []entry{{404, 25713}}, wantA: 4},
		{name: "offer named twice", contentType: "application/json", body: body(item("A", 3, a[0], a[0])), wantStatus: 400,
			want: []entry{{400, 25709}, {400, 25709}}, wantA: 4},
		{name: "negative quantity", contentType: "application/json", body: body(item("A", -1, a...)), wantStatus: 400,
			want: []entry{{400, 25709}, {400, 25709}}, wantA: 4},
		{name: "offer with neither quantity nor price", contentType: "application/json",
			body: `{"requests":[{"sku":"A","offers":[{"offerId":"` + a[0] + `"}]}]}`, wantStatus: 400, want: []entry{{400, 25709}}, wantA: 4},
		{name: "nothing to update", contentType: "application/json", body: `{"requests":[{"sku":"A"}]}`, wantStatus: 400,
			want: []entry{{400, 25709}}, wantA: 4},
		{name: "price only", contentType: "application/json",
			body: `{"requests":[{"sku":"A","offers":[{"offerId":"` + a[0] + `","price":{"value":"9.99","currency":"USD"}}]}]}`, wantStatus: 200,
			want: []entry{{200, 0}}, wantA: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw := post(t, s, bulkUpdatePath, user, tc.contentType, tc.body)
			var got bulkUpdateAnswer
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%d %s: %v", code, raw, err)
			}
			if code != tc.wantStatus {
				t.Fatalf("status %d %s; want %d", code, raw, tc.wantStatus)
			}
			if tc.wantErrID != 0 {
				if len(got.Errors) != 1 || got.Errors[0].ErrorID != tc.wantErrID || len(got.Responses) != 0 {
					t.Fatalf("answer %s; want only error %d", raw, tc.wantErrID)
				}
			} else {
				if len(got.Responses) != len(tc.want) {
					t.Fatalf("entries %s; want %d", raw, len(tc.want))
				}
				for i, w := range tc.want {
					e := got.Responses[i]
					if e.StatusCode != w.status || (w.errID != 0 && (len(e.Errors) != 1 || e.Errors[0].ErrorID != w.errID)) {
						t.Fatalf("entry %d = %+v; want %d with error %d", i, e, w.status, w.errID)
					}
				}
			}
			if q, _ := s.Quantity("A"); q != tc.wantA {
				t.Fatalf("A's quantity = %d; want %d", q, tc.wantA)
			}
		})
	}
}

// TestBulkUpdateRevisionLimit: a listing takes a limited number of
// revisions a calendar day (eBay: 250); the next day it takes them again.
func TestBulkUpdateRevisionLimit(t *testing.T) {
	clk := &manualClock{now: time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)}
	tests := []struct {
		name  string
		opts  Options
		limit int // 0: none
	}{
		{name: "eBay's 250 by default", opts: Options{Now: clk.Now}, limit: 250},
		{name: "a lower one", opts: Options{Now: clk.Now, RevisionsPerDay: 3}, limit: 3},
		{name: "none", opts: Options{Now: clk.Now, RevisionsPerDay: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.opts)
			defer s.Close()
			ids := s.AddListing("HOT", 0, 1)
			user := userToken(t, s)
			push := func(q int) (int, bulkUpdateAnswer) {
				t.Helper()
				code, raw := post(t, s, bulkUpdatePath, user, "application/json",
					fmt.Sprintf(`{"requests":[{"sku":"HOT","shipToLocationAvailability":{"quantity":%d},"offers":[{"offerId":"%s","availableQuantity":%d}]}]}`, q, ids[0], q))
				var got bulkUpdateAnswer
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				return code, got
			}
			n := tc.limit
			if n == 0 {
				n = 300
			}
			for i := 1; i <= n; i++ {
				if code, got := push(i); code != 200 {
					t.Fatalf("revision %d: %d %+v", i, code, got)
				}
			}
			code, got := push(n + 1)
			if tc.limit == 0 {
				if code != 200 {
					t.Fatalf("revision %d without a limit: %d %+v", n+1, code, got)
				}
				return
			}
			if code != 400 || len(got.Responses) != 1 || got.Responses[0].StatusCode != 400 ||
				len(got.Responses[0].Errors) != 1 || got.Responses[0].Errors[0].ErrorID != 25002 {
				t.Fatalf("revision %d of the day: %d %+v; want the entry refused with 25002", n+1, code, got)
			}
			if q, _ := s.Quantity("HOT"); q != int64(n) || s.Revisions("HOT") != n {
				t.Fatalf("after a refused revision: quantity %d, %d revisions; want %d and %d", q, s.Revisions("HOT"), n, n)
			}
			clk.Advance(time.Hour) // past midnight UTC
			defer clk.Advance(-time.Hour)
			if code, got := push(1); code != 200 {
				t.Fatalf("first revision of the next day: %d %+v", code, got)
			}
		})
	}
}

// TestGetOrdersLikeEBay: getOrders reads its filter, limit and offset as
// eBay documents them, refuses what eBay refuses with eBay's error ids,
// pages with limit and offset, and leaves out orders awaiting payment.
func TestGetOrdersLikeEBay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &manualClock{now: now}
	s := New(Options{Now: clk.Now})
	defer s.Close()
	add := func(id string, created, modified time.Time, fulfillment, payment string) {
		s.AddOrder(Order{OrderID: id, CreationDate: created, LastModifiedDate: modified, OrderFulfillmentStatus: fulfillment,
			OrderPaymentStatus: payment, LineItems: []LineItem{{LineItemID: id + "-1", SKU: "S", Quantity: 1}}})
	}
	h := time.Hour
	add("new-open", now.Add(-2*h), now.Add(-1*h), "NOT_STARTED", "PAID")
	add("new-shipped", now.Add(-3*h), now.Add(-2*h), "FULFILLED", "PAID")
	add("old-created-new-modified", now.Add(-100*24*h), now.Add(-30*time.Minute), "IN_PROGRESS", "PAID")
	add("mid", now.Add(-48*h), now.Add(-47*h), "NOT_STARTED", "PAID")
	add("pending-payment", now.Add(-h), now.Add(-h), "NOT_STARTED", "PENDING")
	tok := userToken(t, s)
	ts := func(t time.Time) string { return t.UTC().Format(dateFormat) }
	enc := url.QueryEscape
	modifiedSince := func(from time.Time) string { return "filter=" + enc("lastmodifieddate:["+ts(from)+"..]") }

	type answer struct {
		Total  int    `json:"total"`
		Limit  int    `json:"limit"`
		Offset int    `json:"offset"`
		Next   string `json:"next"`
		Prev   string `json:"prev"`
		Orders []struct {
			OrderID string `json:"orderId"`
		} `json:"orders"`
		Errors []Error `json:"errors"`
	}
	tests := []struct {
		name, query string
		wantStatus  int
		wantErrID   int
		wantIDs     []string // in eBay's order: newest created first
	}{
		{name: "no filter: created in the last 90 days", query: "", wantStatus: 200,
			wantIDs: []string{"new-open", "new-shipped", "mid"}},
		{name: "modified since", query: modifiedSince(now.Add(-90 * time.Minute)), wantStatus: 200,
			wantIDs: []string{"new-open", "old-created-new-modified"}},
		{name: "modified in a range, inclusive", query: "filter=" + enc("lastmodifieddate:["+ts(now.Add(-47*h))+".."+ts(now.Add(-2*h))+"]"), wantStatus: 200,
			wantIDs: []string{"new-shipped", "mid"}},
		{name: "creationdate wins over lastmodifieddate", query: "filter=" + enc("creationdate:["+ts(now.Add(-49*h))+"..],lastmodifieddate:["+ts(now.Add(-90*time.Minute))+"..]"), wantStatus: 200,
			wantIDs: []string{"new-open", "new-shipped", "mid"}},
		{name: "with fulfillment status", query: "filter=" + enc("lastmodifieddate:["+ts(now.Add(-72*h))+"..],orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"), wantStatus: 200,
			wantIDs: []string{"new-open", "mid", "old-created-new-modified"}},
		{name: "brackets not encoded", query: "filter=lastmodifieddate:[" + ts(now.Add(-h)) + "..]", wantStatus: 400, wantErrID: 30800},
		{name: "unknown filter", query: "filter=" + enc("updated:["+ts(now.Add(-h))+"..]"), wantStatus: 400, wantErrID: 30700},
		{name: "no range", query: "filter=" + enc("lastmodifieddate:"+ts(now.Add(-h))), wantStatus: 400, wantErrID: 30800},
		{name: "no start date", query: "filter=" + enc("lastmodifieddate:[.."+ts(now.Add(-h))+"]"), wantStatus: 400, wantErrID: 30820},
		{name: "no milliseconds", query: "filter=" + enc("lastmodifieddate:["+now.Add(-h).Format(time.RFC3339)+"..]"), wantStatus: 400, wantErrID: 30810},
		{name: "beyond 90 days", query: modifiedSince(now.Add(-91 * 24 * h)), wantStatus: 400, wantErrID: 30830},
		{name: "start after end", query: "filter=" + enc("lastmodifieddate:["+ts(now.Add(-h))+".."+ts(now.Add(-2*h))+"]"), wantStatus: 400, wantErrID: 30840},
		{name: "start in the future", query: modifiedSince(now.Add(time.Minute)), wantStatus: 400, wantErrID: 30850},
		{name: "end in the future", query: "filter=" + enc("lastmodifieddate:["+ts(now.Add(-h))+".."+ts(now.Add(h))+"]"), wantStatus: 400, wantErrID: 30850},
		{name: "unsupported status combination", query: "filter=" + enc("orderfulfillmentstatus:{FULFILLED}"), wantStatus: 400, wantErrID: 30800},
		{name: "limit 200", query: modifiedSince(now.Add(-h)) + "&limit=200", wantStatus: 200, wantIDs: []string{"new-open", "old-created-new-modified"}},
		{name: "limit 201", query: modifiedSince(now.Add(-h)) + "&limit=201", wantStatus: 400, wantErrID: 31100},
		{name: "limit 0", query: modifiedSince(now.Add(-h)) + "&limit=0", wantStatus: 400, wantErrID: 31100},
		{name: "limit not a number", query: modifiedSince(now.Add(-h)) + "&limit=ten", wantStatus: 400, wantErrID: 31100},
		{name: "negative offset", query: modifiedSince(now.Add(-h)) + "&offset=-1", wantStatus: 400, wantErrID: 31000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw := get(t, s, "/sell/fulfillment/v1/order?"+tc.query, tok)
			var got answer
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("%d %s: %v", code, raw, err)
			}
			if code != tc.wantStatus {
				t.Fatalf("GET ?%s = %d %s; want %d", tc.query, code, raw, tc.wantStatus)
			}
			if tc.wantErrID != 0 {
				if len(got.Errors) != 1 || got.Errors[0].ErrorID != tc.wantErrID {
					t.Fatalf("errors %+v; want %d", got.Errors, tc.wantErrID)
				}
				return
			}
			var ids []string
			for _, o := range got.Orders {
				ids = append(ids, o.OrderID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") || got.Total != len(tc.wantIDs) {
				t.Fatalf("orders %v (total %d); want %v", ids, got.Total, tc.wantIDs)
			}
		})
	}

	// Paging: limit and offset walk the whole set; next and prev link the pages.
	q := modifiedSince(now.Add(-72*h)) + "&limit=2"
	var walked []string
	for offset := 0; ; offset += 2 {
		code, raw := get(t, s, fmt.Sprintf("/sell/fulfillment/v1/order?%s&offset=%d", q, offset), tok)
		var got answer
		if err := json.Unmarshal([]byte(raw), &got); err != nil || code != 200 {
			t.Fatalf("page at %d: %d %s", offset, code, raw)
		}
		if got.Limit != 2 || got.Offset != offset || got.Total != 4 || (offset > 0) != (got.Prev != "") {
			t.Fatalf("page at %d: limit %d offset %d total %d prev %q", offset, got.Limit, got.Offset, got.Total, got.Prev)
		}
		for _, o := range got.Orders {
			walked = append(walked, o.OrderID)
		}
		if got.Next == "" {
			break
		}
		if !strings.Contains(got.Next, fmt.Sprintf("offset=%d", offset+2)) {
			t.Fatalf("next %q; want offset %d", got.Next, offset+2)
		}
	}
	if want := "new-open,new-shipped,mid,old-created-new-modified"; strings.Join(walked, ",") != want {
		t.Fatalf("paged through %v; want %s", walked, want)
	}
	// getOrder returns an order awaiting payment that getOrders leaves out.
	if code, raw := get(t, s, "/sell/fulfillment/v1/order/pending-payment", tok); code != 200 || !strings.Contains(raw, `"orderPaymentStatus":"PENDING"`) {
		t.Fatalf("getOrder of a pending-payment order: %d %s", code, raw)
	}
}

// TestTokensLikeEBay: the token endpoint and the bearer checks refuse what
// eBay refuses; an access token stops working when it expires.
func TestTokensLikeEBay(t *testing.T) {
	clk := &manualClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := New(Options{Now: clk.Now})
	defer s.Close()
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name, id, secret string
		form             url.Values
		want             int
		wantErr          string
	}{
		{"no client auth", "", "", form("grant_type", "refresh_token", "refresh_token", DefaultRefreshToken), 401, "invalid_client"},
		{"unknown grant", DefaultClientID, DefaultClientSecret, form("grant_type", "password"), 400, "unsupported_grant_type"},
		{"refresh token of another client", DefaultClientID, DefaultClientSecret, form("grant_type", "refresh_token", "refresh_token", "other"), 400, "invalid_grant"},
		{"scope beyond the consent", DefaultClientID, DefaultClientSecret, form("grant_type", "refresh_token", "refresh_token", DefaultRefreshToken, "scope", ScopeFulfillment+" https://api.ebay.com/oauth/api_scope/sell.account"), 400, "invalid_scope"},
		{"app token with a sell scope", DefaultClientID, DefaultClientSecret, form("grant_type", "client_credentials", "scope", ScopeInventory), 400, "invalid_scope"},
		{"refresh", DefaultClientID, DefaultClientSecret, form("grant_type", "refresh_token", "refresh_token", DefaultRefreshToken, "scope", ScopeFulfillment+" "+ScopeInventory), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := token(t, s, tc.id, tc.secret, tc.form)
			if code != tc.want || (tc.wantErr != "" && body["error"] != tc.wantErr) {
				t.Fatalf("token = %d %v; want %d %s", code, body, tc.want, tc.wantErr)
			}
		})
	}
	// A form body is required.
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/identity/v1/oauth2/token", strings.NewReader(`{"grant_type":"refresh_token"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("JSON token request = %d; want 400", resp.StatusCode)
	}

	tok := userToken(t, s)
	path := "/sell/inventory/v1/inventory_item"
	if code, body := get(t, s, path, tok); code != 200 {
		t.Fatalf("fresh token: %d %s", code, body)
	}
	clk.Advance(2*time.Hour - time.Second)
	if code, body := get(t, s, path, tok); code != 200 {
		t.Fatalf("token a second before expiry: %d %s", code, body)
	}
	clk.Advance(time.Second)
	if code, body := get(t, s, path, tok); code != 401 || !strings.Contains(body, "1001") {
		t.Fatalf("expired token: %d %s; want 401 with error 1001", code, body)
	}
	fresh := userToken(t, s)
	req, _ = http.NewRequest(http.MethodGet, s.URL()+path, nil)
	req.Header.Set("Authorization", fresh) // no "Bearer "
	resp, err = s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("a valid token without the Bearer scheme: %d; want 401", resp.StatusCode)
	}
}
