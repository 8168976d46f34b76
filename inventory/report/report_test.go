package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// clock is a settable clock: the ledger's scripts take their time (the
// journal's) from Options.Now only.
type clock struct{ ms atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ms.Store(t.UnixMilli()) }
func (c *clock) Advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// shop is the known history of the report tests, written through the
// ledger's own API (receipts, order lines placed, shipped, cancelled and
// returned, a return booked as the ingester books one, a line moved to
// another location), its days 2026-11-01..03 UTC:
//
//	before the window (10-22): amazon o4 A×5
//	day 1 (11-01): shop o1 A×2; ebay o2 A×1 + C×3; shop o5 A×1 at main
//	day 2 (11-02): shop o1 shipped; ebay o2 C: 1 cancelled; amazon o4 cancelled
//	day 3 (11-03): shop o3 C×1 shipped at once; shop o1: 1 returned,
//	               restocked; ebay o2 C: 1 returned, written off (a
//	               return booked by Ledger.Return); shop o5 moved to back
//
// It returns the ledger and the report's now (day 3, 18:00).
func shop(t *testing.T) (*inventory.Ledger, time.Time) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	return shopOn(t, rdb, prefix)
}

func shopOn(t *testing.T, rdb redis.UniversalClient, prefix string) (*inventory.Ledger, time.Time) {
	t.Helper()
	ctx := context.Background()
	c := &clock{}
	c.Set(time.Date(2026, 10, 12, 9, 0, 0, 0, time.UTC))
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, Now: c.Now})
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	line := func(s inventory.LineState) {
		t.Helper()
		s.Version = c.Now().UnixMilli()
		if s.Location == "" {
			s.Location = "main"
		}
		must(l.ApplyLines(ctx, []inventory.LineState{s}))
	}
	must(l.Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 100}))
	must(l.Receive(ctx, inventory.Delta{Key: "r2", SKU: "A", Location: "back", Quantity: 10}))
	must(l.Receive(ctx, inventory.Delta{Key: "r3", SKU: "C", Location: "main", Quantity: 50}))
	must(l.SetReorder(ctx, inventory.Reorder{SKU: "A", Location: "main", Point: 5, Qty: ptr[int64](20)}, "test"))

	c.Set(time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC))
	line(inventory.LineState{Channel: "amazon", OrderID: "o4", LineID: "1", SKU: "A", Ordered: 5})

	c.Set(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	line(inventory.LineState{Channel: "shop", OrderID: "o1", LineID: "1", SKU: "A", Ordered: 2})
	c.Advance(time.Hour)
	must(l.ApplyLines(ctx, []inventory.LineState{ // one order, two SKUs, one call
		{Channel: "ebay", OrderID: "o2", LineID: "1", SKU: "A", Location: "main", Ordered: 1, Version: c.Now().UnixMilli()},
		{Channel: "ebay", OrderID: "o2", LineID: "2", SKU: "C", Location: "main", Ordered: 3, Version: c.Now().UnixMilli()},
	}))
	c.Advance(time.Hour)
	line(inventory.LineState{Channel: "shop", OrderID: "o5", LineID: "1", SKU: "A", Ordered: 1})

	c.Set(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	line(inventory.LineState{Channel: "shop", OrderID: "o1", LineID: "1", SKU: "A", Ordered: 2, Shipped: 2})
	line(inventory.LineState{Channel: "ebay", OrderID: "o2", LineID: "2", SKU: "C", Ordered: 3, Cancelled: 1})
	line(inventory.LineState{Channel: "amazon", OrderID: "o4", LineID: "1", SKU: "A", Ordered: 5, Cancelled: 5})

	c.Set(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC))
	line(inventory.LineState{Channel: "shop", OrderID: "o3", LineID: "1", SKU: "C", Ordered: 1, Shipped: 1})
	line(inventory.LineState{Channel: "shop", OrderID: "o1", LineID: "1", SKU: "A", Ordered: 2, Shipped: 2, Returned: 1, Restock: true})
	must(l.Return(ctx, inventory.ReturnOp{Key: "ebay:o2:ret-1:2", SKU: "C", Location: "main", Quantity: 1, Reason: "return ret-1"}))
	line(inventory.LineState{Channel: "shop", OrderID: "o5", LineID: "1", SKU: "A", Location: "back", Ordered: 1})
	return l, time.Date(2026, 11, 3, 18, 0, 0, 0, time.UTC)
}

func ptr[T any](v T) *T { return &v }

// TestSalesReportAgainstKnownOrders: every grouping's rows and total,
// against the orders shop placed, cancelled and returned.
func TestSalesReportAgainstKnownOrders(t *testing.T) {
	l, now := shop(t)
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // 10-22 is outside
	total := SalesRow{Key: "total", Orders: 4, Units: 8, CancelledOrders: 2, CancelledUnits: 6, ReturnedOrders: 2, ReturnedUnits: 2, NetUnits: 0}
	tests := []struct {
		by   Grouping
		rows []SalesRow
	}{
		{ByChannel, []SalesRow{
			{Key: "amazon", CancelledOrders: 1, CancelledUnits: 5, NetUnits: -5},
			{Key: "ebay", Orders: 1, Units: 4, CancelledOrders: 1, CancelledUnits: 1, ReturnedOrders: 1, ReturnedUnits: 1, NetUnits: 2},
			{Key: "shop", Orders: 3, Units: 4, ReturnedOrders: 1, ReturnedUnits: 1, NetUnits: 3},
		}},
		{BySKU, []SalesRow{ // net units, most first
			{Key: "C", Orders: 2, Units: 4, CancelledOrders: 1, CancelledUnits: 1, ReturnedOrders: 1, ReturnedUnits: 1, NetUnits: 2},
			{Key: "A", Orders: 3, Units: 4, CancelledOrders: 1, CancelledUnits: 5, ReturnedOrders: 1, ReturnedUnits: 1, NetUnits: -2},
		}},
		{ByDay, []SalesRow{
			{Key: "2026-11-01", Orders: 3, Units: 7, NetUnits: 7},
			{Key: "2026-11-02", CancelledOrders: 2, CancelledUnits: 6, NetUnits: -6},
			{Key: "2026-11-03", Orders: 1, Units: 1, ReturnedOrders: 2, ReturnedUnits: 2, NetUnits: -1},
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.by), func(t *testing.T) {
			s, err := SalesReport(context.Background(), l, from, now, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Rows, tc.rows) {
				t.Errorf("rows\n got %+v\nwant %+v", s.Rows, tc.rows)
			}
			if s.Total != total {
				t.Errorf("total %+v, want %+v", s.Total, total)
			}
			if s.SKUs != 2 || s.ShortJournals != 0 || !s.From.Equal(from) || !s.To.Equal(now) {
				t.Errorf("report %+v", s)
			}
		})
	}
}

// TestSalesReportWindow: the window's start cuts by the entries' time: from
// 11-02 on, shop's and ebay's sales of 11-01 are out, their later changes in.
func TestSalesReportWindow(t *testing.T) {
	l, now := shop(t)
	s, err := SalesReport(context.Background(), l, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), now, ByChannel)
	if err != nil {
		t.Fatal(err)
	}
	want := SalesRow{Key: "total", Orders: 1, Units: 1, CancelledOrders: 2, CancelledUnits: 6, ReturnedOrders: 2, ReturnedUnits: 2, NetUnits: -7}
	if s.Total != want {
		t.Fatalf("total %+v, want %+v", s.Total, want)
	}
	s, err = SalesReport(context.Background(), l, now.Add(-time.Hour), now, ByChannel)
	if err != nil || len(s.Rows) != 0 || s.Total != (SalesRow{Key: "total"}) || s.SKUs != 0 {
		t.Fatalf("an empty window: %+v %v", s, err)
	}
}

// TestStockReportAgainstKnownOrders: each SKU at each location, its
// reorder point there, units sold there and days of cover.
func TestStockReportAgainstKnownOrders(t *testing.T) {
	l, now := shop(t)
	rows, err := StockReport(context.Background(), l, now)
	if err != nil {
		t.Fatal(err)
	}
	// A main: 100 - 2 shipped + 1 restocked; ebay's 1 reserved. Sold 28d
	// there: +2 (o1) -1 (returned) +1 (o2) +1-1 (o5, moved) +5-5 (o4);
	// 7d: without o4's sale of 10-22: -3, so 0.
	want := []StockRow{
		{SKU: "A", Location: "back", OnHand: 10, Reserved: 1, Available: 9, Sold7: 1, Sold28: 1, Cover7: ptr(9 / (1.0 / 7)), Cover28: ptr(9 / (1.0 / 28))},
		{SKU: "A", Location: "main", OnHand: 99, Reserved: 1, Available: 98, ReorderPoint: ptr[int64](5), ReorderQty: ptr[int64](20), Sold7: 0, Sold28: 2, Cover28: ptr(98 / (2.0 / 28))},
		{SKU: "C", Location: "main", OnHand: 49, Reserved: 2, Available: 47, Sold7: 3, Sold28: 3, Cover7: ptr(47 / (3.0 / 7)), Cover28: ptr(47 / (3.0 / 28))},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if !sameStockRow(rows[i], want[i]) {
			t.Errorf("row %d\n got %s\nwant %s", i, strings.Join(stockFields(rows[i]), ","), strings.Join(stockFields(want[i]), ","))
		}
	}
	var b bytes.Buffer
	if err := WriteStock(&b, rows, CSV); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := [][]string{stockHeader,
		{"A", "back", "10", "1", "9", "", "", "1", "1", "63.0", "252.0", "false"},
		{"A", "main", "99", "1", "98", "5", "20", "0", "2", "", "1372.0", "false"},
		{"C", "main", "49", "2", "47", "", "", "3", "3", "109.7", "438.7", "false"},
	}
	if !reflect.DeepEqual(recs, wantCSV) {
		t.Errorf("csv\n got %q\nwant %q", recs, wantCSV)
	}
}

func sameStockRow(a, b StockRow) bool {
	near := func(x, y *float64) bool {
		return (x == nil) == (y == nil) && (x == nil || math.Abs(*x-*y) < 1e-9)
	}
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.SKU == b.SKU && a.Location == b.Location && a.OnHand == b.OnHand && a.Reserved == b.Reserved &&
		a.Available == b.Available && eq(a.ReorderPoint, b.ReorderPoint) && eq(a.ReorderQty, b.ReorderQty) &&
		a.Sold7 == b.Sold7 && a.Sold28 == b.Sold28 && near(a.Cover7, b.Cover7) && near(a.Cover28, b.Cover28) && a.JournalShort == b.JournalShort
}

// TestSalesReportOnACluster: on a Redis Cluster the report reads the
// journals of every primary (SCAN on each, pipelines split by node).
func TestSalesReportOnACluster(t *testing.T) {
	cl := redistest.StartCluster(t)
	cc := cl.Client(t)
	l, now := shopOn(t, cc, redistest.Prefix())
	nodes := map[string]bool{}
	for _, sku := range []string{"A", "C"} {
		m, err := cc.MasterForKey(context.Background(), "{"+sku+"}")
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.Options().Addr] = true
	}
	if len(nodes) != 2 {
		t.Fatalf("A and C sit on %d primaries, want 2", len(nodes))
	}
	s, err := SalesReport(context.Background(), l, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), now, BySKU)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 2 || s.Total.Orders != 4 || s.Total.Units != 8 || s.Total.NetUnits != 0 {
		t.Fatalf("report %+v", s)
	}
}

// TestLineMovement: each kind of line change, taken apart.
func TestLineMovement(t *testing.T) {
	tests := []struct {
		name   string
		dh, dr int64
		want   Movement
	}{
		{"sale reserves", 0, 3, Movement{Ordered: 3}},
		{"reserved line ships", -3, -3, Movement{Shipped: 3}},
		{"shipped at once", -2, 0, Movement{Ordered: 2, Shipped: 2}},
		{"cancel", 0, -1, Movement{Cancelled: 1}},
		{"restocked return", 1, 0, Movement{Returned: 1}},
		{"part shipped, rest cancelled", -1, -3, Movement{Shipped: 1, Cancelled: 2}},
		{"nothing", 0, 0, Movement{}},
	}
	for _, tc := range tests {
		if got := LineMovement(tc.dh, tc.dr); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestReturnAttribution: a return booked through Ledger.Return is
// attributed by its key; its written-off quantity read from its cause.
func TestReturnAttribution(t *testing.T) {
	tests := []struct {
		key, ch, order string
	}{
		{"ebay:o2:ret-1:2", "ebay", "o2"},
		{"shop:gid://shopify/Order/1:r:l", "shop", "gid://shopify/Order/1"},
		{"dmg-7", "-", "dmg-7"},
		{":a:b:c", "-", ":a:b:c"},
	}
	for _, tc := range tests {
		if ch, o := returnRef(tc.key); ch != tc.ch || o != tc.order {
			t.Errorf("%q: %q %q, want %q %q", tc.key, ch, o, tc.ch, tc.order)
		}
	}
	for cause, want := range map[string]string{"return ret-1 (2)": "2", "return 3": "3", "damaged": ""} {
		m := writeOffQty.FindStringSubmatch(cause)
		got := ""
		if m != nil {
			got = m[1] + m[2]
		}
		if got != want {
			t.Errorf("%q: %q, want %q", cause, got, want)
		}
	}
}
