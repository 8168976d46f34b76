package woocommerce

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

// ol is an order line in a test order: {id, sku, quantity, restocked}.
type ol struct {
	id        int64
	sku       any // string, or nil for null
	qty       any // int64, or a raw JSON value (string)
	restocked int64
}

// rf is a refund in a test order: its date and (line id → units).
type rf struct {
	created string
	units   map[int64]int64
}

// buildOrder makes a WooCommerce order resource and its refunds list as
// the REST API answers them.
func buildOrder(t *testing.T, status, modified, completed string, lines []ol, refunds []rf) (*wcOrder, []wcRefund) {
	t.Helper()
	items := []map[string]any{}
	for _, l := range lines {
		meta := []map[string]any{}
		if l.restocked > 0 {
			meta = append(meta, map[string]any{"id": 1, "key": "_restock_refunded_items", "value": l.restocked})
		}
		q := l.qty
		if s, ok := q.(string); ok {
			q = json.RawMessage(s)
		}
		items = append(items, map[string]any{"id": l.id, "product_id": 9, "variation_id": 0, "quantity": q, "sku": l.sku, "meta_data": meta})
	}
	var refs []map[string]any
	var rs []map[string]any
	for i, r := range refunds {
		id := 900 + i
		refs = append(refs, map[string]any{"id": id, "reason": "", "total": "-1.00"})
		var rl []map[string]any
		for line, n := range r.units {
			rl = append(rl, map[string]any{"id": 5000 + line, "quantity": -n, "meta_data": []map[string]any{{"id": 7, "key": "_refunded_item_id", "value": jsonString(line)}}})
		}
		rs = append(rs, map[string]any{"id": id, "date_created_gmt": r.created, "line_items": rl})
	}
	o := map[string]any{"id": 727, "number": "727", "status": status, "date_created_gmt": "2026-04-01T10:00:00",
		"date_modified_gmt": modified, "line_items": items, "refunds": refs}
	if completed != "" {
		o["date_completed_gmt"] = completed
	} else {
		o["date_completed_gmt"] = nil
	}
	var order wcOrder
	mustRoundTrip(t, o, &order)
	var refundList []wcRefund
	if rs != nil {
		mustRoundTrip(t, rs, &refundList)
	}
	return &order, refundList
}

func jsonString(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func mustRoundTrip(t *testing.T, v, out any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

// TestCanonical covers the mapping rules documented on mapping.canonical:
// statuses, refunds before and after completion, restock, trash.
func TestCanonical(t *testing.T) {
	const (
		mod       = "2026-04-01T12:00:05"
		completed = "2026-04-01T11:00:00"
		before    = "2026-04-01T10:30:00"
		after     = "2026-04-01T11:30:00"
	)
	line := func(q int64) []ol { return []ol{{id: 10, sku: "A", qty: q}} }
	tests := []struct {
		name       string
		status     string
		completed  string
		lines      []ol
		refunds    []rf
		overrides  map[string]string
		wantStatus connectors.OrderStatus
		want       connectors.Line
		unknown    bool
	}{
		{name: "processing: to ship", status: "processing", lines: line(2),
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}},
		{name: "pending: holds stock as pending", status: "pending", lines: line(2),
			wantStatus: connectors.StatusPending, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}},
		{name: "on-hold: holds stock as pending", status: "on-hold", lines: line(2),
			wantStatus: connectors.StatusPending, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}},
		{name: "completed: every unit shipped", status: "completed", completed: completed, lines: line(3),
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 3}},
		{name: "cancelled: every unit cancelled, quantity kept", status: "cancelled", lines: line(3),
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 3}},
		{name: "failed: nothing ships", status: "failed", lines: line(3),
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 3}},
		{name: "trash: cancelled", status: "trash", lines: line(3),
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 3}},
		{name: "trash after completion keeps what shipped", status: "trash", completed: completed, lines: line(3),
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 3}},
		{name: "refunded before shipping: cancelled", status: "refunded", lines: line(2), refunds: []rf{{created: before, units: map[int64]int64{10: 2}}},
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 2}},
		{name: "refunded without refund lines, never completed: cancelled", status: "refunded", lines: line(2),
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 2}},
		{name: "refunded after completion, restocked: returned and restocked", status: "refunded", completed: completed, lines: []ol{{id: 10, sku: "A", qty: int64(2), restocked: 2}},
			refunds:    []rf{{created: after, units: map[int64]int64{10: 2}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2, Returned: 2, Restock: true}},
		{name: "refunded after completion, not restocked: returned, written off", status: "refunded", completed: completed, lines: line(2),
			refunds:    []rf{{created: after, units: map[int64]int64{10: 2}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2, Returned: 2}},
		{name: "partial refund while processing: a cancel, the rest open", status: "processing", lines: line(3),
			refunds:    []rf{{created: before, units: map[int64]int64{10: 1}}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Cancelled: 1}},
		{name: "every unit refunded while processing: cancelled", status: "processing", lines: line(2),
			refunds:    []rf{{created: before, units: map[int64]int64{10: 2}}},
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 2}},
		{name: "refund before completion, then completed: cancel, the rest shipped", status: "completed", completed: completed,
			lines: []ol{{id: 10, sku: "A", qty: int64(3), restocked: 1}}, refunds: []rf{{created: before, units: map[int64]int64{10: 1}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 3, Shipped: 2, Cancelled: 1}},
		{name: "cancel before and a restocked return after completion", status: "completed", completed: completed,
			lines:      []ol{{id: 10, sku: "A", qty: int64(4), restocked: 2}},
			refunds:    []rf{{created: before, units: map[int64]int64{10: 1}}, {created: after, units: map[int64]int64{10: 1}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 4, Shipped: 3, Cancelled: 1, Returned: 1, Restock: true}},
		{name: "returns mostly written off: not restocked", status: "completed", completed: completed,
			lines:      []ol{{id: 10, sku: "A", qty: int64(4), restocked: 1}},
			refunds:    []rf{{created: after, units: map[int64]int64{10: 3}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 4, Shipped: 4, Returned: 3}},
		{name: "refund on the completion second is a return", status: "completed", completed: completed, lines: line(1),
			refunds:    []rf{{created: completed, units: map[int64]int64{10: 1}}},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1, Shipped: 1, Returned: 1}},
		{name: "more refunded than ordered is clamped", status: "processing", lines: line(1),
			refunds:    []rf{{created: before, units: map[int64]int64{10: 5}}},
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1, Cancelled: 1}},
		{name: "a refund of another line (shipping, fee) moves nothing", status: "processing", lines: line(1),
			refunds:    []rf{{created: before, units: map[int64]int64{99: 1}}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1}},
		{name: "a line without a SKU is kept, NoSKU", status: "processing", lines: []ol{{id: 10, sku: "", qty: int64(1)}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", Quantity: 1, NoSKU: true}},
		{name: "a deleted product's line (sku null) is NoSKU", status: "processing", lines: []ol{{id: 10, sku: nil, qty: int64(1)}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", Quantity: 1, NoSKU: true}},
		{name: "SKU spaces are trimmed", status: "processing", lines: []ol{{id: 10, sku: " A ", qty: int64(1)}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1}},
		{name: "quantity 2.0 is 2", status: "processing", lines: []ol{{id: 10, sku: "A", qty: "2.0"}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}},
		{name: "quantity as a string", status: "processing", lines: []ol{{id: 10, sku: "A", qty: `"2"`}},
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2}},
		{name: "a plugin's status reserves as open, counted", status: "awaiting-shipment", lines: line(1), unknown: true,
			wantStatus: connectors.StatusOpen, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1}},
		{name: "a plugin's status mapped to shipped", status: "shipped", lines: line(2), overrides: map[string]string{"shipped": "shipped"},
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Shipped: 2}},
		{name: "a core status remapped: pending releases", status: "pending", lines: line(2), overrides: map[string]string{"pending": "cancelled"},
			wantStatus: connectors.StatusCancelled, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 2, Cancelled: 2}},
		{name: "status case is ignored", status: "Completed", completed: completed, lines: line(1),
			wantStatus: connectors.StatusShipped, want: connectors.Line{LineID: "10", SKU: "A", Quantity: 1, Shipped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, refunds := buildOrder(t, tt.status, mod, tt.completed, tt.lines, tt.refunds)
			res, err := newMapping("woo", "berlin", tt.overrides).canonical(o, refunds)
			if err != nil {
				t.Fatal(err)
			}
			got := res.order
			if got.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", got.Status, tt.wantStatus)
			}
			if len(got.Lines) != 1 || !reflect.DeepEqual(got.Lines[0], tt.want) {
				t.Errorf("lines %+v, want %+v", got.Lines, tt.want)
			}
			if res.unknownStatus != tt.unknown {
				t.Errorf("unknown status %v, want %v", res.unknownStatus, tt.unknown)
			}
			if got.OrderID != "727" || got.Name != "#727" || got.Channel != "woo" || got.Location != "berlin" {
				t.Errorf("order %+v", got)
			}
			if got.UpdatedAt.Format("2006-01-02T15:04:05") != mod {
				t.Errorf("version %s, want %s", got.UpdatedAt, mod)
			}
		})
	}
}

// TestCanonicalProgress: the states an order goes through are progress,
// never a lower figure: what lets the ledger take a later state of the
// same second (date_modified_gmt has whole seconds).
func TestCanonicalProgress(t *testing.T) {
	const sec = "2026-04-01T12:00:05"
	m := newMapping("woo", "", nil)
	states := []struct {
		status    string
		completed string
		refunds   []rf
	}{
		{status: "processing"},
		{status: "processing", refunds: []rf{{created: sec, units: map[int64]int64{10: 1}}}},
		{status: "cancelled", refunds: []rf{{created: sec, units: map[int64]int64{10: 1}}}},
	}
	var prev *connectors.Line
	for i, st := range states {
		o, refunds := buildOrder(t, st.status, sec, st.completed, []ol{{id: 10, sku: "A", qty: int64(3)}}, st.refunds)
		res, err := m.canonical(o, refunds)
		if err != nil {
			t.Fatal(err)
		}
		l := res.order.Lines[0]
		if prev != nil {
			if l.Quantity < prev.Quantity || l.Shipped < prev.Shipped || l.Cancelled < prev.Cancelled || l.Returned < prev.Returned {
				t.Fatalf("state %d %+v is lower than %+v", i, l, *prev)
			}
			if l == *prev {
				t.Fatalf("state %d %+v is no further along", i, l)
			}
		}
		prev = &l
	}
	if prev.Quantity != 3 || prev.Cancelled != 3 {
		t.Fatalf("last state %+v", *prev)
	}
}

// TestCanonicalRefusals: what the ledger would refuse is a refusal with
// its reason; what can not be read is a plain error; drafts are not orders.
func TestCanonicalRefusals(t *testing.T) {
	const mod = "2026-04-01T12:00:05"
	tests := []struct {
		name    string
		status  string
		mod     string
		lines   []ol
		refunds []rf
		reason  string // "" : a plain error
		draft   bool
	}{
		{name: "negative quantity", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(-1)}}, reason: "quantity"},
		{name: "quantity past 10^12", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(connectors.MaxQuantity + 1)}}, reason: "quantity"},
		{name: "fractional quantity", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: "1.5"}}, reason: "quantity"},
		{name: "quantity not a number", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: `"many"`}}},
		{name: "control character in a SKU", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A\x1fB", qty: int64(1)}}, reason: "identifier"},
		{name: "C1 control in a SKU", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A\u0085", qty: int64(1)}}, reason: "identifier"},
		{name: "SKU ..", status: "processing", mod: mod, lines: []ol{{id: 1, sku: " .. ", qty: int64(1)}}, reason: "identifier"},
		{name: "version before 1970", status: "processing", mod: "1969-12-31T23:59:59", lines: []ol{{id: 1, sku: "A", qty: int64(1)}}, reason: "version"},
		{name: "refunded units past 10^12", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(1)}},
			refunds: []rf{{created: mod, units: map[int64]int64{1: connectors.MaxQuantity + 1}}}, reason: "quantity"},
		{name: "refund line with a positive quantity", status: "processing", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(1)}},
			refunds: []rf{{created: mod, units: map[int64]int64{1: -1}}}, reason: "quantity"},
		{name: "no status", status: "", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(1)}}},
		{name: "no date", status: "processing", mod: "", lines: []ol{{id: 1, sku: "A", qty: int64(1)}}},
		{name: "line id 0", status: "processing", mod: mod, lines: []ol{{id: 0, sku: "A", qty: int64(1)}}},
		{name: "checkout draft", status: "checkout-draft", mod: mod, lines: []ol{{id: 1, sku: "A", qty: int64(1)}}, draft: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, refunds := buildOrder(t, tt.status, tt.mod, "", tt.lines, tt.refunds)
			if tt.mod == "" {
				o.DateCreatedGMT = wcTime{}
			}
			_, err := newMapping("woo", "", nil).canonical(o, refunds)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := connectors.RefusalReason(err); got != tt.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tt.reason, err)
			}
			if errors.Is(err, errNotAnOrder) != tt.draft {
				t.Fatalf("draft %v: %v", !tt.draft, err)
			}
		})
	}
}

// TestCanonicalVariousShapes: fields WooCommerce may send as numbers or
// strings read alike; a wrong JSON type is unreadable.
func TestCanonicalVariousShapes(t *testing.T) {
	m := newMapping("woo", "", nil)
	good := []string{
		`{"id":1,"number":1001,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":[{"id":"2","sku":"A","quantity":1,"meta_data":[{"key":"_restock_refunded_items","value":"0"}]}]}`,
		`{"id":"1","status":"processing","date_modified_gmt":"2026-04-01T12:00:05Z","line_items":[]}`,
		`{"id":1,"status":"processing","date_modified_gmt":null,"date_created_gmt":"2026-04-01T12:00:05","line_items":[]}`,
	}
	for _, b := range good {
		var o wcOrder
		if err := decodeObject([]byte(b), &o); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if _, err := m.canonical(&o, nil); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	bad := []string{
		`{"id":1,"status":"processing","date_modified_gmt":"yesterday","line_items":[]}`,
		`{"id":1,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":{}}`,
		`{"id":true,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":[]}`,
		`{"id":1,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":[]} {"id":2}`,
		`{"id":99999999999999999999,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":[]}`,
		`{"id":1,"status":"processing","date_modified_gmt":"2026-04-01T12:00:05","line_items":[{"id":2,"quantity":1,"sku":"A"},{"id":2,"quantity":1,"sku":"B"}]}`,
	}
	for _, b := range bad {
		var o wcOrder
		err := decodeObject([]byte(b), &o)
		if err == nil {
			_, err = m.canonical(&o, nil)
		}
		if err == nil {
			t.Fatalf("%s: accepted", b)
		}
	}
}
