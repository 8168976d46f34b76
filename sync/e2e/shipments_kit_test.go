package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/admin"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// TestShipKitAndPackLines: a Shopify order of 2 × K1 (a kit: 2 SKU-000
// and 1 SKU-001 each) and an Amazon order of 2 × PACK-6 (a listing of 6
// SKU-001) are shipped by the warehouse naming the channels' lines: the
// kit line by its id (2 kits), the pack by its listing SKU (1 pack, then
// the other). The ledger ships the components and the packs' units; each
// channel confirms its own line in its own units (Shopify's line 31 × 2,
// Amazon's item P1 × 1 in each of two packages).
func TestShipKitAndPackLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2) // SKU-000, SKU-001: 20 each
	ctx := context.Background()
	w.shop.SetLevel("K1", 0)
	w.amz.SetListing("PACK-6", 0)
	plan := catalog.Plan{
		Kits:     []catalog.Kit{{SKU: "K1", Components: []catalog.Component{{SKU: "SKU-000", Quantity: 2}, {SKU: "SKU-001", Quantity: 1}}}},
		Mappings: []catalog.Mapping{{Channel: "amz", Listing: "PACK-6", SKU: "SKU-001", Multiplier: 6}},
	}
	if _, err := w.eng.Catalog().Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	w.eventually("the stock is listed everywhere", w.converged)
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	sid := w.shop.AddOrder(shopifytest.Order{Name: "#3101", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 31, SKU: "K1", Quantity: 2}}})
	w.shop.Sell("K1", 2)
	w.shopWebhook("orders/create", sid, "kit-create")
	w.amz.AddOrder(amazontest.Order{AmazonOrderID: "A-PACK", Status: "Unshipped", LastUpdate: t0,
		Items: []amazontest.Item{{OrderItemID: "P1", SellerSKU: "PACK-6", Ordered: 2}}})
	w.amz.SendMessage(amazonOrderChange("A-PACK", "Unshipped", 1))
	w.eventually("the components and the packs' units are reserved", func() (bool, string) {
		if ok, d := w.figures("SKU-000", 20, 4)(); !ok {
			return false, d
		}
		return w.figures("SKU-001", 20, 2+12)()
	})

	api := httptest.NewServer(admin.New(admin.Deps{Ledger: w.eng.Ledger(), Listings: w.eng, Channels: w.eng,
		DeadLetters: w.eng.Intake(), Shipments: w.eng.Shipments()}, "tok", zerolog.Nop()))
	defer api.Close()
	shop := strconv.FormatInt(sid, 10)
	reqs := []shipments.Request{
		{Channel: "shop", OrderID: shop, Lines: []shipments.RequestLine{{LineID: "31", Quantity: 2}}, Carrier: "ups",
			TrackingNumber: "1Z999AA10000000031", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "kit-1"},
		{Channel: "amz", OrderID: "A-PACK", Lines: []shipments.RequestLine{{SKU: "PACK-6", Quantity: 1}}, Carrier: "ups",
			TrackingNumber: "1Z999AA10000000061", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "pack-1"},
		{Channel: "amz", OrderID: "A-PACK", Lines: []shipments.RequestLine{{LineID: "P1", Quantity: 1}}, Carrier: "ups",
			TrackingNumber: "1Z999AA10000000062", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "pack-2"},
	}
	over, _ := json.Marshal(shipments.Request{Channel: "shop", OrderID: shop, Lines: []shipments.RequestLine{{LineID: "31#SKU-000", Quantity: 1}},
		Carrier: "ups", TrackingNumber: "1Z999AA10000000039", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "kit-part"})
	if code := w.postShipment(api.URL, over); code != http.StatusBadRequest {
		t.Errorf("a kit's component line shipped by its ledger id: %d, want 400", code)
	}
	for _, r := range reqs {
		b, _ := json.Marshal(r)
		if code := w.postShipment(api.URL, b); code != http.StatusCreated {
			t.Fatalf("%s shipment %s: %d, want 201", r.Channel, r.IdempotencyKey, code)
		}
	}
	w.eventually("the shipments are confirmed", func() (bool, string) {
		for _, o := range [][2]string{{"shop", shop}, {"amz", "A-PACK"}} {
			v, err := w.eng.Shipments().ForOrder(ctx, o[0], o[1])
			if err != nil || len(v) == 0 {
				return false, fmt.Sprintf("%s: %+v %v", o[0], v, err)
			}
			for _, s := range v {
				if s.State.Status != shipments.StatusConfirmed {
					return false, fmt.Sprintf("%s %s: %+v", o[0], s.Key, s.State)
				}
			}
		}
		return true, ""
	})
	var fulfilled int64
	for _, f := range w.shop.CreatedFulfillments() {
		if f.OrderID == sid && f.Fulfillment.Tracking != nil && f.Fulfillment.Tracking.Number == "1Z999AA10000000031" {
			fulfilled += f.Fulfillment.Lines[31]
		}
	}
	if fulfilled != 2 {
		t.Errorf("Shopify fulfilled %d units of the kit line under its tracking, want 2 (the channel's kits)", fulfilled)
	}
	pk := w.amz.Packages("A-PACK")
	if len(pk) != 2 {
		t.Fatalf("Amazon packages %+v, want two", pk)
	}
	for _, p := range pk {
		if p.Items["P1"] != 1 {
			t.Errorf("Amazon package %+v, want 1 × P1 (one pack)", p)
		}
	}
	w.eventually("the components and the packs' units left the shelf", func() (bool, string) {
		if ok, d := w.figures("SKU-000", 16, 0)(); !ok {
			return false, d
		}
		return w.figures("SKU-001", 20-2-12, 0)()
	})
	if probs, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}
