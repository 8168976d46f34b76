package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
	"github.com/shelfsync/shelfsync/sync/admin"
	"github.com/shelfsync/shelfsync/sync/shipments"
)

// TestShipmentsOnEbayAndAmazon: an eBay order and an Amazon order, each
// shipped through the admin API twice, are confirmed once each on their
// fake (eBay's shipping fulfillment, Amazon's package) with the carrier's
// code and the tracking number, and on hand drops by the units shipped.
func TestShipmentsOnEbayAndAmazon(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2) // SKU-000, SKU-001: 20 each
	ctx := context.Background()
	w.eventually("the stock is listed everywhere", w.converged)
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	w.bay.AddOrder(ebaytest.Order{OrderID: "E-7", LegacyOrderID: "E-7", OrderFulfillmentStatus: "NOT_STARTED", OrderPaymentStatus: "PAID",
		CancelState: "NONE_REQUESTED", LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: "SKU-001", Quantity: 2}}})
	w.ebayNotification("E-7", 1)
	w.amz.AddOrder(amazontest.Order{AmazonOrderID: "A-7", Status: "Unshipped", LastUpdate: t0,
		Items: []amazontest.Item{{OrderItemID: "I1", SellerSKU: "SKU-001", Ordered: 2}}})
	w.amz.SendMessage(amazonOrderChange("A-7", "Unshipped", 1))
	w.eventually("both orders are reserved", w.figures("SKU-001", 20, 4))

	api := httptest.NewServer(admin.New(admin.Deps{Ledger: w.eng.Ledger(), Listings: w.eng, Channels: w.eng,
		DeadLetters: w.eng.Intake(), Shipments: w.eng.Shipments()}, "tok", zerolog.Nop()))
	defer api.Close()
	reqs := []shipments.Request{
		{Channel: "bay", OrderID: "E-7", Lines: []shipments.RequestLine{{LineID: "L1", Quantity: 2}}, Carrier: "usps",
			TrackingNumber: "9400111899223197428490", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "wms-e7"},
		{Channel: "amz", OrderID: "A-7", Lines: []shipments.RequestLine{{SKU: "SKU-001", Quantity: 2}}, Carrier: "ups",
			TrackingNumber: "1Z999AA10123456784", ShippedAt: t0.Add(time.Minute), IdempotencyKey: "wms-a7"},
	}
	for n, want := range []int{http.StatusCreated, http.StatusOK} {
		for _, r := range reqs {
			b, _ := json.Marshal(r)
			if code := w.postShipment(api.URL, b); code != want {
				t.Fatalf("%s shipment (pass %d): %d, want %d", r.Channel, n, code, want)
			}
		}
	}
	w.eventually("both shipments are confirmed", func() (bool, string) {
		for _, r := range reqs {
			v, err := w.eng.Shipments().ForOrder(ctx, r.Channel, r.OrderID)
			if err != nil || len(v) != 1 || v[0].State.Status != shipments.StatusConfirmed {
				return false, fmt.Sprintf("%s: %+v %v", r.Channel, v, err)
			}
		}
		return true, ""
	})
	if f := w.bay.Fulfillments("E-7"); len(f) != 1 || f[0].TrackingNumber != "9400111899223197428490" || f[0].CarrierCode != "USPS" {
		t.Errorf("eBay fulfillments %+v, want one USPS 9400111899223197428490", f)
	}
	pk := w.amz.Packages("A-7")
	if len(pk) != 1 {
		t.Fatalf("Amazon packages %+v, want one", pk)
	}
	for _, p := range pk {
		if p.TrackingNumber != "1Z999AA10123456784" || p.Items["I1"] != 2 || p.Confirmations != 1 {
			t.Errorf("Amazon package %+v, want 2 × I1 under 1Z999AA10123456784, confirmed once", p)
		}
	}
	w.eventually("on hand is the seeded stock minus the units shipped", w.figures("SKU-001", 16, 0))
	w.eventually("every channel lists the ledger's figures", w.converged)
}
