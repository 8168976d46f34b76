package amazon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// reportOf is a flat file of header and rows (tab-joined, \n-ended).
func reportOf(header string, rows ...string) []byte {
	return []byte(header + "\n" + strings.Join(rows, "\n") + "\n")
}

const shortHeader = "Order ID\tReturn request date\tReturn request status\tAmazon RMA ID\tMerchant SKU\tReturn quantity\tReturn Reason\tReturn delivery date"

// TestParseReturnsReport: the flat file as Amazon may spell it.
func TestParseReturnsReport(t *testing.T) {
	day := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	row := ReturnRow{OrderID: "111-1", RMAID: "DxRMA1", RequestDate: day, Status: "Approved", SKU: "SKU-A", Quantity: 2, Reason: "CR-DEFECTIVE"}
	delivered := row
	delivered.Delivered = true
	tests := []struct {
		name    string
		data    []byte
		want    []ReturnRow
		skipped int
		err     bool
	}{
		{name: "empty document", data: nil},
		{name: "header only", data: reportOf(shortHeader)},
		{name: "one row", data: reportOf(shortHeader, "111-1\t2026-02-10T00:00:00Z\tApproved\tDxRMA1\tSKU-A\t2\tCR-DEFECTIVE\t"), want: []ReturnRow{row}},
		{name: "delivered back", data: reportOf(shortHeader, "111-1\t2026-02-10\tApproved\tDxRMA1\tSKU-A\t2\tCR-DEFECTIVE\t2026-02-20"), want: []ReturnRow{delivered}},
		{name: "headers in another spelling, CRLF, BOM, columns moved",
			data: []byte("\xef\xbb\xbfreturn-quantity\tamazon-rma-id\torder-id\tmerchant-sku\tRETURN REQUEST STATUS\treturn-request-date\treturn-reason\r\n2\tDxRMA1\t111-1\tSKU-A\tApproved\t10-Feb-2026\tCR-DEFECTIVE\r\n"),
			want: []ReturnRow{row}},
		{name: "the fake's full header", data: reportOf(strings.Join(amazontest.ReturnsReportHeader, "\t")), want: nil},
		{name: "rows lacking what a return needs are skipped",
			data: reportOf(shortHeader,
				"\t2026-02-10\tApproved\tDxRMA1\tSKU-A\t2\t\t", // no order id
				"111-1\t2026-02-10\tApproved\t\tSKU-A\t2\t\t",  // no RMA id
				"111-1\t2026-02-10\tApproved\tDxRMA1\t\t2\t\t", // no SKU
				"111-1\t2026-02-10\tApproved\tDxRMA1\tSKU-A\t0\t\t",
				"111-1\t2026-02-10\tApproved\tDxRMA1\tSKU-A\tmany\t\t",
				"111-1", // short row
				"111-1\t2026-02-10T00:00:00Z\tApproved\tDxRMA1\tSKU-A\t2\tCR-DEFECTIVE\t"),
			want: []ReturnRow{row}, skipped: 6},
		{name: "an unreadable date stays zero", data: reportOf(shortHeader, "111-1\tyesterday\tApproved\tDxRMA1\tSKU-A\t2\tCR-DEFECTIVE\t"),
			want: []ReturnRow{{OrderID: "111-1", RMAID: "DxRMA1", Status: "Approved", SKU: "SKU-A", Quantity: 2, Reason: "CR-DEFECTIVE"}}},
		{name: "not the returns report", data: reportOf("sku\tquantity", "A\t1"), err: true},
		{name: "a JSON document", data: []byte(`{"errors":[]}`), err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, skipped, err := ParseReturnsReport(tc.data)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) || skipped != tc.skipped {
				t.Errorf("got %+v (%d skipped), want %+v (%d)", got, skipped, tc.want, tc.skipped)
			}
		})
	}
}

// TestGroupReturns: one return per RMA, lines by SKU, quantities added,
// statuses and reasons in lower case, Received from the delivery date.
func TestGroupReturns(t *testing.T) {
	day := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	rows := []ReturnRow{
		{OrderID: "O1", RMAID: "R1", RequestDate: day, Status: "Approved", SKU: "B", Quantity: 1, Reason: "CR-DEFECTIVE"},
		{OrderID: "O2", RMAID: "R2", RequestDate: day, Status: "Closed", SKU: "A", Quantity: 1, Delivered: true, Reason: "NO_REASON_GIVEN"},
		{OrderID: "O1", RMAID: "R1", RequestDate: day, Status: "Approved", SKU: "A", Quantity: 2, Reason: "CR-UNWANTED_ITEM", Delivered: true},
		{OrderID: "O1", RMAID: "R1", RequestDate: day, Status: "Approved", SKU: "B", Quantity: 2, Delivered: true},
	}
	want := []connectors.Return{
		{OrderID: "O1", ReturnID: "R1", CreatedAt: day, Status: "approved", Lines: []connectors.ReturnLine{
			{SKU: "A", Quantity: 2, Received: true, Reason: "cr-unwanted_item"},
			{SKU: "B", Quantity: 3, Received: true, Reason: "cr-defective"},
		}},
		{OrderID: "O2", ReturnID: "R2", CreatedAt: day, Status: "closed", Lines: []connectors.ReturnLine{
			{SKU: "A", Quantity: 1, Received: true, Reason: "no_reason_given"},
		}},
	}
	if got := GroupReturns(rows); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// returnsFixture is a fake with two orders and three returns: R1 (two
// items of O1, delivered back), R2 (O2, requested), R3 (an order Amazon
// does not know).
func returnsFixture(t *testing.T, clk *clock, gzip bool) *amazontest.Server {
	srv := newFake(t, clk, func(o *amazontest.Options) { o.GzipReports = gzip; o.FeedPolls = 2 })
	now := clk.Now()
	for _, id := range []string{"O1", "O2"} {
		srv.AddOrder(amazontest.Order{AmazonOrderID: id, Status: "Shipped", LastUpdate: now.Add(-10 * 24 * time.Hour),
			Items: []amazontest.Item{
				{OrderItemID: id + "-a", SellerSKU: "SKU-A", Ordered: 2, Shipped: 2},
				{OrderItemID: id + "-b", SellerSKU: "SKU-B", Ordered: 1, Shipped: 1},
			}})
	}
	srv.AddReturn(amazontest.Return{OrderID: "O1", RMAID: "R1", Status: "Approved", RequestDate: now.Add(-5 * 24 * time.Hour),
		DeliveredAt: now.Add(-2 * 24 * time.Hour),
		Items:       []amazontest.ReturnItem{{SKU: "SKU-A", Quantity: 2, Reason: "CR-DEFECTIVE"}, {SKU: "SKU-B", Quantity: 1, Reason: "CR-UNWANTED_ITEM"}}})
	srv.AddReturn(amazontest.Return{OrderID: "O2", RMAID: "R2", Status: "Authorized", RequestDate: now.Add(-time.Hour),
		Items: []amazontest.ReturnItem{{SKU: "SKU-B", Quantity: 1, Reason: "AMZ-PG-BAD-DESC"}}})
	srv.AddReturn(amazontest.Return{OrderID: "O9", RMAID: "R3", Status: "Approved", RequestDate: now.Add(-3 * time.Hour),
		Items: []amazontest.ReturnItem{{SKU: "SKU-A", Quantity: 1}}})
	return srv
}

// pollReturns is every return PollReturns emits from since, and its cursor.
func pollReturns(t *testing.T, c *Connector, since time.Time) ([]connectors.Return, time.Time) {
	t.Helper()
	var out []connectors.Return
	through, err := c.PollReturns(context.Background(), since, func(_ context.Context, rs []connectors.Return) error {
		out = append(out, rs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, through
}

// TestPollReturns: the report's returns, mapped, with each line's order
// item id read from the order (once per order, whatever the number of
// polls), through the report flow of the Reports API.
func TestPollReturns(t *testing.T) {
	for _, api := range ordersAPIs {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s gzip=%v", api, gz), func(t *testing.T) {
				clk := newClock()
				srv := returnsFixture(t, clk, gz)
				c := newTestConnector(t, srv, clk, withOrdersAPI(api))
				since := clk.Now().Add(-24 * time.Hour)
				got, through := pollReturns(t, c, since)
				want := []connectors.Return{
					{OrderID: "O1", ReturnID: "R1", CreatedAt: clk.Now().Add(-5 * 24 * time.Hour), Status: "approved", Lines: []connectors.ReturnLine{
						{LineID: "O1-a", SKU: "SKU-A", Quantity: 2, Received: true, Reason: "cr-defective"},
						{LineID: "O1-b", SKU: "SKU-B", Quantity: 1, Received: true, Reason: "cr-unwanted_item"},
					}},
					{OrderID: "O9", ReturnID: "R3", CreatedAt: clk.Now().Add(-3 * time.Hour), Status: "approved", Lines: []connectors.ReturnLine{
						{SKU: "SKU-A", Quantity: 1},
					}},
					{OrderID: "O2", ReturnID: "R2", CreatedAt: clk.Now().Add(-time.Hour), Status: "authorized", Lines: []connectors.ReturnLine{
						{LineID: "O2-b", SKU: "SKU-B", Quantity: 1, Reason: "amz-pg-bad-desc"},
					}},
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
				if wantThrough := clk.Now().Add(-returnsEndDelay); !through.Equal(wantThrough) {
					t.Errorf("through %s, want %s", through, wantThrough)
				}
				fetches := srv.Calls("getOrder") + srv.Calls("getOrder_2026-01-01")
				// Again from the cursor, ten minutes on: the same returns
				// (their whole state), no new order reads.
				clk.Advance(10 * time.Minute)
				again, _ := pollReturns(t, c, through)
				if !reflect.DeepEqual(again, want) || srv.Calls("getOrder")+srv.Calls("getOrder_2026-01-01") != fetches {
					t.Errorf("second poll: %+v, %d order reads after %d", again, srv.Calls("getOrder")+srv.Calls("getOrder_2026-01-01"), fetches)
				}
				if srv.Reports() != 2 {
					t.Errorf("%d reports for two polls", srv.Reports())
				}
			})
		}
	}
}

// TestPollReturnsWindows: no returns is a report Amazon cancels (nothing
// emitted, the cursor moves); a long catch-up is several reports of at
// most 60 days; a cursor at the end asks nothing; a failed emit keeps the
// cursor.
func TestPollReturnsWindows(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	got, through := pollReturns(t, c, clk.Now().Add(-time.Hour))
	if len(got) != 0 || !through.Equal(clk.Now().Add(-returnsEndDelay)) || srv.Reports() != 1 {
		t.Fatalf("no returns: %+v through %s, %d reports", got, through, srv.Reports())
	}
	if _, again := pollReturns(t, c, through); !again.Equal(through) || srv.Reports() != 1 {
		t.Fatalf("at the end: through %s, %d reports", again, srv.Reports())
	}
	// 100 days behind, plus the 30-day lookback: 130 days, three reports.
	pollReturns(t, c, clk.Now().Add(-100*24*time.Hour))
	if srv.Reports() != 4 {
		t.Errorf("%d reports for a 130-day catch-up, want 3 more", srv.Reports()-1)
	}
	first := returnsFixture(t, clk, false)
	c = newTestConnector(t, first, clk, nil)
	since := clk.Now().Add(-time.Hour)
	boom := errors.New("intake down")
	through, err := c.PollReturns(context.Background(), since, func(context.Context, []connectors.Return) error { return boom })
	if !errors.Is(err, boom) || !through.Equal(since) {
		t.Errorf("failed emit: %v, through %s", err, through)
	}
}

// TestPollReturnsRefused: an answer the connector cannot use fails the
// poll and keeps the cursor: createReport throttled past the client's
// retries, a report document that is not the returns report.
func TestPollReturnsRefused(t *testing.T) {
	clk := newClock()
	srv := returnsFixture(t, clk, false)
	c := newTestConnector(t, srv, clk, nil)
	since := clk.Now().Add(-time.Hour)
	srv.Throttle("createReport", 10, "")
	through, err := c.PollReturns(context.Background(), since, func(context.Context, []connectors.Return) error { return nil })
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || !through.Equal(since) {
		t.Fatalf("throttled: %v, through %s", err, through)
	}
}

// FuzzParseReturnsReport: any document parses without panicking, and
// every row it keeps has what a return needs.
func FuzzParseReturnsReport(f *testing.F) {
	f.Add(reportOf(shortHeader, "111-1\t2026-02-10T00:00:00Z\tApproved\tDxRMA1\tSKU-A\t2\tCR-DEFECTIVE\t2026-02-12"))
	f.Add(reportOf(strings.Join(amazontest.ReturnsReportHeader, "\t"), strings.Repeat("x\t", 40)))
	f.Add([]byte("\xef\xbb\xbforder-id\tamazon-rma-id\tmerchant-sku\treturn-quantity\r\n1\t2\t3\t4\r\n"))
	f.Add([]byte("\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, skipped, err := ParseReturnsReport(data)
		if err != nil && (rows != nil || skipped != 0) {
			t.Fatal("an error with rows")
		}
		for _, r := range rows {
			if r.OrderID == "" || r.RMAID == "" || r.SKU == "" || r.Quantity <= 0 {
				t.Fatalf("row %+v", r)
			}
		}
		for _, ret := range GroupReturns(rows) {
			if len(ret.Lines) == 0 || ret.Status != strings.ToLower(ret.Status) {
				t.Fatalf("return %+v", ret)
			}
		}
	})
}
