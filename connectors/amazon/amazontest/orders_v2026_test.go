package amazontest

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

type searchOrdersAnswer struct {
	Orders []struct {
		OrderID         string `json:"orderId"`
		LastUpdatedTime string `json:"lastUpdatedTime"`
		Fulfillment     *struct {
			FulfillmentStatus string `json:"fulfillmentStatus"`
			FulfilledBy       string `json:"fulfilledBy"`
		} `json:"fulfillment"`
		OrderItems []struct {
			OrderItemID     string `json:"orderItemId"`
			QuantityOrdered int64  `json:"quantityOrdered"`
			Product         struct {
				SellerSKU string `json:"sellerSku"`
			} `json:"product"`
			Fulfillment *struct {
				QuantityFulfilled int64 `json:"quantityFulfilled"`
			} `json:"fulfillment"`
		} `json:"orderItems"`
	} `json:"orders"`
	Pagination *struct {
		NextToken string `json:"nextToken"`
	} `json:"pagination"`
	LastUpdatedBefore string `json:"lastUpdatedBefore"`
}

func (a *searchOrdersAnswer) ids() string {
	var out []string
	for _, o := range a.Orders {
		out = append(out, o.OrderID)
	}
	return strings.Join(out, " ")
}

func v2026Fake(t *testing.T, now *time.Time) (*Server, string) {
	t.Helper()
	s := New(Options{Now: func() time.Time { return *now }, RateLimits: map[string]float64{"searchOrders": 100, "getOrder_2026-01-01": 100}})
	t.Cleanup(s.Close)
	_, tok := token(t, s, goodForm())
	return s, tok
}

// TestSearchOrdersValidation: searchOrders' parameters as the model
// states them (orders_2026-01-01.json).
func TestSearchOrdersValidation(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, tok := v2026Fake(t, &now)
	ok := "lastUpdatedAfter=2026-01-01T10:00:00Z"
	for _, tc := range []struct {
		name   string
		query  string
		status int
	}{
		{"updated window", ok + "&lastUpdatedBefore=2026-01-01T11:58:00Z&marketplaceIds=" + DefaultMarketplace, 200},
		{"created window", "createdAfter=2026-01-01T10:00:00Z&createdBefore=2026-01-01T11:00:00Z", 200},
		{"no marketplace is allowed", ok, 200},
		{"before too recent", ok + "&lastUpdatedBefore=2026-01-01T11:59:00Z", 400},
		{"before the after", ok + "&lastUpdatedBefore=2026-01-01T09:00:00Z", 400},
		{"created before too recent", "createdAfter=2026-01-01T10:00:00Z&createdBefore=2026-01-01T11:59:30Z", 400},
		{"no after", "marketplaceIds=" + DefaultMarketplace, 400},
		{"both afters", ok + "&createdAfter=2026-01-01T10:00:00Z", 400},
		{"updated before with created after", "createdAfter=2026-01-01T10:00:00Z&lastUpdatedBefore=2026-01-01T11:00:00Z", 400},
		{"created before with updated after", ok + "&createdBefore=2026-01-01T11:00:00Z", 400},
		{"bad date", "lastUpdatedAfter=yesterday", 400},
		{"page 100", ok + "&maxResultsPerPage=100", 200},
		{"page 101", ok + "&maxResultsPerPage=101", 400},
		{"page 0", ok + "&maxResultsPerPage=0", 400},
		{"datasets", ok + "&includedData=FULFILLMENT,BUYER", 200},
		{"unknown dataset", ok + "&includedData=ORDER_ITEMS", 400},
		{"merchant fulfilled", ok + "&fulfilledBy=MERCHANT", 200},
		{"v0 fulfillment channel", ok + "&fulfilledBy=MFN", 400},
		{"status filter", ok + "&fulfillmentStatuses=UNSHIPPED,PENDING", 200},
		{"v0 status", ok + "&fulfillmentStatuses=Unshipped", 400},
		{"51 marketplaces", ok + "&marketplaceIds=" + strings.Repeat("A,", 50) + "B", 400},
		{"unknown token", ok + "&paginationToken=nope", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp, body := get(t, s, "/orders/2026-01-01/orders?"+tc.query, tok); resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// TestSearchOrdersPages: filters, the FULFILLMENT dataset, the two-minute
// rule, and pages whose token comes back once, with the same parameters.
func TestSearchOrdersPages(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, tok := v2026Fake(t, &now)
	for i, id := range []string{"A", "B", "C", "D", "E"} {
		s.AddOrder(Order{AmazonOrderID: id, Status: "Unshipped", LastUpdate: now.Add(-time.Hour + time.Duration(i)*time.Minute),
			Items: []Item{{OrderItemID: id + "1", SellerSKU: "SKU-" + id, Ordered: 2, Shipped: 1}}})
	}
	s.AddOrder(Order{AmazonOrderID: "FBA", FulfillmentChannel: "AFN", Status: "Shipped", LastUpdate: now.Add(-time.Hour)})
	s.AddOrder(Order{AmazonOrderID: "FRESH", Status: "Pending", LastUpdate: now.Add(-time.Minute)})
	s.AddOrder(Order{AmazonOrderID: "JP", MarketplaceID: "A1VC38T7YXB528", Status: "Pending", LastUpdate: now.Add(-time.Hour)})

	base := "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T10:00:00Z&fulfilledBy=MERCHANT&marketplaceIds=" + DefaultMarketplace
	var pages []string
	var used []string
	path := base + "&maxResultsPerPage=2&includedData=FULFILLMENT"
	for range 5 {
		resp, body := get(t, s, path, tok)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var a searchOrdersAnswer
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatal(err)
		}
		for _, o := range a.Orders {
			if o.Fulfillment == nil || o.Fulfillment.FulfillmentStatus != "UNSHIPPED" || o.Fulfillment.FulfilledBy != "MERCHANT" ||
				len(o.OrderItems) != 1 || o.OrderItems[0].Fulfillment == nil || o.OrderItems[0].Fulfillment.QuantityFulfilled != 1 ||
				o.OrderItems[0].Product.SellerSKU != "SKU-"+o.OrderID {
				t.Fatalf("order %s: %s", o.OrderID, body)
			}
		}
		pages = append(pages, a.ids())
		if a.Pagination == nil {
			break
		}
		used = append(used, a.Pagination.NextToken)
		// maxResultsPerPage and includedData may change between pages.
		path = base + "&maxResultsPerPage=2&includedData=FULFILLMENT,BUYER&paginationToken=" + url.QueryEscape(a.Pagination.NextToken)
	}
	if got := strings.Join(pages, "|"); got != "A B|C D|E" {
		t.Fatalf("pages %q, want A B|C D|E (FBA, too fresh and other marketplaces left out)", got)
	}
	for _, u := range used {
		if resp, _ := get(t, s, base+"&paginationToken="+url.QueryEscape(u), tok); resp.StatusCode != 400 {
			t.Errorf("a used paginationToken answered %d, want 400", resp.StatusCode)
		}
	}

	// A token must come back with the other parameters unchanged.
	resp, body := get(t, s, base+"&maxResultsPerPage=1", tok)
	var a searchOrdersAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil || resp.StatusCode != 200 || a.Pagination == nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, s, "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T10:00:00Z&paginationToken="+url.QueryEscape(a.Pagination.NextToken), tok); resp.StatusCode != 400 {
		t.Errorf("a token with other parameters answered %d, want 400", resp.StatusCode)
	}
	// Without the FULFILLMENT dataset there is no status and no quantity shipped.
	if a.Orders[0].Fulfillment != nil || a.Orders[0].OrderItems[0].Fulfillment != nil {
		t.Errorf("fulfillment without includedData=FULFILLMENT: %s", body)
	}

	// The order changed a minute ago shows once its change is two minutes old.
	fresh := "/orders/2026-01-01/orders?lastUpdatedAfter=2026-01-01T11:58:30Z"
	if _, body := get(t, s, fresh, tok); strings.Contains(body, "FRESH") {
		t.Fatalf("a change younger than two minutes was shown: %s", body)
	}
	now = now.Add(90 * time.Second)
	if _, body := get(t, s, fresh, tok); !strings.Contains(body, "FRESH") {
		t.Fatalf("a change older than two minutes was not shown: %s", body)
	}
}

// TestGetOrder2026: items always, fulfillment with its dataset, 404 for
// an unknown order.
func TestGetOrder2026(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s, tok := v2026Fake(t, &now)
	s.AddOrder(Order{AmazonOrderID: "902-1", Status: "InvoiceUnconfirmed", LastUpdate: now,
		Items: []Item{{OrderItemID: "1", SellerSKU: "A", Ordered: 3, Shipped: 3}}})
	var got struct {
		Order struct {
			OrderID     string `json:"orderId"`
			Fulfillment *struct {
				FulfillmentStatus string `json:"fulfillmentStatus"`
			} `json:"fulfillment"`
			OrderItems []json.RawMessage `json:"orderItems"`
		} `json:"order"`
	}
	resp, body := get(t, s, "/orders/2026-01-01/orders/902-1?includedData=FULFILLMENT", tok)
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || got.Order.OrderID != "902-1" ||
		got.Order.Fulfillment == nil || got.Order.Fulfillment.FulfillmentStatus != "SHIPPED" || len(got.Order.OrderItems) != 1 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, s, "/orders/2026-01-01/orders/902-1", tok); resp.StatusCode != 200 || strings.Contains(body, "fulfillmentStatus") || !strings.Contains(body, "orderItems") {
		t.Fatalf("without datasets: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, s, "/orders/2026-01-01/orders/000-0", tok); resp.StatusCode != 404 {
		t.Fatalf("unknown order: %d", resp.StatusCode)
	}
	if s.Calls("getOrder_2026-01-01") != 3 || s.Calls("getOrder") != 0 {
		t.Errorf("calls: v2026 %d, v0 %d", s.Calls("getOrder_2026-01-01"), s.Calls("getOrder"))
	}
}
