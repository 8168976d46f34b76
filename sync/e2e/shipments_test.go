package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/sync/admin"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// TestShipmentsAgainstTheFakes: six Shopify orders (2 units of SKU-000
// each) are shipped by the warehouse, half through the admin API, half
// through the inbound stream, every shipment sent twice, two orders in two
// shipments whose stream entries arrive in reverse order; one order's
// channel update that has not seen its shipment arrives before the
// confirmation. Every shipment is confirmed on the fake exactly once with
// its tracking number, the channel's own later report of the shipments
// counts nothing twice, the ledger's on hand is the seeded stock minus
// the units shipped, every channel converges and the ledger verifies.
func TestShipmentsAgainstTheFakes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2) // SKU-000, SKU-001: 20 each
	ctx := context.Background()
	w.eventually("the stock is listed everywhere", w.converged)
	const orders = 6
	ids := make([]int64, orders)
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	for i := range ids {
		ids[i] = w.shop.AddOrder(shopifytest.Order{Name: fmt.Sprintf("#30%02d", i), UpdatedAt: t0, FinancialStatus: "PAID",
			Lines: []shopifytest.OrderLine{{ID: int64(500 + i), SKU: "SKU-000", Quantity: 2}}})
		w.shop.Sell("SKU-000", 2)
		w.shopWebhook("orders/create", ids[i], "create-"+strconv.Itoa(i))
	}
	w.eventually("the orders are reserved", w.figures("SKU-000", 20, 12))

	api := httptest.NewServer(admin.New(admin.Deps{Ledger: w.eng.Ledger(), Listings: w.eng, Channels: w.eng,
		DeadLetters: w.eng.Intake(), Shipments: w.eng.Shipments()}, "tok", zerolog.Nop()))
	defer api.Close()
	type ship struct {
		order int
		key   string
		qty   int64
	}
	// Orders 4 and 5 ship in two parts, b before a.
	var plan []ship
	for i := range 4 {
		plan = append(plan, ship{i, fmt.Sprintf("wms-%d", i), 2})
	}
	for i := 4; i < orders; i++ {
		plan = append(plan, ship{i, fmt.Sprintf("wms-%d-b", i), 1}, ship{i, fmt.Sprintf("wms-%d-a", i), 1})
	}
	tracking := map[string]string{}
	want := map[int64]map[string]bool{} // order id → its tracking numbers
	for i, s := range plan {
		tracking[s.key] = fmt.Sprintf("1Z999AA1%010d", i+1)
		if want[ids[s.order]] == nil {
			want[ids[s.order]] = map[string]bool{}
		}
		want[ids[s.order]][tracking[s.key]] = true
	}
	body := func(s ship) []byte {
		b, _ := json.Marshal(shipments.Request{Channel: "shop", OrderID: strconv.FormatInt(ids[s.order], 10),
			Lines: []shipments.RequestLine{{LineID: strconv.Itoa(500 + s.order), Quantity: s.qty}}, Carrier: "ups",
			TrackingNumber: tracking[s.key], ShippedAt: t0.Add(time.Minute), Location: "main", IdempotencyKey: s.key})
		return b
	}
	stream := w.eng.Inbound().Consumer().Stream()
	for n := range 2 { // every shipment twice
		for _, s := range plan {
			b := body(s)
			if s.order%2 == 0 {
				code := w.postShipment(api.URL, b)
				if want := []int{http.StatusCreated, http.StatusOK}[n]; code != want {
					t.Fatalf("API shipment %s (pass %d): %d, want %d", s.key, n, code, want)
				}
				continue
			}
			if err := w.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{shipments.StreamField: string(b)}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if n == 0 {
			// Order 0's channel state, not yet fulfilled on Shopify, arrives
			// after its shipment and (most likely) before its confirmation.
			w.shopWebhook("orders/updated", ids[0], "early-update")
		}
	}
	w.eventually("every shipment is confirmed once", func() (bool, string) {
		got := map[int64][]string{}
		for _, f := range w.shop.CreatedFulfillments() {
			if f.Fulfillment.Tracking != nil {
				got[f.OrderID] = append(got[f.OrderID], f.Fulfillment.Tracking.Number)
			}
		}
		for i, id := range ids {
			if len(got[id]) != len(want[id]) {
				return false, fmt.Sprintf("order %d: fulfillments %v, want %v", i, got[id], want[id])
			}
			seen := map[string]bool{}
			for _, tr := range got[id] {
				if !want[id][tr] || seen[tr] {
					return false, fmt.Sprintf("order %d: tracking %s is not one of its shipments', or twice", i, tr)
				}
				seen[tr] = true
			}
		}
		return true, ""
	})
	for _, f := range w.shop.CreatedFulfillments() {
		if f.Fulfillment.Tracking == nil || f.Fulfillment.Tracking.Company != "UPS" {
			t.Errorf("order %d: tracking %+v, want UPS", f.OrderID, f.Fulfillment.Tracking)
		}
	}
	// An order fulfilled on Shopify itself (the merchant in the admin)
	// arrives as an order update: the ledger ships it, nothing is sent
	// back to the channel.
	own := w.shop.AddOrder(shopifytest.Order{Name: "#3099", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 599, SKU: "SKU-001", Quantity: 3}}})
	w.shop.Sell("SKU-001", 3)
	w.shopWebhook("orders/create", own, "own-create")
	w.eventually("the channel's own order is reserved", w.figures("SKU-001", 20, 3))
	if !w.shop.Fulfill(own, shopifytest.Tracking{Company: "USPS", Number: "9400111899223197428490"}, map[int64]int64{599: 3}) {
		t.Fatal("the fake did not fulfil order #3099")
	}
	w.shopWebhook("orders/updated", own, "own-shipped")
	w.eventually("the channel's own shipment leaves the shelf", w.figures("SKU-001", 17, 0))
	// The channel reports the fulfilments it now holds: nothing twice.
	for i, id := range ids {
		w.shopWebhook("orders/updated", id, "shipped-"+strconv.Itoa(i))
	}
	w.eventually("on hand is the seeded stock minus the units shipped", w.figures("SKU-000", 8, 0))
	w.eventually("every channel lists the ledger's figures", w.converged)
	for i, id := range ids {
		views, err := w.eng.Shipments().ForOrder(ctx, "shop", strconv.FormatInt(id, 10))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			if v.State.Status != shipments.StatusConfirmed || !v.Applied {
				t.Errorf("order %d shipment %s: %+v applied %v", i, v.Key, v.State, v.Applied)
			}
		}
	}
	byOrder := map[int64]int{}
	for _, f := range w.shop.CreatedFulfillments() {
		byOrder[f.OrderID]++
	}
	if n := len(w.shop.CreatedFulfillments()) - byOrder[own]; n != 8 || byOrder[own] != 1 {
		t.Errorf("%d fulfillments of the shipments (want 8) and %d of the channel's own order (want 1: its own, never sent back)", n, byOrder[own])
	}
	if v, err := w.eng.Shipments().ForOrder(ctx, "shop", strconv.FormatInt(own, 10)); err != nil || len(v) != 0 {
		t.Errorf("the channel's own fulfilment became shipments %v (%v)", v, err)
	}
	if probs, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}

// figures: sku's on hand and reserved at main are these.
func (w *world) figures(sku string, onHand, reserved int64) func() (bool, string) {
	return func() (bool, string) {
		st, err := w.eng.Ledger().Stock(context.Background(), sku)
		if err != nil {
			return false, err.Error()
		}
		lv := st.Locations["main"]
		return lv.OnHand == onHand && lv.Reserved == reserved,
			fmt.Sprintf("%s on hand %d reserved %d, want %d and %d", sku, lv.OnHand, lv.Reserved, onHand, reserved)
	}
}

// postShipment posts a shipment to the admin API and returns the status.
func (w *world) postShipment(base string, body []byte) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/shipments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
