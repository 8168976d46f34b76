package ebaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const fulfillmentPath = "/sell/fulfillment/v1/order/O-1/shipping_fulfillment"

func fulfillmentOrder(s *Server) {
	s.AddOrder(Order{OrderID: "O-1", LineItems: []LineItem{
		{LineItemID: "L1", LegacyItemID: "110001", SKU: "A", Quantity: 3},
		{LineItemID: "L2", LegacyItemID: "110002", SKU: "B", Quantity: 1},
	}})
}

// TestCreateFulfillmentLikeEBay: createShippingFulfillment refuses what
// eBay documents (or must) refuse, and records what it takes.
func TestCreateFulfillmentLikeEBay(t *testing.T) {
	body := func(lines, extra string) string {
		return `{"lineItems":[` + lines + `],"shippingCarrierCode":"UPS","trackingNumber":"1Z1"` + extra + `}`
	}
	tests := []struct {
		name        string
		path        string
		contentType string
		cancel      bool
		body        string
		status      int
		errorID     int
		recorded    int
	}{
		{name: "one line", body: body(`{"lineItemId":"L1","quantity":2}`, ""), status: 201, recorded: 1},
		{name: "quantity defaults to 1", body: body(`{"lineItemId":"L2"}`, ""), status: 201, recorded: 1},
		{name: "shipped date", body: body(`{"lineItemId":"L1","quantity":1}`, `,"shippedDate":"2026-01-02T03:04:05.000Z"`), status: 201, recorded: 1},
		{name: "shipped date in the future", body: body(`{"lineItemId":"L1","quantity":1}`, `,"shippedDate":"2099-01-02T03:04:05.000Z"`), status: 400, errorID: ErrInvalidShipDate},
		{name: "shipped date not eBay's format", body: body(`{"lineItemId":"L1","quantity":1}`, `,"shippedDate":"2026-01-02"`), status: 400, errorID: ErrInvalidShipDate},
		{name: "no lines", body: body(``, ""), status: 400, errorID: ErrInvalidLineItem},
		{name: "line of another order", body: body(`{"lineItemId":"L9","quantity":1}`, ""), status: 400, errorID: ErrInvalidLineItem},
		{name: "line named twice", body: body(`{"lineItemId":"L1","quantity":1},{"lineItemId":"L1","quantity":1}`, ""), status: 400, errorID: ErrInvalidLineItem},
		{name: "more than ordered", body: body(`{"lineItemId":"L1","quantity":4}`, ""), status: 400, errorID: ErrInvalidQuantity},
		{name: "zero units", body: body(`{"lineItemId":"L1","quantity":0}`, ""), status: 400, errorID: ErrInvalidQuantity},
		{name: "unknown carrier", body: `{"lineItems":[{"lineItemId":"L1","quantity":1}],"shippingCarrierCode":"Pigeon","trackingNumber":"1"}`, status: 400, errorID: ErrInvalidCarrier},
		{name: "carrier without tracking", body: `{"lineItems":[{"lineItemId":"L1","quantity":1}],"shippingCarrierCode":"UPS"}`, status: 400, errorID: ErrMissingTracking},
		{name: "not JSON", body: `{"lineItems":`, status: 400, errorID: ErrInvalidRequest},
		{name: "not declared JSON", contentType: "text/plain", body: body(`{"lineItemId":"L1","quantity":1}`, ""), status: 415},
		{name: "cancelled order", cancel: true, body: body(`{"lineItemId":"L1","quantity":1}`, ""), status: 400, errorID: ErrOrderCancelled},
		{name: "unknown order", path: "/sell/fulfillment/v1/order/O-9/shipping_fulfillment", body: body(`{"lineItemId":"L1","quantity":1}`, ""), status: 404, errorID: ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			fulfillmentOrder(s)
			if tc.cancel && !s.CancelOrder("O-1") {
				t.Fatal("CancelOrder")
			}
			p, ct := tc.path, tc.contentType
			if p == "" {
				p = fulfillmentPath
			}
			if ct == "" {
				ct = "application/json"
			}
			status, resp := post(t, s, p, userToken(t, s), ct, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%s); want %d", status, resp, tc.status)
			}
			if tc.errorID != 0 {
				var e struct{ Errors []Error }
				if json.Unmarshal(resp, &e) != nil || len(e.Errors) != 1 || e.Errors[0].ErrorID != tc.errorID {
					t.Fatalf("answer %s; want error %d", resp, tc.errorID)
				}
			}
			if n := len(s.Fulfillments("O-1")); n != tc.recorded {
				t.Fatalf("recorded %d; want %d", n, tc.recorded)
			}
		})
	}
}

// TestFulfillmentsAddUp: the units of all fulfillments of a line never
// exceed its quantity; the order's status follows; the list and the
// Location header name each fulfillment.
func TestFulfillmentsAddUp(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	fulfillmentOrder(s)
	tok := userToken(t, s)
	send := func(lines string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+fulfillmentPath,
			strings.NewReader(`{"lineItems":[`+lines+`],"shippingCarrierCode":"USPS","trackingNumber":"9400"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	st, loc := send(`{"lineItemId":"L1","quantity":2}`)
	if st != 201 || !strings.HasPrefix(loc, s.URL()+fulfillmentPath+"/") {
		t.Fatalf("first = %d, Location %q", st, loc)
	}
	if st, _ := send(`{"lineItemId":"L1","quantity":2}`); st != 400 {
		t.Fatalf("2 more of a line with 1 open = %d; want 400", st)
	}
	if st, _ := send(`{"lineItemId":"L1","quantity":1},{"lineItemId":"L2","quantity":1}`); st != 201 {
		t.Fatalf("the rest = %d; want 201", st)
	}
	s.mu.Lock()
	status := s.orders["O-1"].OrderFulfillmentStatus
	s.mu.Unlock()
	if status != "FULFILLED" {
		t.Fatalf("order status %s; want FULFILLED", status)
	}
	code, body := get(t, s, fulfillmentPath, tok)
	var page struct {
		Fulfillments []struct {
			FulfillmentID string `json:"fulfillmentId"`
		} `json:"fulfillments"`
		Total int `json:"total"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &page) != nil || page.Total != 2 || !strings.HasSuffix(loc, "/"+page.Fulfillments[0].FulfillmentID) {
		t.Fatalf("list = %d %s", code, body)
	}
	if code, _ := get(t, s, "/sell/fulfillment/v1/order/O-9/shipping_fulfillment", tok); code != 404 {
		t.Fatalf("list of an unknown order = %d; want 404", code)
	}
}

// getIAF is a GET with "Authorization: IAF <token>", the Post-Order form.
func getIAF(t *testing.T, s *Server, path, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReturnSearchLikeEBay: the Post-Order search takes only "IAF"
// tokens, refuses bad ranges and paging, pages by offset (entries to
// skip) and counts totalEntries.
func TestReturnSearchLikeEBay(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	for i := range 25 {
		s.AddReturn(Return{ReturnID: fmt.Sprintf("R%02d", i), OrderID: "O-1", ItemID: "1", TransactionID: "L1", Quantity: 1,
			CreationDate: now.Add(-time.Duration(25-i) * time.Hour)})
	}
	tok := userToken(t, s)
	q := func(v url.Values) string { return "/post-order/v2/return/search?" + v.Encode() }
	from := now.Add(-48 * time.Hour).Format(dateFormat)
	tests := []struct {
		name    string
		auth    string
		query   url.Values
		status  int
		members int
		total   int
	}{
		{name: "bearer is refused", auth: "Bearer " + tok, query: url.Values{}, status: 401},
		{name: "no token", query: url.Values{}, status: 401},
		{name: "first page", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {from}, "limit": {"10"}}, status: 200, members: 10, total: 25},
		{name: "last page", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {from}, "limit": {"10"}, "offset": {"20"}}, status: 200, members: 5, total: 25},
		{name: "range", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {now.Add(-5 * time.Hour).Format(dateFormat)}, "creation_date_range_to": {now.Add(-2 * time.Hour).Format(dateFormat)}}, status: 200, members: 4, total: 4},
		{name: "buyer role", auth: "IAF " + tok, query: url.Values{"role": {"BUYER"}}, status: 200},
		{name: "beyond 18 months", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {now.Add(-600 * 24 * time.Hour).Format(dateFormat)}}, status: 400},
		{name: "from after to", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {from}, "creation_date_range_to": {now.Add(-72 * time.Hour).Format(dateFormat)}}, status: 400},
		{name: "bad date", auth: "IAF " + tok, query: url.Values{"creation_date_range_from": {"2026-12-01"}}, status: 400},
		{name: "limit too large", auth: "IAF " + tok, query: url.Values{"limit": {"201"}}, status: 400},
		{name: "negative offset", auth: "IAF " + tok, query: url.Values{"offset": {"-1"}}, status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getIAF(t, s, q(tc.query), tc.auth)
			if code != tc.status {
				t.Fatalf("status %d (%s); want %d", code, body, tc.status)
			}
			if code == 400 && !strings.Contains(body, `"errorMessage"`) {
				t.Fatalf("error body %s; want the Post-Order error form", body)
			}
			if code != 200 {
				return
			}
			var page struct {
				Members          []map[string]any `json:"members"`
				PaginationOutput struct {
					TotalEntries int `json:"totalEntries"`
				} `json:"paginationOutput"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Members) != tc.members || page.PaginationOutput.TotalEntries != tc.total {
				t.Fatalf("%d members of %d; want %d of %d", len(page.Members), page.PaginationOutput.TotalEntries, tc.members, tc.total)
			}
		})
	}
}

func TestGetReturnHistory(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddReturn(Return{ReturnID: "R1", OrderID: "O-1", Quantity: 1, State: "ITEM_SHIPPED"})
	if !s.SetReturnState("R1", "ITEM_DELIVERED", "ITEM_DELIVERED") || !s.SetReturnState("R1", "CLOSED", "CLOSED") || s.SetReturnState("R9", "CLOSED", "") {
		t.Fatal("SetReturnState")
	}
	tok := userToken(t, s)
	code, body := getIAF(t, s, "/post-order/v2/return/R1", "IAF "+tok)
	var d struct {
		Detail struct {
			ResponseHistory []struct{ FromState, ToState string }
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &d) != nil || len(d.Detail.ResponseHistory) != 2 ||
		d.Detail.ResponseHistory[0].ToState != "ITEM_DELIVERED" || d.Detail.ResponseHistory[1].ToState != "CLOSED" {
		t.Fatalf("detail = %d %s", code, body)
	}
	if code, _ := getIAF(t, s, "/post-order/v2/return/R9", "IAF "+tok); code != 404 {
		t.Fatalf("unknown return = %d; want 404", code)
	}
}
