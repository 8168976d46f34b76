package amazontest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func patch(t *testing.T, s *Server, sku, tok string) (*http.Response, string) {
	t.Helper()
	body := `{"productType":"PRODUCT","patches":[{"op":"merge","path":"/attributes/fulfillment_availability","value":[{"fulfillment_channel_code":"DEFAULT","quantity":1}]}]}`
	req, _ := http.NewRequest(http.MethodPatch, s.URL+"/listings/2021-08-01/items/"+DefaultSellerID+"/"+sku+"?marketplaceIds="+DefaultMarketplace, strings.NewReader(body))
	req.Header.Set("x-amz-access-token", tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPublishedLimitsEnforced: by default the fake holds Amazon's
// published usage plans: getOrders takes its burst of 20, the 21st call is
// refused with 429 QuotaExceeded (SP-API's error list) and the rate in
// x-amzn-RateLimit-Limit; patchListingsItem's bucket of 5 refills at 5 a
// second.
func TestPublishedLimitsEnforced(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	s.SetListing("A", 1)
	_, tok := token(t, s, goodForm())
	orders := "/orders/v0/orders?MarketplaceIds=" + DefaultMarketplace + "&LastUpdatedAfter=2026-01-01T10:00:00Z"
	for i := range 20 {
		if resp, body := get(t, s, orders, tok); resp.StatusCode != 200 {
			t.Fatalf("call %d of the burst: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := get(t, s, orders, tok)
	var eb struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	_ = json.Unmarshal([]byte(body), &eb)
	if resp.StatusCode != 429 || len(eb.Errors) != 1 || eb.Errors[0].Code != "QuotaExceeded" || resp.Header.Get("x-amzn-RateLimit-Limit") != "0.0167" {
		t.Fatalf("past the burst: %d %q %s, want 429 QuotaExceeded at 0.0167", resp.StatusCode, resp.Header.Get("x-amzn-RateLimit-Limit"), body)
	}
	if resp.Header.Get("Retry-After") != "" {
		t.Error("SP-API documents no Retry-After")
	}
	if s.Throttled("getOrders") != 1 || s.Calls("getOrders") != 21 {
		t.Errorf("throttled %d of %d calls", s.Throttled("getOrders"), s.Calls("getOrders"))
	}

	// patchListingsItem: 5 at once (6 if a token came back meanwhile), then 429.
	ok := 0
	for {
		resp, body := patch(t, s, "A", tok)
		if resp.StatusCode == 429 {
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if ok++; ok > 6 {
			t.Fatal("patchListingsItem was never throttled")
		}
	}
	if ok < 5 {
		t.Fatalf("throttled after %d calls, want the burst of 5", ok)
	}
	time.Sleep(250 * time.Millisecond) // one token at 5 a second
	if resp, body := patch(t, s, "A", tok); resp.StatusCode != 200 {
		t.Fatalf("after a refill: %d %s", resp.StatusCode, body)
	}
	// Every operation has its published plan.
	want := map[string]Limit{
		"getOrders": {0.0167, 20}, "getOrder": {0.5, 30}, "getOrderItems": {0.5, 30},
		"searchOrders": {0.0056, 20}, "getOrder_2026-01-01": {0.5, 30},
		"patchListingsItem": {5, 5}, "getListingsItem": {5, 10}, "searchListingsItems": {5, 5},
		"createFeedDocument": {0.5, 15}, "createFeed": {0.0083, 15}, "getFeed": {2, 15}, "getFeedDocument": {0.0222, 10},
		FeedTypeListings:  {5.0 / 300, 5},
		"confirmShipment": {2, 10}, "createReport": {0.0167, 15}, "getReport": {2, 15}, "getReportDocument": {0.0167, 15},
	}
	got := PublishedLimits()
	for op, l := range want {
		if got[op] != l {
			t.Errorf("%s: %+v, want %+v", op, got[op], l)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d plans, want %d", len(got), len(want))
	}
}

// TestRaisedPlan: Options.RateLimits raises a plan, enforced and announced;
// its burst is at least a second of the rate unless Bursts says otherwise.
func TestRaisedPlan(t *testing.T) {
	big := New(Options{RateLimits: map[string]float64{"patchListingsItem": 50, "searchOrders": 0.5}})
	defer big.Close()
	for op, want := range map[string]Limit{"patchListingsItem": {50, 50}, "searchOrders": {0.5, 20}, "getOrder": {0.5, 30}} {
		if got := big.Plan(op); got != want {
			t.Errorf("%s: plan %+v, want %+v", op, got, want)
		}
	}

	s := New(Options{RateLimits: map[string]float64{"patchListingsItem": 6}, Bursts: map[string]int{"patchListingsItem": 8}})
	defer s.Close()
	s.SetListing("A", 1)
	_, tok := token(t, s, goodForm())
	for i := range 8 {
		resp, body := patch(t, s, "A", tok)
		if resp.StatusCode != 200 || resp.Header.Get("x-amzn-RateLimit-Limit") != "6" {
			t.Fatalf("call %d: %d %q %s", i+1, resp.StatusCode, resp.Header.Get("x-amzn-RateLimit-Limit"), body)
		}
	}
	if resp, _ := patch(t, s, "A", tok); resp.StatusCode != 429 {
		t.Fatalf("past the raised burst: %d, want 429", resp.StatusCode)
	}
}

// TestListingsFeedLimit: createFeed of JSON_LISTINGS_FEED is also held to
// five feeds per five minutes, whatever createFeed's own bucket holds.
func TestListingsFeedLimit(t *testing.T) {
	s := New(Options{RateLimits: map[string]float64{"createFeedDocument": 100}})
	defer s.Close()
	_, tok := token(t, s, goodForm())
	do := func(method, path, body string, out any) int {
		req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader([]byte(body)))
		req.Header.Set("x-amz-access-token", tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	for i := range 6 {
		var d struct {
			ID  string `json:"feedDocumentId"`
			URL string `json:"url"`
		}
		if code := do(http.MethodPost, "/feeds/2021-06-30/documents", `{"contentType":"application/json"}`, &d); code != 201 {
			t.Fatalf("createFeedDocument: %d", code)
		}
		req, _ := http.NewRequest(http.MethodPut, d.URL, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("upload: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		code := do(http.MethodPost, "/feeds/2021-06-30/feeds", `{"feedType":"JSON_LISTINGS_FEED","marketplaceIds":["`+DefaultMarketplace+`"],"inputFeedDocumentId":"`+d.ID+`"}`, nil)
		want := 202
		if i == 5 {
			want = 429
		}
		if code != want {
			t.Fatalf("feed %d: %d, want %d", i+1, code, want)
		}
	}
	if s.Feeds() != 5 || s.Throttled(FeedTypeListings) != 1 {
		t.Errorf("%d feeds, %d throttled", s.Feeds(), s.Throttled(FeedTypeListings))
	}
}
