package shopifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+path, bytes.NewBufferString(body))
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

const levelsQuery = `{"operationName":"ShelfsyncLevels","query":"query ShelfsyncLevels($ids: [ID!]!, $location: ID!) { nodes(ids: $ids) { id } }","variables":{"ids":[],"location":"gid://shopify/Location/1"}}`

func TestAuthAndRouting(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := s.Options().AccessToken
	tests := []struct {
		name, path, token, body string
		status                  int
	}{
		{"ok", "/admin/api/2026-04/graphql.json", tok, levelsQuery, 200},
		{"no token", "/admin/api/2026-04/graphql.json", "", levelsQuery, 401},
		{"wrong token", "/admin/api/2026-04/graphql.json", "shpat_other", levelsQuery, 401},
		{"other version", "/admin/api/2023-01/graphql.json", tok, levelsQuery, 404},
		{"not json", "/admin/api/2026-04/graphql.json", tok, "{", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, s, tt.path, tt.token, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d (%v)", code, tt.status, body)
			}
			if code == 200 {
				cost, _ := body["extensions"].(map[string]any)["cost"].(map[string]any)
				if cost["throttleStatus"] == nil {
					t.Errorf("no throttleStatus in %v", body)
				}
			}
		})
	}
}

func setQuantities(key string, item string, qty, from int) string {
	return fmt.Sprintf(`{"operationName":"ShelfsyncSetQuantities","query":"mutation ShelfsyncSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) { inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } } }",
	"variables":{"key":%q,"input":{"name":"available","reason":"correction","quantities":[{"inventoryItemId":%q,"locationId":"gid://shopify/Location/1","quantity":%d,"changeFromQuantity":%d}]}}}`, key, item, qty, from)
}

func userErrors(body map[string]any) []any {
	p := body["data"].(map[string]any)["inventorySetQuantities"].(map[string]any)
	return p["userErrors"].([]any)
}

func TestIdempotencyKeys(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := s.Options().AccessToken
	s.SetLevel("A", 1)
	item := s.ItemID("A")
	if _, b := post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k1", item, 5, 1)); len(userErrors(b)) != 0 {
		t.Fatalf("first set: %v", b)
	}
	// The same key and input: replayed, not applied again (else stale).
	if _, b := post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k1", item, 5, 1)); len(userErrors(b)) != 0 {
		t.Fatalf("replay: %v", b)
	}
	_, b := post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k1", item, 6, 5))
	if errs := userErrors(b); len(errs) != 1 || errs[0].(map[string]any)["code"] != "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" {
		t.Fatalf("same key, other input: %v", b)
	}
	_, b = post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k2", item, 6, 1))
	if errs := userErrors(b); len(errs) != 1 || errs[0].(map[string]any)["code"] != "CHANGE_FROM_QUANTITY_STALE" {
		t.Fatalf("stale compare: %v", b)
	}
	if s.Level("A") != 5 {
		t.Errorf("level = %d, want 5", s.Level("A"))
	}
}

// TestConcurrentUse: the fake is safe for concurrent use (run with -race).
func TestConcurrentUse(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := s.Options().AccessToken
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sku := fmt.Sprintf("S%d", i)
			s.SetLevel(sku, int64(i))
			s.Sell(sku, 1)
			_ = s.Level(sku)
			_ = s.Calls()
			code, _ := post(t, s, "/admin/api/2026-04/graphql.json", tok, levelsQuery)
			if code != 200 {
				t.Errorf("status %d", code)
			}
		}()
	}
	wg.Wait()
	if s.Calls()["ShelfsyncLevels"] != 8 {
		t.Errorf("calls = %v", s.Calls())
	}
}

func TestDeliverSigned(t *testing.T) {
	s := New(Options{WebhookSecret: "k"})
	defer s.Close()
	body := []byte(`{"id":1}`)
	var got http.Header
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer rcv.Close()
	code, err := s.Deliver(context.Background(), rcv.Client(), rcv.URL+"/webhooks/x", "orders/create", body, "ev1")
	if err != nil || code != 200 {
		t.Fatalf("Deliver = %d, %v", code, err)
	}
	// Known answer, from `openssl dgst -sha256 -hmac k -binary | base64`.
	if want := Sign("k", body); got.Get("X-Shopify-Hmac-Sha256") != want || want != "1VB1oHttB+ixAW/9te/WkDGW99qVMMxQXJuniMBwypY=" {
		t.Errorf("signature %q (Sign %q)", got.Get("X-Shopify-Hmac-Sha256"), want)
	}
	if got.Get("X-Shopify-Topic") != "orders/create" || got.Get("X-Shopify-Event-Id") != "ev1" || got.Get("X-Shopify-Webhook-Id") == "" {
		t.Errorf("headers %v", got)
	}
}

// TestIdempotentReplay: a key already used is answered with its first
// request's result, the same adjustment group, and nothing is applied,
// even when the same values are wanted again after the level moved (A,
// B, A): the third request reads as a success and the level stays at B.
func TestIdempotentReplay(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := s.Options().AccessToken
	s.SetLevel("A", 7)
	item := s.ItemID("A")
	group := func(b map[string]any) any {
		return b["data"].(map[string]any)["inventorySetQuantities"].(map[string]any)["inventoryAdjustmentGroup"]
	}
	_, first := post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k-A", item, 5, 7))
	post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k-B", item, 7, 5))
	_, again := post(t, s, "/admin/api/2026-04/graphql.json", tok, setQuantities("k-A", item, 5, 7))
	if len(userErrors(again)) != 0 || group(again) == nil || fmt.Sprint(group(again)) != fmt.Sprint(group(first)) {
		t.Fatalf("replay = %v, want the first answer %v", again, first)
	}
	if s.Level("A") != 7 || s.Replays() != 1 {
		t.Errorf("level %d, replays %d; want 7 (nothing applied) and 1", s.Level("A"), s.Replays())
	}
	// The same parameters in another key order are the same parameters.
	reordered := `{"operationName":"ShelfsyncSetQuantities","query":"mutation ShelfsyncSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) { inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code } } }",
	"variables":{"key":"k-B","input":{"reason":"correction","name":"available","quantities":[{"changeFromQuantity":5,"quantity":7,"locationId":"gid://shopify/Location/1","inventoryItemId":` + fmt.Sprintf("%q", item) + `}]}}}`
	if _, b := post(t, s, "/admin/api/2026-04/graphql.json", tok, reordered); len(userErrors(b)) != 0 {
		t.Errorf("same parameters, other key order: %v", b)
	}
}

func ordersQuery(first int, query string) string {
	return fmt.Sprintf(`{"operationName":"ShelfsyncOrders","query":"query ShelfsyncOrders($first: Int!, $after: String, $query: String!) { orders(first: $first, after: $after, query: $query) { nodes { id updatedAt } } }","variables":{"first":%d,"query":%q}}`, first, query)
}

// TestCostLimits: by default the fake is a standard plan (a bucket of
// 2000 points restoring 100 a second); a call the bucket can not cover is
// answered HTTP 200 with THROTTLED and runs nothing; a query over 1000
// points is refused whatever the bucket; Options raise the plan.
func TestCostLimits(t *testing.T) {
	const path = "/admin/api/2026-04/graphql.json"
	cost := func(b map[string]any) map[string]any {
		return b["extensions"].(map[string]any)["cost"].(map[string]any)
	}
	code := func(b map[string]any) any {
		errs, _ := b["errors"].([]any)
		if len(errs) == 0 {
			return nil
		}
		return errs[0].(map[string]any)["extensions"].(map[string]any)["code"]
	}

	s := New(Options{})
	defer s.Close()
	tok := s.Options().AccessToken
	var last map[string]any
	var status int
	for i := 0; i < 3; i++ { // 902 points each: the third finds ~196 left
		status, last = post(t, s, path, tok, ordersQuery(30, ""))
	}
	ts := cost(last)["throttleStatus"].(map[string]any)
	if status != 200 || code(last) != "THROTTLED" || last["data"] != nil || cost(last)["actualQueryCost"] != nil {
		t.Errorf("third call: %d %v; want 200, THROTTLED, no data, actualQueryCost null", status, last)
	}
	if ts["maximumAvailable"] != float64(StandardBucketSize) || ts["restoreRate"] != float64(StandardRestoreRate) || ts["currentlyAvailable"].(float64) >= 902 {
		t.Errorf("throttleStatus = %v", ts)
	}
	if _, b := post(t, s, path, tok, ordersQuery(34, "")); code(b) != "MAX_COST_EXCEEDED" { // 1022 points
		t.Errorf("a query over 1000 points: %v", b)
	}

	plus := New(Options{BucketSize: 20000, RestoreRate: 1000})
	defer plus.Close()
	for i := 0; i < 3; i++ {
		if _, b := post(t, plus, path, tok, ordersQuery(30, "")); code(b) != nil {
			t.Fatalf("call %d on a raised plan: %v", i, b)
		}
	}
	if _, b := post(t, plus, path, tok, ordersQuery(34, "")); code(b) != "MAX_COST_EXCEEDED" {
		t.Errorf("a query over 1000 points on a raised plan: %v", b)
	}
}

// TestWholeSeconds: the fake keeps and serves times as Shopify does, in
// whole seconds: an order and its change within one second share their
// updated_at, in GraphQL answers and webhook bodies alike.
func TestWholeSeconds(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	at := time.Date(2026, 4, 1, 12, 0, 5, 0, time.UTC)
	cancelled := at.Add(999 * time.Millisecond)
	id := s.AddOrder(Order{UpdatedAt: at.Add(300 * time.Millisecond), Lines: []OrderLine{{SKU: "A", Quantity: 1}}})
	first, _ := s.Order(id)
	o := first
	o.UpdatedAt, o.CancelledAt = at.Add(800*time.Millisecond), &cancelled
	s.AddOrder(o)
	second, _ := s.Order(id)
	if !first.UpdatedAt.Equal(at) || !second.UpdatedAt.Equal(at) || !second.CancelledAt.Equal(at) {
		t.Errorf("updated_at %v, then %v (cancelled %v); want both %v", first.UpdatedAt, second.UpdatedAt, second.CancelledAt, at)
	}
	body, err := s.WebhookBody(id)
	if err != nil {
		t.Fatal(err)
	}
	var hook struct {
		UpdatedAt   string `json:"updated_at"`
		CancelledAt string `json:"cancelled_at"`
	}
	if err := json.Unmarshal(body, &hook); err != nil || hook.UpdatedAt != "2026-04-01T12:00:05Z" || hook.CancelledAt != "2026-04-01T12:00:05Z" {
		t.Errorf("webhook body times %+v (%v)", hook, err)
	}
	// The poll's updated_at:>= filter at that second finds it.
	_, b := post(t, s, "/admin/api/2026-04/graphql.json", s.Options().AccessToken, ordersQuery(5, "updated_at:>='2026-04-01T12:00:05Z'"))
	nodes := b["data"].(map[string]any)["orders"].(map[string]any)["nodes"].([]any)
	if len(nodes) != 1 || nodes[0].(map[string]any)["updatedAt"] != "2026-04-01T12:00:05Z" {
		t.Errorf("orders = %v", nodes)
	}
}
