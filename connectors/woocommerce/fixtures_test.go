package woocommerce

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// TestFixturesAllUsed: every file in testdata is read by a test below
// (a new fixture must be given one).
func TestFixturesAllUsed(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{
		"order_retrieve_response.example.json": true, "orders_list_response.example.json": true,
		"order_update_response.example.json": true, "order_refunds_list_response.example.json": true,
		"product_retrieve_response.example.json": true, "products_list_response.example.json": true,
		"products_batch_response.example.json": true, "product_variation_retrieve_response.example.json": true,
		"product_variations_batch_response.example.json": true, "webhook_retrieve_response.example.json": true,
	}
	for _, f := range files {
		if !used[filepath.Base(f)] {
			t.Errorf("%s is read by no test", f)
		}
	}
	if len(files) != len(used) {
		t.Errorf("%d fixtures, %d known", len(files), len(used))
	}
}

// TestFixtureOrders: the documentation's order examples map, through the
// webhook path (signed) and Normalize alike.
func TestFixtureOrders(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	// The examples are from 2017: any clock after them will do.
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Now = func() time.Time { return testNow } })
	tests := []struct {
		file   string
		status connectors.OrderStatus
		lines  []connectors.Line
	}{
		{"order_retrieve_response.example.json", connectors.StatusOpen, []connectors.Line{
			{LineID: "315", Quantity: 2, NoSKU: true}, {LineID: "316", SKU: "Bar3", Quantity: 1}}},
		{"order_update_response.example.json", connectors.StatusShipped, []connectors.Line{
			{LineID: "315", Quantity: 2, Shipped: 2, NoSKU: true}, {LineID: "316", SKU: "Bar3", Quantity: 1, Shipped: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			ev, err := f.c.ParseWebhook(context.Background(), signed(t, s, "order.updated", body))
			if err != nil {
				t.Fatal(err)
			}
			o := ev[0].Order
			if o.OrderID != "727" || o.Name != "#727" || o.Status != tt.status || len(o.Lines) != len(tt.lines) {
				t.Fatalf("order %+v", o)
			}
			// shipping: country US, state CA.
			if o.ShipTo == nil || *o.ShipTo != (connectors.Address{Country: "US", Region: "CA"}) {
				t.Errorf("ship to %+v, want US/CA", o.ShipTo)
			}
			for i, l := range o.Lines {
				if l != tt.lines[i] {
					t.Errorf("line %d %+v, want %+v", i, l, tt.lines[i])
				}
			}
			if want := time.Date(2017, 3, 22, 19, 0, 0, 0, time.UTC); o.UpdatedAt.Before(want) || o.UpdatedAt.Hour() != 19 {
				t.Errorf("version %s: date_modified_gmt (19:…), not the site time (16:…)", o.UpdatedAt)
			}
			nev, err := Normalize("woo", body)
			if err != nil || len(nev) != 1 || nev[0].Order == nil || nev[0].Order.Status != tt.status {
				t.Fatalf("Normalize: %+v %v", nev, err)
			}
		})
	}
}

// TestFixtureOrderListAndRefunds: the list example through Normalize
// (order 723 names refunds: fetch it), and order 723 with the refunds
// example through the mapping: line 311's unit refunded after completion
// is a return.
func TestFixtureOrderListAndRefunds(t *testing.T) {
	list := readFixture(t, "orders_list_response.example.json")
	ev, err := Normalize("woo", list)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].Kind != connectors.EventOrder || ev[0].Order.OrderID != "727" ||
		ev[1].Kind != connectors.EventOrderChanged || ev[1].OrderID != "723" {
		t.Fatalf("events %+v", ev)
	}
	var orders []wcOrder
	if err := json.Unmarshal(list, &orders); err != nil {
		t.Fatal(err)
	}
	var refunds []wcRefund
	if err := json.Unmarshal(readFixture(t, "order_refunds_list_response.example.json"), &refunds); err != nil {
		t.Fatal(err)
	}
	res, err := newMapping("woo", "", nil).canonical(&orders[1], refunds)
	if err != nil {
		t.Fatal(err)
	}
	o := res.order
	want := []connectors.Line{
		{LineID: "311", Quantity: 1, Shipped: 1, Returned: 1, NoSKU: true},
		{LineID: "313", Quantity: 1, Shipped: 1, NoSKU: true},
	}
	if o.Status != connectors.StatusShipped || len(o.Lines) != 2 || o.Lines[0] != want[0] || o.Lines[1] != want[1] {
		t.Fatalf("order 723 with its refunds: %+v", o)
	}
	if _, err := Normalize("woo", readFixture(t, "order_refunds_list_response.example.json")); err == nil {
		t.Fatal("a refunds list alone was normalized")
	}
}

// TestFixtureOrdersThroughThePoller: the list example served as GET
// /orders and its refunds as GET /orders/723/refunds: the poller reads
// both pages' orders and order 723's refunds.
func TestFixtureOrdersThroughThePoller(t *testing.T) {
	list := readFixture(t, "orders_list_response.example.json")
	refunds := readFixture(t, "order_refunds_list_response.example.json")
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-WP-Total", "2")
		w.Header().Set("X-WP-TotalPages", "1")
		switch {
		case strings.HasSuffix(r.URL.Path, "/orders") && r.URL.Query().Get("status") == "any":
			_, _ = w.Write(list)
		case strings.HasSuffix(r.URL.Path, "/orders"):
			_, _ = w.Write([]byte("[]"))
		case strings.HasSuffix(r.URL.Path, "/orders/723/refunds"):
			_, _ = w.Write(refunds)
		default:
			http.NotFound(w, r)
		}
	})
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(st *Settings, _ *Credentials, d *connectors.Deps) {
		st.URL = stub.URL
		d.Now = func() time.Time { return testNow }
	})
	var got collect
	if _, err := f.c.PollOrders(context.Background(), time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), got.emit); err != nil {
		t.Fatal(err)
	}
	orders := got.orders()
	if len(orders) != 2 || orders["723"].Lines[0].Returned != 1 || orders["727"].Status != connectors.StatusOpen {
		t.Fatalf("orders %+v", orders)
	}
}

// TestFixtureProducts: the product and variation examples read as
// listings (none of them manages stock), through the SKU lookup.
func TestFixtureProducts(t *testing.T) {
	var one wcProduct
	if err := json.Unmarshal(readFixture(t, "product_retrieve_response.example.json"), &one); err != nil {
		t.Fatal(err)
	}
	l, err := one.listing()
	if err != nil || l.id != 794 || l.parent != 0 || l.manage != manageNo || l.stock.set {
		t.Fatalf("product 794: %+v %v", l, err)
	}
	var variation wcProduct
	if err := json.Unmarshal(readFixture(t, "product_variation_retrieve_response.example.json"), &variation); err != nil {
		t.Fatal(err)
	}
	if id, err := variation.ID.id("id"); err != nil || id != 732 || variation.ManageStock != manageNo {
		t.Fatalf("variation 732: %+v %v", variation, err)
	}
	var list []wcProduct
	if err := json.Unmarshal(readFixture(t, "products_list_response.example.json"), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v", err)
	}
	// Served as the answer of a SKU lookup: products without a SKU match
	// nothing, and nothing is read.
	body := readFixture(t, "products_list_response.example.json")
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(st *Settings, _ *Credentials, _ *connectors.Deps) { st.URL = stub.URL })
	got, err := f.c.ReadQuantities(context.Background(), []string{"premium-quality"})
	if err != nil || len(got) != 0 {
		t.Fatalf("read: %v %v", got, err)
	}
}

// TestFixtureBatchAnswers: the batch examples as the answers of a push:
// their updated items do not manage stock, so those pushes fail with
// that reason.
func TestFixtureBatchAnswers(t *testing.T) {
	products := readFixture(t, "products_batch_response.example.json")
	variations := readFixture(t, "product_variations_batch_response.example.json")
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case DefaultAPIPath + "/products/batch":
			_, _ = w.Write(products)
		case DefaultAPIPath + "/products/22/variations/batch":
			_, _ = w.Write(variations)
		default:
			http.NotFound(w, r)
		}
	})
	s := newFake(t, woocommercetest.Options{})
	f := newTestConnector(t, s, func(st *Settings, _ *Credentials, _ *connectors.Deps) { st.URL = stub.URL })
	ctx := context.Background()
	// The examples' updated items: product 799, variation 733 of product 22.
	f.c.cacheSet(ctx, skuKey("HOODIE"), "p:799", time.Hour)
	f.c.cacheSet(ctx, skuKey("SHIP-IDEA-BLACK"), "v:22:733", time.Hour)
	f.c.cacheSet(ctx, skuKey("GONE"), "p:12345", time.Hour)
	res, err := f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "HOODIE", Quantity: 3}, {SKU: "SHIP-IDEA-BLACK", Quantity: 3}, {SKU: "GONE", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []connectors.PushStatus{connectors.PushFailed, connectors.PushFailed, connectors.PushRetry} {
		if res[i].Status != want {
			t.Errorf("item %d: %+v, want %s", i, res[i], want)
		}
	}
	if !strings.Contains(res[0].Reason, "manage_stock false") {
		t.Errorf("reason %q", res[0].Reason)
	}
	var b wcBatch
	for _, raw := range [][]byte{products, variations} {
		if err := json.Unmarshal(raw, &b); err != nil || len(b.Update) != 1 {
			t.Fatalf("batch answer: %v", err)
		}
	}
}

// TestFixtureWebhookResource: the webhook example's topic is one this
// connector handles, and its resource and event are the topic's halves,
// as the fake's delivery headers carry them.
func TestFixtureWebhookResource(t *testing.T) {
	var w struct {
		Topic, Resource, Event, Status string
	}
	if err := json.Unmarshal(readFixture(t, "webhook_retrieve_response.example.json"), &w); err != nil {
		t.Fatal(err)
	}
	if w.Topic != topicUpdated || w.Resource+"."+w.Event != w.Topic || w.Status != "active" {
		t.Fatalf("webhook %+v", w)
	}
	s := newFake(t, woocommercetest.Options{})
	r := signed(t, s, w.Topic, []byte(`{}`))
	if r.Header.Get("X-WC-Webhook-Resource") != w.Resource || r.Header.Get("X-WC-Webhook-Event") != w.Event {
		t.Fatalf("fake headers %v", r.Header)
	}
}
