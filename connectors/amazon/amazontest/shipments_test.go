package amazontest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, s *Server, path, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("x-amz-access-token", tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// confirmBody is a confirmShipment body with the package's fields replaced
// by those of edit (JSON fragments; "" drops a field).
func confirmBody(edit map[string]string) string {
	fields := map[string]string{
		"packageReferenceId": `"1"`, "carrierCode": `"UPS"`, "trackingNumber": `"1Z1"`,
		"shipDate": `"2026-03-01T10:00:00Z"`, "orderItems": `[{"orderItemId":"I1","quantity":2}]`,
	}
	market := `"` + DefaultMarketplace + `"`
	for k, v := range edit {
		if k == "marketplaceId" {
			market = v
			continue
		}
		fields[k] = v
	}
	var parts []string
	for k, v := range fields {
		if v != "" {
			parts = append(parts, `"`+k+`":`+v)
		}
	}
	body := `{"packageDetail":{` + strings.Join(parts, ",") + `}`
	if market != "" {
		body += `,"marketplaceId":` + market
	}
	return body + "}"
}

// TestConfirmShipmentChecks: confirmShipment's documented checks, each
// refused with 400 InvalidInput (404 for an unknown order) and nothing
// recorded; a good package is recorded and ships its units.
func TestConfirmShipmentChecks(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		order  string
		status string // of the order
		edit   map[string]string
		want   int
		msg    string
	}{
		{name: "good", want: 204},
		{name: "carrier Other with a name", edit: map[string]string{"carrierCode": `"Other"`, "carrierName": `"Acme"`}, want: 204},
		{name: "no marketplaceId", edit: map[string]string{"marketplaceId": ""}, want: 400, msg: "marketplaceId"},
		{name: "another marketplace", edit: map[string]string{"marketplaceId": `"A1PA6795UKMFR9"`}, want: 400, msg: "marketplace"},
		{name: "no packageReferenceId", edit: map[string]string{"packageReferenceId": ""}, want: 400, msg: "packageReferenceId"},
		{name: "packageReferenceId not numeric", edit: map[string]string{"packageReferenceId": `"ship-1"`}, want: 400, msg: "packageReferenceId"},
		{name: "packageReferenceId zero", edit: map[string]string{"packageReferenceId": `"000"`}, want: 400, msg: "packageReferenceId"},
		{name: "no carrierCode", edit: map[string]string{"carrierCode": ""}, want: 400, msg: "carrierCode"},
		{name: "unlisted carrierCode", edit: map[string]string{"carrierCode": `"ups"`}, want: 400, msg: "carrierCode"},
		{name: "Other without a name", edit: map[string]string{"carrierCode": `"Other"`}, want: 400, msg: "carrierName"},
		{name: "no trackingNumber", edit: map[string]string{"trackingNumber": ""}, want: 400, msg: "trackingNumber"},
		{name: "shipDate not ISO 8601", edit: map[string]string{"shipDate": `"03/01/2026"`}, want: 400, msg: "shipDate"},
		{name: "no orderItems", edit: map[string]string{"orderItems": `[]`}, want: 400, msg: "orderItems"},
		{name: "item without quantity", edit: map[string]string{"orderItems": `[{"orderItemId":"I1"}]`}, want: 400, msg: "quantity"},
		{name: "item twice", edit: map[string]string{"orderItems": `[{"orderItemId":"I1","quantity":1},{"orderItemId":"I1","quantity":1}]`}, want: 400, msg: "twice"},
		{name: "item of another order", edit: map[string]string{"orderItems": `[{"orderItemId":"X","quantity":1}]`}, want: 400, msg: "not an item"},
		{name: "over the unshipped quantity", edit: map[string]string{"orderItems": `[{"orderItemId":"I1","quantity":3}]`}, want: 400, msg: "exceeds"},
		{name: "cancelled order", status: "Canceled", want: 400, msg: "Canceled"},
		{name: "pending order", status: "Pending", want: 400, msg: "Pending"},
		{name: "unknown order", order: "000-0000000-0000000", want: 404, msg: "NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Now: func() time.Time { return now }})
			defer s.Close()
			status := tc.status
			if status == "" {
				status = "Unshipped"
			}
			s.AddOrder(Order{AmazonOrderID: "O", Status: status, LastUpdate: now.Add(-time.Hour),
				Items: []Item{{OrderItemID: "I1", SellerSKU: "A", Ordered: 2}, {OrderItemID: "I2", SellerSKU: "B", Ordered: 1}}})
			order := tc.order
			if order == "" {
				order = "O"
			}
			_, tok := token(t, s, goodForm())
			got, body := post(t, s, "/orders/v0/orders/"+order+"/shipmentConfirmation", tok, confirmBody(tc.edit))
			if got != tc.want || !strings.Contains(body, tc.msg) {
				t.Fatalf("HTTP %d %s, want %d with %q", got, body, tc.want, tc.msg)
			}
			o, _ := s.Order("O")
			if tc.want != 204 {
				if len(s.Packages("O")) != 0 || o.Items[0].Shipped != 0 || !o.LastUpdate.Equal(now.Add(-time.Hour)) {
					t.Errorf("a refused confirmation changed the order: %+v %+v", o, s.Packages("O"))
				}
				return
			}
			if p := s.Packages("O")["1"]; p.Items["I1"] != 2 || o.Items[0].Shipped != 2 || o.Status != "PartiallyShipped" || !o.LastUpdate.Equal(now) {
				t.Errorf("package %+v, order %+v", p, o)
			}
		})
	}
}

// TestConfirmShipmentEdit: the same packageReferenceId sent again edits
// its package (its units count once); another reference is another
// package, held to what is still unshipped.
func TestConfirmShipmentEdit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	s.AddOrder(Order{AmazonOrderID: "O", Status: "Unshipped", LastUpdate: now,
		Items: []Item{{OrderItemID: "I1", SellerSKU: "A", Ordered: 2}}})
	_, tok := token(t, s, goodForm())
	path := "/orders/v0/orders/O/shipmentConfirmation"
	for _, step := range []struct {
		ref, items string
		want       int
		shipped    int64
	}{
		{`"1"`, `[{"orderItemId":"I1","quantity":1}]`, 204, 1},
		{`"1"`, `[{"orderItemId":"I1","quantity":2}]`, 204, 2}, // edit: 2 in package 1
		{`"2"`, `[{"orderItemId":"I1","quantity":1}]`, 400, 2}, // nothing left
		{`"1"`, `[{"orderItemId":"I1","quantity":1}]`, 204, 1}, // edit down
		{`"2"`, `[{"orderItemId":"I1","quantity":1}]`, 204, 2},
	} {
		got, body := post(t, s, path, tok, confirmBody(map[string]string{"packageReferenceId": step.ref, "orderItems": step.items}))
		o, _ := s.Order("O")
		if got != step.want || o.Items[0].Shipped != step.shipped {
			t.Fatalf("ref %s %s: HTTP %d %s, shipped %d; want %d, %d", step.ref, step.items, got, body, o.Items[0].Shipped, step.want, step.shipped)
		}
	}
	if o, _ := s.Order("O"); o.Status != "Shipped" || len(s.Packages("O")) != 2 || s.Packages("O")["1"].Confirmations != 3 {
		t.Errorf("order %+v, packages %+v", o, s.Packages("O"))
	}
}

// TestCreateReportChecks: createReport's checks and the report flow:
// IN_QUEUE/IN_PROGRESS, then DONE with a document, or CANCELLED with no data.
func TestCreateReportChecks(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	defer s.Close()
	s.AddReturn(Return{OrderID: "O", RMAID: "R", Status: "Approved", RequestDate: now.Add(-time.Hour),
		Items: []ReturnItem{{SKU: "A", Quantity: 1}}})
	_, tok := token(t, s, goodForm())
	iso := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	spec := func(typ, markets, start, end string) string {
		return `{"reportType":"` + typ + `","marketplaceIds":` + markets + `,"dataStartTime":"` + start + `","dataEndTime":"` + end + `"}`
	}
	m := `["` + DefaultMarketplace + `"]`
	for _, tc := range []struct {
		name, body, msg string
		want            int
	}{
		{"other report type", spec("GET_MERCHANT_LISTINGS_ALL_DATA", m, iso(-2*time.Hour), iso(0)), "reportType", 400},
		{"no marketplaces", spec(ReturnsReportType, `[]`, iso(-2*time.Hour), iso(0)), "marketplaceIds", 400},
		{"end after now", spec(ReturnsReportType, m, iso(-2*time.Hour), iso(time.Minute)), "current date", 400},
		{"start after end", spec(ReturnsReportType, m, iso(-time.Hour), iso(-2*time.Hour)), "before", 400},
		{"more than 60 days", spec(ReturnsReportType, m, iso(-61*24*time.Hour), iso(0)), "60 days", 400},
		{"bad date", spec(ReturnsReportType, m, "yesterday", iso(0)), "ISO 8601", 400},
		{"good", spec(ReturnsReportType, m, iso(-60*24*time.Hour), iso(0)), "reportId", 202},
	} {
		got, body := post(t, s, "/reports/2021-06-30/reports", tok, tc.body)
		if got != tc.want || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: HTTP %d %s, want %d with %q", tc.name, got, body, tc.want, tc.msg)
		}
	}
	states := func(body string) []string {
		var created struct{ ReportID string }
		_ = json.Unmarshal([]byte(body), &created)
		var out []string
		for range 3 {
			_, b := get(t, s, "/reports/2021-06-30/reports/"+created.ReportID, tok)
			var st struct{ ProcessingStatus, ReportDocumentID string }
			_ = json.Unmarshal([]byte(b), &st)
			out = append(out, st.ProcessingStatus+":"+st.ReportDocumentID)
		}
		return out
	}
	_, withData := post(t, s, "/reports/2021-06-30/reports", tok, spec(ReturnsReportType, m, iso(-2*time.Hour), iso(0)))
	if got := states(withData); got[0] != "IN_PROGRESS:" || !strings.HasPrefix(got[1], "DONE:amzn1.spdoc") || got[2] != got[1] {
		t.Errorf("with data: %v", got)
	}
	_, empty := post(t, s, "/reports/2021-06-30/reports", tok, spec(ReturnsReportType, m, iso(-2*time.Hour), iso(-90*time.Minute)))
	if got := states(empty); got[1] != "CANCELLED:" {
		t.Errorf("no data: %v", got)
	}
}
