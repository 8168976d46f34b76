package amazon

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// TestNormalizeEveryFixture runs every file in testdata/ (copies of the
// shared conformance fixtures) through the registered normalizer. A
// fixture without an expectation here fails the test, so a new one can not
// go unread.
func TestNormalizeEveryFixture(t *testing.T) {
	type want struct {
		kinds   []connectors.EventKind
		ids     []string // OrderID for order events, SKU for stock
		ignored bool     // an error wrapping ErrIgnored
		fails   bool     // an error (an SP-API error answer): no events
	}
	wants := map[string]want{
		"getOrders_response.example.json":                                        {kinds: []connectors.EventKind{connectors.EventOrderChanged}, ids: []string{"902-3159896-1390916"}},
		"getOrders_response.sandbox_TEST_CASE_200.json":                          {kinds: []connectors.EventKind{connectors.EventOrderChanged, connectors.EventOrderChanged}, ids: []string{"902-1845936-5435065", "902-8745147-1934268"}},
		"getOrderItems_response.example.json":                                    {kinds: []connectors.EventKind{connectors.EventOrderChanged}, ids: []string{"903-1671087-0812628"}},
		"searchOrders_v2026-01-01_response.example.json":                         {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"123-4567890-1234567"}},
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-20.json": {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"171-2345678-9012345"}},
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-23.json": {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"202-7654321-1098765"}},
		// FBA: an order event without lines (Normalize keeps it; the poller asks for MERCHANT only).
		"searchOrders_v2026-01-01_response.sandbox_createdAfter_2024-12-25.json": {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"250-1234567-8901234"}},
		"searchOrders_v2026-01-01_response.sandbox_TEST_CASE_400.json":           {fails: true},
		"getOrder_v2026-01-01_response.example.json":                             {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"202-1234567-8901234"}},
		"getOrder_v2026-01-01_response.sandbox_028-1234567-8901234.json":         {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"028-1234567-8901234"}},
		"getOrder_v2026-01-01_response.sandbox_114-9876543-1234567.json":         {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"114-9876543-1234567"}},
		"getOrder_v2026-01-01_response.sandbox_171-9876543-2109876.json":         {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"171-9876543-2109876"}},
		"getOrder_v2026-01-01_response.sandbox_TEST_CASE_400.json":               {fails: true},
		"notification_ORDER_CHANGE.example.json":                                 {kinds: []connectors.EventKind{connectors.EventOrder}, ids: []string{"903-8868176-2219830"}},
		"notification_LISTINGS_ITEM_MFN_QUANTITY_CHANGE.example.json":            {kinds: []connectors.EventKind{connectors.EventStockChanged}, ids: []string{"NLS-SHOES-03"}},
		"notification_FEED_PROCESSING_FINISHED.example.json":                     {ignored: true},
		// Not event sources: parsed properly by TestFeedRequestFixture,
		// TestProcessingReportFixture and TestPatchResponseFixtures.
		"json_listings_feed_request.example.json":                    {},
		"json_listings_feed_processing_report.example.json":          {},
		"patchListingsItem_response.example.json":                    {},
		"patchListingsItem_response.sandbox_VALIDATION_INVALID.json": {},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := wants[name]
			if !ok {
				t.Fatalf("fixture %s has no expectation in this test", name)
			}
			events, err := connectors.Normalize(Kind, "amazon-us", readFixture(t, name))
			if w.fails {
				if err == nil || errors.Is(err, connectors.ErrIgnored) || len(events) != 0 || !strings.Contains(err.Error(), "InvalidInput") {
					t.Fatalf("got %v, %v; want an error naming Amazon's code", events, err)
				}
				return
			}
			if w.ignored {
				if !errors.Is(err, connectors.ErrIgnored) || len(events) != 0 {
					t.Fatalf("got %v, %v; want no events and ErrIgnored", events, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if len(events) != len(w.kinds) {
				t.Fatalf("got %d events, want %d: %+v", len(events), len(w.kinds), events)
			}
			for i, ev := range events {
				if ev.Kind != w.kinds[i] || ev.Channel != "amazon-us" {
					t.Errorf("event %d: kind %s channel %s, want %s amazon-us", i, ev.Kind, ev.Channel, w.kinds[i])
				}
				var id string
				switch ev.Kind {
				case connectors.EventOrderChanged:
					id = ev.OrderID
				case connectors.EventOrder:
					id = ev.Order.OrderID
					if err := ev.Order.Validate(); err != nil {
						t.Errorf("order invalid: %v", err)
					}
				case connectors.EventStockChanged:
					id = ev.Stock.SKU
				}
				if id != w.ids[i] {
					t.Errorf("event %d: id %q, want %q", i, id, w.ids[i])
				}
			}
		})
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("expected fixture %s is missing from testdata/", name)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not json", `<xml/>`},
		{"array", `[1,2]`},
		{"unknown object", `{"hello":"world"}`},
		{"unknown payload", `{"payload":{"Something":1}}`},
		{"order without id", `{"payload":{"Orders":[{"OrderStatus":"Pending","LastUpdateDate":"2024-01-01T00:00:00Z"}]}}`},
		{"order with unknown status", `{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Lost","LastUpdateDate":"2024-01-01T00:00:00Z"}]}}`},
		{"order with bad date", `{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Pending","LastUpdateDate":"yesterday"}]}}`},
		{"item without id", `{"payload":{"AmazonOrderId":"1","OrderItems":[{"SellerSKU":"A","QuantityOrdered":1}]}}`},
		{"searchOrders bad status", `{"orders":[{"orderId":"1","lastUpdatedTime":"2024-01-01T00:00:00Z","fulfillment":{"fulfillmentStatus":"LOST"}}]}`},
		{"feed without header", `{"header":{},"messages":[]}`},
		{"patch answer without status", `{"sku":"A","status":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ev, err := Normalize("c", []byte(tc.body)); err == nil || errors.Is(err, connectors.ErrIgnored) {
				t.Fatalf("got %v, %v; want an error", ev, err)
			}
		})
	}
}

// TestGetOrdersSandboxFixture: the static sandbox's odd CreatedBefore
// ("1.569521782042E9") and 1970 dates still parse.
func TestGetOrdersSandboxFixture(t *testing.T) {
	p, err := decodeOrdersPage(readFixture(t, "getOrders_response.sandbox_TEST_CASE_200.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Payload.Orders) != 2 || p.Payload.NextToken != "" {
		t.Fatalf("got %d orders, token %q", len(p.Payload.Orders), p.Payload.NextToken)
	}
	o, err := p.Payload.Orders[0].toOrder("c", []orderItemV0{{OrderItemID: "1", SellerSKU: "S", QuantityOrdered: 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(1970, 1, 19, 3, 58, 32, 0, time.UTC)
	if o.Status != connectors.StatusOpen || !o.UpdatedAt.Equal(want) {
		t.Errorf("status %s updated %s, want open %s", o.Status, o.UpdatedAt, want)
	}
}

// TestOrderItemsFixture reads the lines of getOrderItems and joins them to
// the getOrders fixture's order in each status.
func TestOrderItemsFixture(t *testing.T) {
	items, err := decodeOrderItemsPage(readFixture(t, "getOrderItems_response.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if items.Payload.NextToken == "" || len(items.Payload.OrderItems) != 2 {
		t.Fatalf("got %d items, token %q", len(items.Payload.OrderItems), items.Payload.NextToken)
	}
	page, err := decodeOrdersPage(readFixture(t, "getOrders_response.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	base := page.Payload.Orders[0]
	// ShippingAddress: CountryCode US, StateOrRegion MI.
	if o, err := base.toOrder("c", nil); err != nil || o.ShipTo == nil || *o.ShipTo != (connectors.Address{Country: "US", Region: "MI"}) {
		t.Errorf("ship to %+v (%v), want US/MI", o, err)
	}
	for _, tc := range []struct {
		status string
		want   connectors.OrderStatus
		lines  []connectors.Line
	}{
		{"Pending", connectors.StatusPending, []connectors.Line{
			{LineID: "68828574383266", SKU: "CBA_OTF_1", Quantity: 1, Shipped: 1},
			{LineID: "79039765272157", SKU: "CBA_OTF_5", Quantity: 2},
		}},
		{"Canceled", connectors.StatusCancelled, []connectors.Line{
			{LineID: "68828574383266", SKU: "CBA_OTF_1", Quantity: 1, Shipped: 1},
			{LineID: "79039765272157", SKU: "CBA_OTF_5", Quantity: 2, Cancelled: 2},
		}},
		{"PartiallyShipped", connectors.StatusPartiallyShipped, []connectors.Line{
			{LineID: "68828574383266", SKU: "CBA_OTF_1", Quantity: 1, Shipped: 1},
			{LineID: "79039765272157", SKU: "CBA_OTF_5", Quantity: 2},
		}},
	} {
		t.Run(tc.status, func(t *testing.T) {
			o := base
			o.OrderStatus = tc.status
			got, err := o.toOrder("amazon-us", items.Payload.OrderItems)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || got.OrderID != "902-3159896-1390916" || !reflect.DeepEqual(got.Lines, tc.lines) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		v0, v2026 string
		want      connectors.OrderStatus
	}{
		{"Pending", "PENDING", connectors.StatusPending},
		{"PendingAvailability", "PENDING_AVAILABILITY", connectors.StatusPending},
		{"Unshipped", "UNSHIPPED", connectors.StatusOpen},
		{"InvoiceUnconfirmed", "INVOICE_UNCONFIRMED", connectors.StatusShipped},
		{"PartiallyShipped", "PARTIALLY_SHIPPED", connectors.StatusPartiallyShipped},
		{"Shipped", "SHIPPED", connectors.StatusShipped},
		{"Canceled", "CANCELLED", connectors.StatusCancelled},
		{"Unfulfillable", "UNFULFILLABLE", connectors.StatusCancelled},
	} {
		if got, err := statusV0(tc.v0); err != nil || got != tc.want {
			t.Errorf("statusV0(%s) = %s, %v; want %s", tc.v0, got, err, tc.want)
		}
		if got, err := statusV2026(tc.v2026); err != nil || got != tc.want {
			t.Errorf("statusV2026(%s) = %s, %v; want %s", tc.v2026, got, err, tc.want)
		}
	}
	if _, err := statusV0("Shipping"); err == nil {
		t.Error("statusV0 took an unknown status")
	}
}

func TestSearchOrdersFixture(t *testing.T) {
	orders, next, err := decodeSearchOrders("amazon-us", readFixture(t, "searchOrders_v2026-01-01_response.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if next != "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4" || len(orders) != 1 {
		t.Fatalf("got %d orders, token %q", len(orders), next)
	}
	o := orders[0]
	want := []connectors.Line{
		{LineID: "12345678901234", SKU: "ECHO-DOT-4-CHARCOAL", Quantity: 2, Shipped: 2},
		{LineID: "12345678901235", SKU: "FIRE-TV-4K-2021", Quantity: 1, Shipped: 1},
	}
	if o.Status != connectors.StatusShipped || o.Name != "SELLER-ORDER-2024-001" || !reflect.DeepEqual(o.Lines, want) {
		t.Errorf("got %+v", o)
	}
	if !o.UpdatedAt.Equal(time.Date(2024, 12, 25, 14, 45, 0, 0, time.UTC)) {
		t.Errorf("updated_at %s", o.UpdatedAt)
	}
}

// TestFeedRequestFixture reads Amazon's example feed and checks that the
// pusher's own messages have the shape of its PATCH/merge message.
func TestFeedRequestFixture(t *testing.T) {
	raw := readFixture(t, "json_listings_feed_request.example.json")
	d, err := decodeFeedDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Header.SellerID != "AXXXXXXXXXXXX" || d.Header.Version != "2.0" || len(d.Messages) != 5 {
		t.Fatalf("header %+v, %d messages", d.Header, len(d.Messages))
	}
	ops := []string{}
	for _, m := range d.Messages {
		ops = append(ops, m.OperationType)
	}
	if strings.Join(ops, ",") != "DELETE,PARTIAL_UPDATE,UPDATE,PATCH,PATCH" {
		t.Errorf("operations %v", ops)
	}
	var fixture struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	c := &Connector{sellerID: "AXXXXXXXXXXXX", productType: "LUGGAGE"}
	ours := c.buildFeed([]connectors.QuantityUpdate{{SKU: "My-SKU-E", Quantity: 10}})
	ours.Messages[0].MessageID = 5
	got, err := json.Marshal(ours.Messages[0])
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, got, fixture.Messages[4]) {
		t.Errorf("our message\n%s\ndiffers from Amazon's\n%s", got, fixture.Messages[4])
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestProcessingReportFixture(t *testing.T) {
	r, err := decodeReport(readFixture(t, "json_listings_feed_processing_report.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.FeedID != "1234567890" || r.Summary.MessagesProcessed != 4 || r.Summary.MessagesInvalid != 2 {
		t.Fatalf("header %+v summary %+v", r.Header, r.Summary)
	}
	got := r.errorsByMessage()
	want := map[int64]string{
		4: "90220: '[batteries_required]' is required but not supplied.; 90220: '[supplier_declared_dg_hz_regulation]' is required but not supplied.",
		5: "99022: The field '\"prices\"' for the attribute 'purchasable_offer.our_price' does not have enough values. The required minimum is '1' value(s).",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors by message:\n%v\nwant\n%v", got, want)
	}
	// Messages 1-3 of a five-message feed had no ERROR: accepted.
	updates := []connectors.QuantityUpdate{{SKU: "A"}, {SKU: "B"}, {SKU: "C"}, {SKU: "My-SKU-B"}, {SKU: "My-SKU-C"}}
	res := feedResults("1234567890", feedDone, updates, r)
	for i, st := range []connectors.PushStatus{connectors.PushAccepted, connectors.PushAccepted, connectors.PushAccepted, connectors.PushFailed, connectors.PushFailed} {
		if res[i].Status != st {
			t.Errorf("message %d: %s, want %s", i+1, res[i].Status, st)
		}
	}
}

func TestPatchResponseFixtures(t *testing.T) {
	ok, err := decodePatchResponse(readFixture(t, "patchListingsItem_response.example.json"))
	if err != nil || ok.Status != "ACCEPTED" || ok.SKU != "GM-ZDPI-9B4E" || len(ok.Issues) != 0 {
		t.Fatalf("got %+v, %v", ok, err)
	}
	bad, err := decodePatchResponse(readFixture(t, "patchListingsItem_response.sandbox_VALIDATION_INVALID.json"))
	if err != nil || bad.Status != "INVALID" {
		t.Fatalf("got %+v, %v", bad, err)
	}
	if got := issueReason(bad.Issues); got != "90000900: The attributes are invalid." {
		t.Errorf("reason %q", got)
	}
}
