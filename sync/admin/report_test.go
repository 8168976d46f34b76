package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/report"
)

// TestReportsAPI: the sales and stock reports over orders placed through
// the ledger, in each format, behind the token; bad input is 400 with the
// accepted values.
func TestReportsAPI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix, Now: func() time.Time { return now }})
	if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.ApplyLines(ctx, []inventory.LineState{
		{Channel: "shop", OrderID: "1", LineID: "a", SKU: "A", Location: "main", Ordered: 3, Version: 1},
		{Channel: "ebay", OrderID: "2", LineID: "a", SKU: "A", Location: "main", Ordered: 1, Shipped: 1, Version: 1},
	}); err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Reports: &Reports{Ledger: l, Now: func() time.Time { return now.Add(time.Hour) }}}, "tok", zerolog.Nop())
	steps := []struct {
		name, path string
		code       int
		ctype      string
		want       []string
	}{
		{"sales, json by default", "/api/v1/reports/sales", 200, "application/json", []string{`"by":"channel"`, `"key":"ebay","orders":1,"units":1`, `"key":"shop","orders":1,"units":3`, `"key":"total","orders":2,"units":4`}},
		{"sales by sku, csv", "/api/v1/reports/sales?since=30d&by=sku&format=csv", 200, "text/csv", []string{"sku,orders,units", "A,2,4,0,0,0,0,4\n", "total,2,4,0,0,0,0,4\n"}},
		{"sales by day, table", "/api/v1/reports/sales?by=day&format=table", 200, "text/plain", []string{"2026-11-20", "NET UNITS"}},
		{"a window after the sales", "/api/v1/reports/sales?since=2026-11-20T12:30:00Z", 200, "application/json", []string{`"rows":[]`, `"key":"total","orders":0`}},
		{"stock, json", "/api/v1/reports/stock", 200, "application/json", []string{`"sku":"A","location":"main","on_hand":19,"reserved":3,"available":16`, `"sold_28d":4`}},
		{"stock, csv", "/api/v1/reports/stock?format=csv", 200, "text/csv", []string{"sku,location,on_hand", "A,main,19,3,16,,,4,4,28.0,112.0,false"}},
		{"bad period", "/api/v1/reports/sales?since=yesterday", 400, "application/json", []string{`since \"yesterday\" is not a period`, "7d, 30d"}},
		{"bad grouping", "/api/v1/reports/sales?by=week", 400, "application/json", []string{"channel, sku, day"}},
		{"bad format", "/api/v1/reports/stock?format=xml", 400, "application/json", []string{"table, csv, json"}},
		{"unknown parameter", "/api/v1/reports/stock?since=7d", 400, "application/json", []string{"unknown parameter since"}},
		{"twice", "/api/v1/reports/sales?by=sku&by=day", 400, "application/json", []string{"more than once"}},
	}
	for _, s := range steps {
		w := do(h, "GET", s.path, "tok", "")
		if w.Code != s.code || !strings.HasPrefix(w.Header().Get("Content-Type"), s.ctype) {
			t.Errorf("%s: %d %s %s, want %d %s", s.name, w.Code, w.Header().Get("Content-Type"), w.Body.String(), s.code, s.ctype)
			continue
		}
		body := w.Body.String()
		if s.ctype == "application/json" {
			var b bytes.Buffer // compact, for the substrings
			if err := json.Compact(&b, w.Body.Bytes()); err != nil {
				t.Errorf("%s: not JSON: %v", s.name, err)
			}
			body = b.String()
		}
		for _, want := range s.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s: answer lacks %s: %s", s.name, want, body)
			}
		}
	}
	if w := do(h, "GET", "/api/v1/reports/sales", "", ""); w.Code != 401 {
		t.Errorf("no token: %d", w.Code)
	}
	var s report.Sales
	if err := json.Unmarshal(do(h, "GET", "/api/v1/reports/sales?by=sku", "tok", "").Body.Bytes(), &s); err != nil || len(s.Rows) != 1 || s.Rows[0].NetUnits != 4 {
		t.Errorf("sales by sku: %+v %v", s, err)
	}
}
