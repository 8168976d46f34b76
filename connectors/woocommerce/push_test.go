package woocommerce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/woocommerce/woocommercetest"
)

// catalog fills a fake with simple products P0…Pn-1, a variable product
// whose variations V0…V2 manage their own stock, and the listings the
// unmanaged cases need.
func catalog(t *testing.T, s *woocommercetest.Server, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		s.AddProduct(woocommercetest.Product{SKU: fmt.Sprintf("P%d", i), ManageStock: true, Stock: 1})
	}
	parent := s.AddProduct(woocommercetest.Product{SKU: "SHIRT", Type: "variable"})
	for i := 0; i < 3; i++ {
		if _, err := s.AddVariation(parent, woocommercetest.Product{SKU: fmt.Sprintf("V%d", i), ManageStock: true, Stock: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s.AddProduct(woocommercetest.Product{SKU: "UNMANAGED"})
	shared := s.AddProduct(woocommercetest.Product{SKU: "MUG", Type: "variable", ManageStock: true, Stock: 7})
	if _, err := s.AddVariation(shared, woocommercetest.Product{SKU: "MUG-RED"}); err != nil {
		t.Fatal(err)
	}
}

func listed(t *testing.T, s *woocommercetest.Server, sku string) int64 {
	t.Helper()
	q, ok := s.Listed(sku)
	if !ok {
		t.Fatalf("%s is not listed", sku)
	}
	return q
}

// TestPushQuantities: products through /products/batch, variations
// through their parent's /variations/batch, 100 a call, one result per
// update in order; SKUs resolved once and then from the cache.
func TestPushQuantities(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 150)
	f := newTestConnector(t, s, nil)
	var updates []connectors.QuantityUpdate
	for i := 0; i < 150; i++ {
		updates = append(updates, connectors.QuantityUpdate{SKU: fmt.Sprintf("P%d", i), Quantity: int64(i)})
	}
	updates = append(updates,
		connectors.QuantityUpdate{SKU: "V0", Quantity: 4},
		connectors.QuantityUpdate{SKU: "V1", Quantity: 0},
		connectors.QuantityUpdate{SKU: "NOPE", Quantity: 3},
		connectors.QuantityUpdate{SKU: "", Quantity: 3},
		connectors.QuantityUpdate{SKU: "V2", Quantity: -1},
		connectors.QuantityUpdate{SKU: "P0", Quantity: 99}, // P0 again: the last one wins
	)
	res, err := f.c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(updates) {
		t.Fatalf("%d results for %d updates", len(res), len(updates))
	}
	for i, r := range res {
		want := connectors.PushAccepted
		switch updates[i].SKU {
		case "NOPE":
			want = connectors.PushUnknownSKU
		case "":
			want = connectors.PushFailed
		case "V2":
			want = connectors.PushFailed
		}
		if r.Status != want || r.SKU != updates[i].SKU {
			t.Errorf("update %d (%s): %+v, want %s", i, updates[i].SKU, r, want)
		}
	}
	if q := listed(t, s, "P0"); q != 99 {
		t.Errorf("P0 lists %d, want 99 (the later update)", q)
	}
	if q := listed(t, s, "P149"); q != 149 {
		t.Errorf("P149 lists %d", q)
	}
	if q := listed(t, s, "V0"); q != 4 {
		t.Errorf("V0 lists %d", q)
	}
	if q := listed(t, s, "V2"); q != 1 {
		t.Errorf("V2 lists %d: a negative quantity must not be sent", q)
	}
	calls := s.Calls()
	if calls["POST /products/batch"] != 2 || calls["POST /products/{id}/variations/batch"] != 1 {
		t.Errorf("batch calls %v: want 2 product batches (150 > 100) and 1 variation batch", calls)
	}
	lookups := calls["GET /products"]
	again, err := f.c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if again := s.Calls()["GET /products"]; again != lookups {
		t.Errorf("the second push looked SKUs up again (%d → %d calls): the cache was not used", lookups, again)
	}
	accepted := 0
	for _, r := range append(res, again...) {
		if r.Status == connectors.PushAccepted {
			accepted++
		}
	}
	if accepted != 2*153 {
		t.Errorf("%d accepted over both pushes, want %d", accepted, 2*153)
	}
}

// TestPushUnmanagedStock: WooCommerce ignores stock_quantity where it
// does not manage stock; such items fail with a reason, are counted, and
// the connector never turns manage_stock on. Turned on by the merchant,
// the next push goes through (nothing about it is cached).
func TestPushUnmanagedStock(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 1)
	f := newTestConnector(t, s, nil)
	ctx := context.Background()
	res, err := f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "UNMANAGED", Quantity: 5}, {SKU: "MUG-RED", Quantity: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != connectors.PushFailed || !strings.Contains(res[0].Reason, "manage_stock false") {
		t.Errorf("unmanaged product: %+v", res[0])
	}
	if res[1].Status != connectors.PushFailed || !strings.Contains(res[1].Reason, "parent") {
		t.Errorf("variation sold from its parent's stock: %+v", res[1])
	}
	if _, ok := s.Listed("UNMANAGED"); ok {
		t.Error("the connector turned manage_stock on")
	}
	if q := listed(t, s, "MUG-RED"); q != 7 {
		t.Errorf("the parent's shared stock moved to %d", q)
	}
	if n := f.counter(t, "shelfsync_woocommerce_unmanaged_stock_total", "source", "push"); n != 2 {
		t.Errorf("unmanaged counted %v", n)
	}
	if err := s.SetManageStock("UNMANAGED", true); err != nil {
		t.Fatal(err)
	}
	res, err = f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "UNMANAGED", Quantity: 5}})
	if err != nil || res[0].Status != connectors.PushAccepted || listed(t, s, "UNMANAGED") != 5 {
		t.Fatalf("after manage_stock on: %+v %v", res, err)
	}
}

// TestPushItemErrors: an item's error is that item's result; the others
// in its batch are set.
func TestPushItemErrors(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 4)
	s.FailItem("P1", "woocommerce_rest_invalid_stock", "Stock quantity is invalid.", http.StatusBadRequest)
	s.FailItem("P2", "db_error", "Database went away.", http.StatusInternalServerError)
	s.FailItem("V1", "woocommerce_rest_product_variation_invalid", "Broken.", http.StatusBadRequest)
	f := newTestConnector(t, s, nil)
	ctx := context.Background()
	ups := []connectors.QuantityUpdate{{SKU: "P0", Quantity: 3}, {SKU: "P1", Quantity: 3}, {SKU: "P2", Quantity: 3}, {SKU: "P3", Quantity: 3}, {SKU: "V0", Quantity: 3}, {SKU: "V1", Quantity: 3}}
	res, err := f.c.PushQuantities(ctx, ups)
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.PushStatus{connectors.PushAccepted, connectors.PushFailed, connectors.PushRetry, connectors.PushAccepted, connectors.PushAccepted, connectors.PushFailed}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("%s: %+v, want %s", ups[i].SKU, r, want[i])
		}
	}
	if !strings.Contains(res[1].Reason, "woocommerce_rest_invalid_stock") || !strings.Contains(res[1].Reason, "Stock quantity is invalid.") {
		t.Errorf("reason %q", res[1].Reason)
	}
	if listed(t, s, "P0") != 3 || listed(t, s, "P3") != 3 || listed(t, s, "P1") != 1 {
		t.Error("the batch's other items were not set, or the failed one was")
	}

	// A product deleted since its SKU was cached: unknown, forgotten, and
	// looked up again on the next push.
	s.ClearFailures()
	if err := s.DeleteProduct("P3"); err != nil {
		t.Fatal(err)
	}
	res, err = f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "P3", Quantity: 1}, {SKU: "P0", Quantity: 1}})
	if err != nil || res[0].Status != connectors.PushUnknownSKU || res[1].Status != connectors.PushAccepted {
		t.Fatalf("deleted product: %+v %v", res, err)
	}
	s.AddProduct(woocommercetest.Product{SKU: "P3", ManageStock: true})
	res, err = f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "P3", Quantity: 8}})
	if err != nil || res[0].Status != connectors.PushAccepted || listed(t, s, "P3") != 8 {
		t.Fatalf("re-created product: %+v %v", res, err)
	}
	// A variable product deleted with its variations: the variations'
	// batch route answers 404, every item of it is unknown.
	if err := s.DeleteProduct("SHIRT"); err != nil {
		t.Fatal(err)
	}
	res, err = f.c.PushQuantities(ctx, []connectors.QuantityUpdate{{SKU: "V0", Quantity: 1}, {SKU: "V2", Quantity: 1}})
	if err != nil || res[0].Status != connectors.PushUnknownSKU || res[1].Status != connectors.PushUnknownSKU {
		t.Fatalf("deleted parent: %+v %v", res, err)
	}
}

// TestPushBatchLimit: a store whose batch limit is below 100 answers 413;
// the connector halves its batches until they pass, and keeps the lower
// size.
func TestPushBatchLimit(t *testing.T) {
	s := newFake(t, woocommercetest.Options{BatchLimit: 30})
	catalog(t, s, 100)
	f := newTestConnector(t, s, nil)
	var ups []connectors.QuantityUpdate
	for i := 0; i < 100; i++ {
		ups = append(ups, connectors.QuantityUpdate{SKU: fmt.Sprintf("P%d", i), Quantity: 5})
	}
	res, err := f.c.PushQuantities(context.Background(), ups)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != connectors.PushAccepted || listed(t, s, ups[i].SKU) != 5 {
			t.Fatalf("%s: %+v", ups[i].SKU, r)
		}
	}
	if got := f.c.batchLimit.Load(); got != 25 {
		t.Errorf("batch limit %d, want 25 (100 halved twice)", got)
	}
	if g := testutil.ToFloat64(f.c.metrics.batchLimitSeen); g != 25 {
		t.Errorf("gauge %v", g)
	}
	before := s.Calls()["POST /products/batch"]
	if _, err := f.c.PushQuantities(context.Background(), ups); err != nil {
		t.Fatal(err)
	}
	if n := s.Calls()["POST /products/batch"] - before; n != 4 {
		t.Errorf("%d calls for 100 items at 25 a call", n)
	}
}

// TestPushWholeCallErrors: auth and server failures fail the call (the
// engine retries the batch); a refused body fails its items.
func TestPushWholeCallErrors(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 1)
	bad := newTestConnector(t, s, func(_ *Settings, c *Credentials, _ *connectors.Deps) { c.ConsumerKey = secret("ck_revoked") })
	if res, err := bad.c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "P0", Quantity: 1}}); err == nil || res != nil {
		t.Fatalf("revoked key: %v %v", res, err)
	}
	f := newTestConnector(t, s, nil)
	if _, err := f.c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "P0", Quantity: 1}}); err != nil {
		t.Fatal(err) // the SKU is cached from here on
	}
	var status int
	stub := newStub(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	f.c.base = stub.URL + DefaultAPIPath
	for _, tt := range []struct {
		status int
		fails  bool
	}{{http.StatusInternalServerError, true}, {http.StatusTooManyRequests, true}, {http.StatusBadRequest, false}} {
		status = tt.status
		res, err := f.c.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "P0", Quantity: 1}})
		if tt.fails && (err == nil || res != nil) {
			t.Errorf("%d: %v %v, want the call to fail", tt.status, res, err)
		}
		if !tt.fails && (err != nil || res[0].Status != connectors.PushFailed) {
			t.Errorf("%d: %v %v, want the item failed", tt.status, res, err)
		}
	}
}

// TestMaxBatch: MaxBatch is what one batch call takes (WooCommerce's
// default 100), whatever the channel's batch_size: that cap is the
// pusher's (sync/push), applied before PushQuantities is called.
func TestMaxBatch(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	if n := newTestConnector(t, s, nil).c.MaxBatch(); n != 100 {
		t.Fatalf("MaxBatch %d", n)
	}
	f := newTestConnector(t, s, func(_ *Settings, _ *Credentials, d *connectors.Deps) { d.Channel.BatchSize = 40 })
	if n := f.c.MaxBatch(); n != 100 {
		t.Fatalf("MaxBatch with batch_size 40: %d, want 100", n)
	}
}

// TestResolveSKU: exact matches only (the store compares without case),
// variations with their parent, SKUs holding commas on their own.
func TestResolveSKU(t *testing.T) {
	s := newFake(t, woocommercetest.Options{})
	catalog(t, s, 1)
	s.AddProduct(woocommercetest.Product{SKU: "lower", ManageStock: true})
	s.AddProduct(woocommercetest.Product{SKU: "A,B", ManageStock: true})
	f := newTestConnector(t, s, nil)
	ctx := context.Background()
	ids, err := f.c.ResolveSKU(ctx, "V1")
	if err != nil || ids["product_id"] == "" || ids["variation_id"] == "" {
		t.Fatalf("variation: %v %v", ids, err)
	}
	if _, err := f.c.ResolveSKU(ctx, "LOWER"); err == nil {
		t.Fatal("LOWER resolved to lower: matches must be exact")
	}
	ids, err = f.c.ResolveSKU(ctx, "A,B")
	if err != nil || ids["product_id"] == "" {
		t.Fatalf("a SKU with a comma: %v %v", ids, err)
	}
	found, err := f.c.lookup(ctx, []string{"A", "B", "P0", "lower"})
	if err != nil || len(found) != 2 {
		t.Fatalf("lookup %v %v: A and B alone are not A,B", found, err)
	}
}
