package ebay

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func seedDir(f *testing.F, dir string) {
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// testOrder is the order the parsers' tests map returns onto: the lines
// of testdata/returns/return_search.json's first return.
func testOrder(id string) *apiOrder {
	return &apiOrder{OrderID: id, LineItems: []apiLineItem{
		{LineItemID: "10043573215312", LegacyItemID: "110551234567", SKU: "MUG-RED", Quantity: json.RawMessage("2")},
		{LineItemID: "10043573215313", LegacyItemID: "110551234999", SKU: "MUG-BLUE", Quantity: json.RawMessage("3")},
	}}
}

func TestParseReturnSearchTestdata(t *testing.T) {
	page, err := parseReturnsPage(&response{status: 200, body: readTestdata(t, "returns/return_search.json")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Members) != 2 || page.PaginationOutput.TotalEntries != 2 {
		t.Fatalf("page = %+v", page)
	}
	tests := []struct {
		want connectors.Return
	}{
		{want: connectors.Return{OrderID: "12-11111-22222", ReturnID: "5000123456", CreatedAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
			Status: "item_delivered", Lines: []connectors.ReturnLine{{LineID: "10043573215312", SKU: "MUG-RED", Quantity: 1, Received: true, Reason: "not_as_described"}}}},
		// transactionId 0 (a listing's only sale, as eBay numbers some):
		// the line is the order's only line of the listing.
		{want: connectors.Return{OrderID: "12-11111-33333", ReturnID: "5000123457", CreatedAt: time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC),
			Status: "return_requested", Lines: []connectors.ReturnLine{{LineID: "10043573215313", SKU: "MUG-BLUE", Quantity: 2, Reason: "no_longer_need_item"}}}},
	}
	for i, tc := range tests {
		m := &page.Members[i]
		if err := checkReturn(m); err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		received := m.State == deliveredState || m.Status == deliveredState
		r, skip := toReturn(m, testOrder(m.OrderID), received)
		if skip != "" || r == nil {
			t.Fatalf("member %d skipped: %s", i, skip)
		}
		if got, _ := json.Marshal(r); string(got) != string(must(json.Marshal(tc.want))) {
			t.Errorf("member %d = %s; want %s", i, got, must(json.Marshal(tc.want)))
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseReturnDetailAndErrorsTestdata(t *testing.T) {
	d, err := parseReturnDetail(&response{status: 200, body: readTestdata(t, "returns/return_detail_closed.json")})
	if err != nil || len(d.Detail.ResponseHistory) != 3 || d.Detail.ResponseHistory[1].ToState != deliveredState {
		t.Fatalf("detail = %+v, %v", d, err)
	}
	_, err = parseReturnsPage(&response{status: 400, body: readTestdata(t, "returns/post_order_error.json")})
	var ae *APIError
	if !asAPIError(err, &ae) || ae.Status != 400 || !ae.hasError(1702) || !strings.Contains(err.Error(), "18 months") {
		t.Fatalf("error = %v; want eBay's error 1702 with its message", err)
	}
	res := fulfillmentResult("POST x", &response{status: 400, header: http.Header{}, body: readTestdata(t, "shipping/create_shipping_fulfillment_error.json")}, time.Now())
	if res.Status != connectors.ShipmentRefused || !strings.Contains(res.Reason, "34100: Invalid line item id") {
		t.Fatalf("refusal = %+v", res)
	}
}

func asAPIError(err error, target **APIError) bool {
	ae, ok := err.(*APIError)
	if ok {
		*target = ae
	}
	return ok
}

func TestMatchFulfillmentTestdata(t *testing.T) {
	var page fulfillmentsPage
	if err := json.Unmarshal(readTestdata(t, "shipping/get_shipping_fulfillments.json"), &page); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  fulfillmentRequest
		want string
	}{
		{name: "same tracking, spaces aside, same units",
			req:  fulfillmentRequest{TrackingNumber: "9405509699937003457459", LineItems: []fulfillmentLine{{LineItemID: "10043573215312", Quantity: 2}}},
			want: "9405509699937003457459"},
		{name: "quantity left out means 1",
			req:  fulfillmentRequest{TrackingNumber: "1z999aa10123456784", LineItems: []fulfillmentLine{{LineItemID: "10043573215313", Quantity: 1}, {LineItemID: "10043573215312", Quantity: 1}}},
			want: "1Z999AA10123456784"},
		{name: "same tracking, other units",
			req: fulfillmentRequest{TrackingNumber: "9405509699937003457459", LineItems: []fulfillmentLine{{LineItemID: "10043573215312", Quantity: 1}}}},
		{name: "same tracking, fewer lines",
			req: fulfillmentRequest{TrackingNumber: "1Z999AA10123456784", LineItems: []fulfillmentLine{{LineItemID: "10043573215312", Quantity: 1}}}},
		{name: "other tracking",
			req: fulfillmentRequest{TrackingNumber: "X", LineItems: []fulfillmentLine{{LineItemID: "10043573215312", Quantity: 2}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if f := matchFulfillment(page.Fulfillments, tc.req); f != nil {
				got = f.FulfillmentID
			}
			if got != tc.want {
				t.Fatalf("match = %q; want %q", got, tc.want)
			}
		})
	}
}

// FuzzReturnsPage: any search answer is refused or parses; every return
// that passes the checks maps onto the order's lines with a quantity of
// at least 1, ids the ledger can key and lower-case codes.
func FuzzReturnsPage(f *testing.F) {
	seedDir(f, "returns")
	f.Add([]byte(`{"members":[{"returnId":"1","orderId":"O","creationInfo":{"item":{"itemId":"110551234567","returnQuantity":1e30},"creationDate":"2026-01-01T00:00:00Z"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := parseReturnsPage(&response{status: 200, body: data})
		if err != nil {
			return
		}
		for i := range page.Members {
			m := &page.Members[i]
			_ = returnFingerprint(m)
			if checkReturn(m) != nil {
				continue
			}
			r, skip := toReturn(m, testOrder(m.OrderID), false)
			if skip != "" {
				continue
			}
			checkMappedReturn(t, r)
		}
	})
}

func checkMappedReturn(t *testing.T, r *connectors.Return) {
	t.Helper()
	if len(r.Lines) != 1 || r.Lines[0].Quantity < 1 || r.Lines[0].Quantity > connectors.MaxQuantity || r.CreatedAt.IsZero() {
		t.Fatalf("mapped return %+v", r)
	}
	for _, id := range []string{r.OrderID, r.ReturnID, r.Lines[0].LineID} {
		if connectors.CheckID("id", id) != nil {
			t.Fatalf("mapped return with id %q", id)
		}
	}
	if r.Lines[0].LineID != "10043573215312" && r.Lines[0].LineID != "10043573215313" {
		t.Fatalf("line %q is not the order's", r.Lines[0].LineID)
	}
	if r.Status != strings.ToLower(r.Status) || r.Lines[0].Reason != strings.ToLower(r.Lines[0].Reason) || r.Lines[0].Restock {
		t.Fatalf("mapped return %+v: codes not lower case, or restock decided", r)
	}
}

// FuzzReturnDetail: any detail answer parses or is refused, never a panic.
func FuzzReturnDetail(f *testing.F) {
	seedDir(f, "returns")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, status := range []int{200, 404} {
			d, err := parseReturnDetail(&response{status: status, body: data})
			if (err == nil) != (status == 200 && d != nil) {
				t.Fatalf("status %d: detail %v, err %v", status, d, err)
			}
		}
	})
}

// FuzzFulfillmentAnswer: any createShippingFulfillment answer maps to one
// of the three outcomes (confirmed only for 2xx, with a ref the ledger can
// key or none), and any getShippingFulfillments page parses or is refused;
// a match has the request's tracking number.
func FuzzFulfillmentAnswer(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "shipping", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/shipping: %v", err)
	}
	for _, p := range files {
		f.Add(200, "", "", readTestdata(f, filepath.Join("shipping", filepath.Base(p))))
		f.Add(400, "", "", readTestdata(f, filepath.Join("shipping", filepath.Base(p))))
	}
	f.Add(201, "https://api.ebay.com/sell/fulfillment/v1/order/1/shipping_fulfillment/99", "", []byte(``))
	f.Add(429, "", "7", []byte(`{"errors":[{"errorId":2001,"message":"Too many requests"}]}`))
	f.Add(503, "", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`nope`))
	f.Fuzz(func(t *testing.T, status int, location, retryAfter string, body []byte) {
		h := http.Header{}
		h.Set("Location", location)
		h.Set("Retry-After", retryAfter)
		res := fulfillmentResult("POST x", &response{status: status, header: h, body: body}, time.Now())
		switch res.Status {
		case connectors.ShipmentConfirmed:
			if status < 200 || status > 299 || (res.Ref != "" && connectors.CheckID("ref", res.Ref) != nil) {
				t.Fatalf("status %d → %+v", status, res)
			}
		case connectors.ShipmentRetry, connectors.ShipmentRefused:
			if res.Reason == "" || (status >= 200 && status <= 299) || res.RetryAfter < 0 {
				t.Fatalf("status %d → %+v", status, res)
			}
		default:
			t.Fatalf("status %d → unknown outcome %+v", status, res)
		}
		var page fulfillmentsPage
		if json.Unmarshal(body, &page) != nil {
			return
		}
		req := fulfillmentRequest{TrackingNumber: "1Z999AA10123456784", LineItems: []fulfillmentLine{{LineItemID: "10043573215312", Quantity: 1}}}
		if m := matchFulfillment(page.Fulfillments, req); m != nil && normTracking(m.ShipmentTrackingNumber) != normTracking(req.TrackingNumber) {
			t.Fatalf("matched %+v", m)
		}
	})
}
