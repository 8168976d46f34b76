package shopifytest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const createDoc = "mutation ShelfsyncFulfillmentCreate($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id } userErrors { field message } } }"

func createBody(t *testing.T, fulfillment any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"operationName": "ShelfsyncFulfillmentCreate", "query": createDoc, "variables": map[string]any{"fulfillment": fulfillment}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func byFO(fo int64, items ...map[string]any) map[string]any {
	return map[string]any{"fulfillmentOrderId": foGID(fo), "fulfillmentOrderLineItems": items}
}

func foli(id, qty int64) map[string]any { return map[string]any{"id": foliGID(id), "quantity": qty} }

// TestFulfillmentCreateChecks: the fake's fulfillmentCreate refuses what
// Shopify documents as refused, with a user error and nothing applied.
func TestFulfillmentCreateChecks(t *testing.T) {
	s := New(Options{RestoreRate: 100000})
	defer s.Close()
	a := s.AddOrder(Order{Lines: []OrderLine{{SKU: "A", Quantity: 2}}})
	b := s.AddOrder(Order{Lines: []OrderLine{{SKU: "B", Quantity: 1}}})
	oa, _ := s.Order(a)
	ob, _ := s.Order(b)
	foA, liA := oa.FulfillmentOrders[0].ID, oa.FulfillmentOrders[0].Lines[0].ID
	foB, liB := ob.FulfillmentOrders[0].ID, ob.FulfillmentOrders[0].Lines[0].ID
	tracking := map[string]any{"company": "UPS", "number": "1Z"}
	tests := []struct {
		name  string
		input any
		want  string // user error; "" accepted; "graphql:" a GraphQL error
	}{
		{"no fulfillment orders", map[string]any{"trackingInfo": tracking}, "graphql:"},
		{"unknown fulfillment order", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(999, foli(liA, 1))}}, "does not exist"},
		{"two orders", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 1)), byFO(foB, foli(liB, 1))}}, "same order"},
		{"another order's line item", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liB, 1))}}, "does not exist on the fulfillment order"},
		{"more than remains", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 3))}}, "Invalid fulfillment order line item quantity"},
		{"twice the same item past what remains", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 2), foli(liA, 1))}}, "Invalid fulfillment order line item quantity"},
		{"zero", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 0))}}, "Invalid fulfillment order line item quantity"},
		{"bad tracking url", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 1))}, "trackingInfo": map[string]any{"number": "1Z", "url": "javascript:x"}}, "Tracking url is invalid"},
		{"one of two", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 1))}, "trackingInfo": tracking, "notifyCustomer": true}, ""},
		{"the rest, items left out", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA)}, "trackingInfo": tracking}, ""},
		{"closed now", map[string]any{"lineItemsByFulfillmentOrder": []any{byFO(foA, foli(liA, 1))}}, "unfulfillable status= closed"},
	}
	tok := s.Options().AccessToken
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.CreatedFulfillments())
			code, body := post(t, s, "/admin/api/2026-04/graphql.json", tok, createBody(t, tt.input))
			if code != 200 {
				t.Fatalf("HTTP %d", code)
			}
			raw, _ := json.Marshal(body)
			switch {
			case tt.want == "graphql:":
				if body["errors"] == nil || body["data"] != nil {
					t.Fatalf("answer %s: want a GraphQL error and no data", raw)
				}
			case tt.want != "":
				if !strings.Contains(string(raw), tt.want) {
					t.Fatalf("answer %s: want a user error %q", raw, tt.want)
				}
			default:
				if !strings.Contains(string(raw), `"userErrors":[]`) || !strings.Contains(string(raw), "gid://shopify/Fulfillment/") {
					t.Fatalf("answer %s: want a fulfillment", raw)
				}
			}
			if grew := len(s.CreatedFulfillments()) - before; (tt.want == "") != (grew == 1) {
				t.Fatalf("%d fulfillments created", grew)
			}
		})
	}
	created := s.CreatedFulfillments()
	if len(created) != 2 || created[0].Fulfillment.Lines[oa.Lines[0].ID] != 1 || created[1].Fulfillment.Lines[oa.Lines[0].ID] != 1 ||
		!created[0].Fulfillment.NotifyCustomer || created[0].Fulfillment.Tracking.Number != "1Z" {
		t.Fatalf("created = %+v", created)
	}
}

// TestFulfillmentOrdersQuery: remaining quantities follow fulfillments.
func TestFulfillmentOrdersQuery(t *testing.T) {
	s := New(Options{RestoreRate: 100000})
	defer s.Close()
	id := s.AddOrder(Order{Lines: []OrderLine{{ID: 5, SKU: "A", Quantity: 3}}, Fulfillments: []Fulfillment{{Status: "SUCCESS", Lines: map[int64]int64{5: 1}}}})
	q := fmt.Sprintf(`{"operationName":"ShelfsyncFulfillmentOrders","query":"query ShelfsyncFulfillmentOrders($id: ID!) { order(id: $id) { id } }","variables":{"id":"%s"}}`, orderGID(id))
	code, body := post(t, s, "/admin/api/2026-04/graphql.json", s.Options().AccessToken, q)
	raw, _ := json.Marshal(body)
	if code != 200 || !strings.Contains(string(raw), `"remainingQuantity":2`) || !strings.Contains(string(raw), `"status":"OPEN"`) {
		t.Fatalf("HTTP %d %s: want 2 remaining on an open fulfillment order", code, raw)
	}
	code, body = post(t, s, "/admin/api/2026-04/graphql.json", "", q)
	if code != 401 {
		t.Fatalf("without a token: HTTP %d %v", code, body)
	}
}

// TestFulfillmentOrdersActualCost: the read asks for 574 points at its
// full sizes; Shopify takes that before it runs and refunds what the
// answer did not use, so an order of one line costs 9 and the bucket
// reports it.
func TestFulfillmentOrdersActualCost(t *testing.T) {
	s := New(Options{RestoreRate: 0.001})
	defer s.Close()
	id := s.AddOrder(Order{Lines: []OrderLine{{ID: 5, SKU: "A", Quantity: 3}}})
	doc := "query ShelfsyncFulfillmentOrders($id: ID!) { order(id: $id) { fulfillments(first: 10) { fulfillmentLineItems(first: 25) { nodes { quantity } } } " +
		"fulfillmentOrders(first: 10) { nodes { lineItems(first: 25) { nodes { id } } } } } }"
	b, _ := json.Marshal(map[string]any{"operationName": "ShelfsyncFulfillmentOrders", "query": doc, "variables": map[string]any{"id": orderGID(id)}})
	_, body := post(t, s, "/admin/api/2026-04/graphql.json", s.Options().AccessToken, string(b))
	cost := body["extensions"].(map[string]any)["cost"].(map[string]any)
	left := cost["throttleStatus"].(map[string]any)["currentlyAvailable"].(float64)
	// 2 + 0 fulfillments, 2 + one fulfillment order (4) of one line (1).
	if cost["requestedQueryCost"] != 574.0 || cost["actualQueryCost"] != 9.0 || left != StandardBucketSize-9 {
		t.Fatalf("cost %v: want 574 requested, 9 actual, the bucket down by 9", cost)
	}
}
