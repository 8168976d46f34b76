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
