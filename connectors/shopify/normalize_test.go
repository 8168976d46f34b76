package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// TestNormalizeFixtures reads every fixture: each one normalizes into the
// events stated here (and into its golden file), or, for the inventory
// item and location lists that are not events, is recognised and refused
// with ErrIgnored.
func TestNormalizeFixtures(t *testing.T) {
	tests := []struct {
		file    string
		ignored bool
		check   func(t *testing.T, ev []connectors.Event)
	}{
		{file: "order_test_webhook_cancelled.go-shopify.json", check: func(t *testing.T, ev []connectors.Event) {
			o := onlyOrder(t, ev)
			want := connectors.Order{Channel: "shop", OrderID: "123456", Name: "#9999", Status: connectors.StatusCancelled}
			if o.OrderID != want.OrderID || o.Name != want.Name || o.Status != want.Status {
				t.Errorf("order = %s %s %s, want %s %s %s", o.OrderID, o.Name, o.Status, want.OrderID, want.Name, want.Status)
			}
			if got := o.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"); got != "2016-05-17T08:14:36Z" {
				t.Errorf("updated_at = %s, want 2016-05-17T08:14:36Z (04:14:36-04:00)", got)
			}
			if len(o.Lines) != 2 {
				t.Fatalf("%d lines, want 2", len(o.Lines))
			}
			for _, l := range o.Lines {
				if !l.NoSKU || l.SKU != "" || l.Quantity != 1 || l.Cancelled != 1 || l.Shipped != 0 || l.Open() != 0 {
					t.Errorf("line %+v: want a SKU-less line of 1 unit, cancelled", l)
				}
			}
		}},
		{file: "orders_list_response.go-shopify.json", check: func(t *testing.T, ev []connectors.Event) {
			o := onlyOrder(t, ev)
			if o.OrderID != "123456" || o.Status != connectors.StatusCancelled || len(o.Lines) != 2 || !o.Lines[0].NoSKU {
				t.Errorf("order = %+v", o)
			}
		}},
		{file: "order_rest_resource.shopify_python_api.json", check: func(t *testing.T, ev []connectors.Event) {
			o := onlyOrder(t, ev)
			// financial_status authorized: open. Its one fulfillment failed,
			// so nothing shipped.
			if o.OrderID != "450789469" || o.Name != "#1001" || o.Status != connectors.StatusOpen {
				t.Errorf("order = %s %s %s", o.OrderID, o.Name, o.Status)
			}
			// shipping_address: country_code US, province_code KY.
			if o.ShipTo == nil || *o.ShipTo != (connectors.Address{Country: "US", Region: "KY"}) {
				t.Errorf("ship to = %+v, want US/KY", o.ShipTo)
			}
			skus := []string{}
			for _, l := range o.Lines {
				skus = append(skus, l.SKU)
				if l.Quantity != 1 || l.Shipped != 0 || l.NoSKU {
					t.Errorf("line %+v: want 1 ordered, none shipped", l)
				}
			}
			if strings.Join(skus, ",") != "IPOD2008GREEN,IPOD2008RED,IPOD2008BLACK" {
				t.Errorf("skus = %v", skus)
			}
		}},
		{file: "refund_rest_resource.shopify_python_api.json", check: func(t *testing.T, ev []connectors.Event) {
			if len(ev) != 1 || ev[0].Kind != connectors.EventReturn || ev[0].Return == nil {
				t.Fatalf("events = %+v, want one return", ev)
			}
			r := ev[0].Return
			if r.OrderID != "450789469" || r.ReturnID != "509562969" || ev[0].OrderID != "450789469" {
				t.Errorf("return = %+v", r)
			}
			want := []connectors.ReturnLine{
				{LineID: "703073504", SKU: "IPOD2008BLACK", Quantity: 1, Restock: true, Received: true},
				{LineID: "466157049", SKU: "IPOD2008GREEN", Quantity: 1, Restock: true, Received: true},
			}
			if len(r.Lines) != len(want) {
				t.Fatalf("lines = %+v", r.Lines)
			}
			for i := range want {
				if r.Lines[i] != want[i] {
					t.Errorf("line %d = %+v, want %+v", i, r.Lines[i], want[i])
				}
			}
		}},
		{file: "inventory_level_set_response.go-shopify.json", check: func(t *testing.T, ev []connectors.Event) {
			if len(ev) != 1 || ev[0].Stock == nil {
				t.Fatalf("events = %+v", ev)
			}
			s := ev[0].Stock
			if s.ItemID != "808950810" || s.Quantity != 6 || s.ChannelLocation != "gid://shopify/Location/905684977" || s.SKU != "" {
				t.Errorf("stock = %+v", s)
			}
		}},
		{file: "inventory_levels_list_response.go-shopify.json", check: func(t *testing.T, ev []connectors.Event) {
			var got []string
			for _, e := range ev {
				got = append(got, e.Stock.ItemID+"@"+e.Stock.ChannelLocation[len("gid://shopify/Location/"):]+"="+itoa(e.Stock.Quantity))
			}
			if want := "808950810@487838322=9 39072856@487838322=27 808950810@905684977=1 39072856@905684977=3"; strings.Join(got, " ") != want {
				t.Errorf("levels = %v, want %s", got, want)
			}
		}},
		{file: "graphql_orders_page.json", check: func(t *testing.T, ev []connectors.Event) {
			if len(ev) != 2 {
				t.Fatalf("%d events, want 2", len(ev))
			}
			a, b := ev[0].Order, ev[1].Order
			if a.OrderID != "5001" || a.Status != connectors.StatusPartiallyShipped {
				t.Errorf("order a = %s %s", a.OrderID, a.Status)
			}
			if a.ShipTo == nil || *a.ShipTo != (connectors.Address{Country: "US", Region: "CA"}) || b.ShipTo != nil {
				t.Errorf("ship to = %+v and %+v, want US/CA and none (a POS sale)", a.ShipTo, b.ShipTo)
			}
			wantA := connectors.Line{LineID: "9001", SKU: "IPOD2008GREEN", Quantity: 3, Shipped: 2, Returned: 1, Restock: true}
			if a.Lines[0] != wantA {
				t.Errorf("line = %+v, want %+v", a.Lines[0], wantA)
			}
			if l := a.Lines[1]; !l.NoSKU || l.Shipped != 0 || l.Open() != 1 {
				t.Errorf("custom line = %+v: a cancelled fulfillment ships nothing", l)
			}
			// Refunded (restock type CANCEL) and cancelled: the ordered 2
			// stay the quantity, both are cancelled.
			if l := b.Lines[0]; b.Status != connectors.StatusCancelled || l.Quantity != 2 || l.Cancelled != 2 || l.Open() != 0 {
				t.Errorf("order b = %+v", b)
			}
		}},
		{file: "inventory_items_list_response.go-shopify.json", ignored: true},
		{file: "locations_list_response.go-shopify.json", ignored: true},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(tests) {
		t.Errorf("testdata holds %d fixtures, the table %d: every fixture needs a case", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Normalize("shop", data)
			if tt.ignored {
				if !errors.Is(err, connectors.ErrIgnored) || len(ev) != 0 {
					t.Fatalf("Normalize = %d events, %v; want ErrIgnored", len(ev), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			for _, e := range ev {
				if e.Channel != "shop" {
					t.Errorf("event channel %q", e.Channel)
				}
				if e.Order != nil {
					if err := e.Order.Validate(); err != nil {
						t.Errorf("order invalid: %v", err)
					}
				}
			}
			tt.check(t, ev)
			golden(t, tt.file, ev)
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"order":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"unknown object", `{"customer":{"id":1}}`, "not a Shopify order"},
		{"order without id", `{"order":{"name":"#1","updated_at":"2026-01-01T00:00:00Z","line_items":[]}}`, "missing or bad id"},
		{"order without updated_at", `{"id":1,"line_items":[]}`, "no updated_at"},
		{"line without id", `{"id":1,"updated_at":"2026-01-01T00:00:00Z","line_items":[{"sku":"A","quantity":1}]}`, "line_items[0]"},
		{"quantity not a number", `{"id":1,"updated_at":"2026-01-01T00:00:00Z","line_items":[{"id":2,"sku":"A","quantity":"x"}]}`, "reading order"},
		{"refund without order", `{"refund":{"id":3,"refund_line_items":[]}}`, "without an id or order_id"},
		{"graphql errors", `{"errors":[{"message":"Throttled"}]}`, "holds errors"},
		{"graphql other data", `{"data":{"shop":{"name":"x"}}}`, "neither data.orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Normalize("shop", []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Normalize = %v, %v; want an error with %q", ev, err, tt.want)
			}
		})
	}
}

func onlyOrder(t *testing.T, ev []connectors.Event) *connectors.Order {
	t.Helper()
	if len(ev) != 1 || ev[0].Kind != connectors.EventOrder || ev[0].Order == nil {
		t.Fatalf("events = %+v, want one order", ev)
	}
	return ev[0].Order
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// golden compares ev with testdata/golden/<file>, or rewrites it with -update.
func golden(t *testing.T, file string, ev []connectors.Event) {
	t.Helper()
	got, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n%s", path, got)
	}
}
