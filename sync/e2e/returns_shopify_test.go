package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestShopifyReturnsFollowThePolicy: a shipped Shopify order's return
// comes in through returns/* webhooks and is booked by the channel's
// returns policy (the default: restocked once received): requested books
// nothing, closed (received) restocks its unit, the same delivery again
// and a repeat of the close book nothing more (a second return closed
// after them, on the same order's intake partition, books exactly its own
// unit); a refund of the first return's unit after its close restocks
// nothing more; the ledger verifies.
func TestShopifyReturnsFollowThePolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1) // SKU-000: 20
	ctx := context.Background()
	w.eventually("the stock is listed everywhere", w.converged)
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	id := w.shop.AddOrder(shopifytest.Order{Name: "#4001", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 41, SKU: "SKU-000", Quantity: 3}}})
	w.shop.Sell("SKU-000", 3)
	w.shopWebhook("orders/create", id, "ret-create")
	if !w.shop.Fulfill(id, shopifytest.Tracking{Company: "UPS", Number: "1Z999AA10000000041"}, map[int64]int64{41: 3}) {
		t.Fatal("the fake did not fulfil the order")
	}
	w.shopWebhook("orders/updated", id, "ret-shipped")
	w.eventually("the order ships", w.figures("SKU-000", 17, 0))

	deliver := func(ret int64, topic, status, eventID string) {
		t.Helper()
		body, err := shopifytest.ReturnWebhookBody(ret, id, status, []shopifytest.ReturnLineBody{{ID: 1, LineID: 41, SKU: "SKU-000", Quantity: 1, Reason: "size_too_small"}})
		if err != nil {
			t.Fatal(err)
		}
		code, err := w.shop.Deliver(ctx, http.DefaultClient, w.daemon.URL+"/webhooks/shop", topic, body, eventID)
		if err != nil || code != http.StatusOK {
			t.Fatalf("%s delivery: %d %v", topic, code, err)
		}
	}
	deliver(9041, "returns/request", "requested", "r-1")
	deliver(9041, "returns/approve", "open", "r-2")
	// The requested and open states book nothing: once the close is
	// booked below, on hand is 18, not more.
	deliver(9041, "returns/close", "closed", "r-3")
	w.eventually("the closed return's unit is restocked", w.figures("SKU-000", 18, 0))
	deliver(9041, "returns/close", "closed", "r-3") // the same delivery again
	deliver(9041, "returns/close", "closed", "r-4") // the close again
	deliver(9042, "returns/close", "closed", "r-5") // another return, after them
	w.eventually("the second return is booked", func() (bool, string) {
		hist, err := w.eng.Ledger().History(ctx, "SKU-000", 50)
		if err != nil {
			return false, err.Error()
		}
		for _, h := range hist {
			if h.Op == "restock" && strings.Contains(h.Cause, "return 9042 ") {
				return true, ""
			}
		}
		return false, "no restock of return 9042 in the journal"
	})
	w.eventually("the intake is drained (the repeats handled too)", func() (bool, string) {
		n, err := w.eng.Intake().Backlog(ctx)
		return err == nil && n == 0, fmt.Sprintf("backlog %d %v", n, err)
	})
	if ok, detail := w.figures("SKU-000", 19, 0)(); !ok {
		t.Errorf("after both returns: %s", detail)
	}
	// The merchant then refunds return 9041's unit with restock RETURN
	// (returnRefund takes a closed return): the same unit, restocked
	// once already. Delivered twice, it restocks nothing more.
	o, ok := w.shop.Order(id)
	if !ok {
		t.Fatal("the fake lost the order")
	}
	o.Refunds = append(o.Refunds, shopifytest.Refund{ID: 7041, CreatedAt: t0.Add(30 * time.Second),
		Lines: []shopifytest.RefundLine{{LineID: 41, Quantity: 1, RestockType: "RETURN"}}})
	o.UpdatedAt = time.Now().Add(2 * time.Second) // after the fulfilment's
	w.shop.AddOrder(o)
	if o, ok = w.shop.Order(id); !ok {
		t.Fatal("the fake lost the order")
	}
	w.shopWebhook("orders/updated", id, "ret-refund")
	w.shopWebhook("orders/updated", id, "ret-refund-again")
	w.eventually("the refund is taken in", func() (bool, string) {
		recs, err := w.eng.Ledger().Lines(ctx, "shop", fmt.Sprint(id))
		if err != nil || len(recs) != 1 {
			return false, fmt.Sprintf("%v %v", recs, err)
		}
		n, err := w.eng.Intake().Backlog(ctx)
		return err == nil && n == 0 && recs[0].Version == o.UpdatedAt.UnixMilli(), fmt.Sprintf("record %+v, backlog %d %v", recs[0], n, err)
	})
	if ok, detail := w.figures("SKU-000", 19, 0)(); !ok {
		t.Errorf("after the refund of a closed return's unit: %s", detail)
	}
	if probs, err := w.eng.Ledger().Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}
