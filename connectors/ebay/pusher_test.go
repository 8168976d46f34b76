package ebay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

func TestPushQuantities(t *testing.T) {
	e := newEnv(t, envConfig{})
	okOffers := e.fake.AddListing("OK-TWO-OFFERS", 5, 2)
	e.fake.AddListing("OK-ONE-OFFER", 5, 1)
	e.fake.AddListing("REFUSED", 5, 1)
	e.fake.AddListing("BUSY", 5, 1)
	e.fake.AddListing("THROTTLED", 5, 1)
	e.fake.AddListing("NO-OFFER", 5, 0)
	e.fake.FailItem("REFUSED", ebaytest.ItemFailure{Status: 400, ErrorID: 25604, Message: "The quantity must be a valid number greater than or equal to 0."})
	e.fake.FailItem("BUSY", ebaytest.ItemFailure{Status: 500, ErrorID: 25001, Message: "A system error has occurred."})
	e.fake.FailItem("THROTTLED", ebaytest.ItemFailure{Status: 429, ErrorID: 2001, Message: "Too many requests."})

	updates := []connectors.QuantityUpdate{
		{SKU: "OK-TWO-OFFERS", Quantity: 7},
		{SKU: "OK-ONE-OFFER", Quantity: 0},
		{SKU: "REFUSED", Quantity: 3},
		{SKU: "BUSY", Quantity: 3},
		{SKU: "THROTTLED", Quantity: 3},
		{SKU: "NO-OFFER", Quantity: 3},
		{SKU: "NOT-ON-EBAY", Quantity: 3},
		{SKU: "NEGATIVE", Quantity: -1},
	}
	want := []struct {
		status connectors.PushStatus
		reason string
	}{
		{connectors.PushAccepted, ""},
		{connectors.PushAccepted, ""},
		{connectors.PushFailed, "25604: The quantity must be"},
		{connectors.PushRetry, "25001"},
		{connectors.PushRetry, "2001"},
		{connectors.PushUnknownSKU, "no fixed-price offer"},
		{connectors.PushUnknownSKU, "no fixed-price offer"},
		{connectors.PushFailed, "negative quantity"},
	}
	results, err := e.conn.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(updates) {
		t.Fatalf("%d results for %d updates", len(results), len(updates))
	}
	for i, r := range results {
		if r.SKU != updates[i].SKU || r.Status != want[i].status || !strings.Contains(r.Reason, want[i].reason) {
			t.Errorf("result %d = %+v; want %s with %q", i, r, want[i].status, want[i].reason)
		}
	}
	// The quantity is on the item and on every offer.
	if q, _ := e.fake.Quantity("OK-TWO-OFFERS"); q != 7 {
		t.Errorf("item quantity = %d; want 7", q)
	}
	for _, id := range okOffers {
		if q, _ := e.fake.OfferQuantity(id); q != 7 {
			t.Errorf("offer %s quantity = %d; want 7", id, q)
		}
	}
	if q, _ := e.fake.Quantity("REFUSED"); q != 5 {
		t.Errorf("refused item changed to %d", q)
	}
	if calls := e.fake.Calls("bulk_update_price_quantity"); calls != 1 {
		t.Errorf("bulk calls = %d; want 1", calls)
	}

	// Offers are cached: a second push looks nothing up.
	lookups := e.fake.Calls("get_offers")
	if _, err := e.conn.PushQuantities(context.Background(), updates[:2]); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Calls("get_offers"); got != lookups {
		t.Errorf("offer lookups went from %d to %d on a cached push", lookups, got)
	}
}

// TestPushChunksAndAllFailed: more than 25 SKUs go in several calls; a
// call where every item fails (eBay answers 400 with per-item results)
// still gives per-item results, not a batch error.
func TestPushChunksAndAllFailed(t *testing.T) {
	e := newEnv(t, envConfig{})
	if e.conn.MaxBatch() != 25 {
		t.Fatalf("MaxBatch = %d; want eBay's 25", e.conn.MaxBatch())
	}
	var updates []connectors.QuantityUpdate
	for i := range 60 {
		sku := fmt.Sprintf("SKU-%03d", i)
		e.fake.AddListing(sku, 0, 1)
		if i >= 50 {
			e.fake.FailItem(sku, ebaytest.ItemFailure{Status: 400, ErrorID: 25002, Message: "A user error has occurred."})
		}
		updates = append(updates, connectors.QuantityUpdate{SKU: sku, Quantity: int64(i)})
	}
	results, err := e.conn.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		want := connectors.PushAccepted
		if i >= 50 {
			want = connectors.PushFailed
		}
		if r.Status != want {
			t.Errorf("%s: %s (%s); want %s", r.SKU, r.Status, r.Reason, want)
		}
	}
	if calls := e.fake.Calls("bulk_update_price_quantity"); calls != 3 {
		t.Fatalf("bulk calls = %d; want 3 (25+25+10)", calls)
	}
	if q, _ := e.fake.Quantity("SKU-042"); q != 42 {
		t.Fatalf("SKU-042 = %d; want 42", q)
	}
}

// TestPushStaleOffer: an offer deleted on eBay after it was cached makes
// the item retry and drops the cache; the next push finds the new offer.
func TestPushStaleOffer(t *testing.T) {
	e := newEnv(t, envConfig{})
	old := e.fake.AddListing("MUG", 1, 1)
	if _, err := e.conn.ResolveSKU(context.Background(), "MUG"); err != nil {
		t.Fatal(err)
	}
	e.fake.DeleteOffer(old[0])
	fresh := e.fake.AddListing("MUG", 1, 1)
	res, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "MUG", Quantity: 4}})
	if err != nil || res[0].Status != connectors.PushRetry || !strings.Contains(res[0].Reason, "25713") {
		t.Fatalf("push with a stale offer = %+v, %v; want retry with 25713", res, err)
	}
	time.Sleep(5 * time.Millisecond) // the dropped cache entry expires after 1ms
	res, err = e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "MUG", Quantity: 4}})
	if err != nil || res[0].Status != connectors.PushAccepted {
		t.Fatalf("push after re-resolving = %+v, %v; want accepted", res, err)
	}
	if q, _ := e.fake.OfferQuantity(fresh[0]); q != 4 {
		t.Fatalf("new offer quantity = %d; want 4", q)
	}
}

func TestPushRevisionBudget(t *testing.T) {
	e := newEnv(t, envConfig{opts: Options{RevisionCeiling: 3}})
	e.fake.AddListing("HOT", 10, 1)
	push := func(q int64) connectors.PushResult {
		t.Helper()
		res, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "HOT", Quantity: q}})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	for q := int64(9); q >= 7; q-- {
		if r := push(q); r.Status != connectors.PushAccepted {
			t.Fatalf("push %d = %+v; want accepted", q, r)
		}
	}
	if r := push(6); r.Status != connectors.PushRetry || !strings.Contains(r.Reason, "revision budget") {
		t.Fatalf("fourth push = %+v; want retry for the revision budget", r)
	}
	if n := e.fake.Revisions("HOT"); n != 3 {
		t.Fatalf("eBay saw %d revisions; want 3", n)
	}
	if got := counter(t, e.conn.metrics.budgetRefusals); got != 1 {
		t.Fatalf("budget refusals = %v; want 1", got)
	}
	// A new UTC day, a new budget.
	e.clock.Advance(24 * time.Hour)
	if r := push(6); r.Status != connectors.PushAccepted {
		t.Fatalf("push the next day = %+v; want accepted", r)
	}
}

func TestPushDuplicateSKU(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddListing("DUP", 1, 1)
	res, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "DUP", Quantity: 2}, {SKU: "DUP", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := e.fake.Quantity("DUP"); q != 3 || res[1].Status != connectors.PushAccepted || res[0].SKU != "DUP" {
		t.Fatalf("quantity %d, results %+v; want the later update to win", q, res)
	}
}

func TestPushWholeCallThrottled(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddListing("A", 1, 1)
	if _, err := e.conn.ResolveSKU(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	e.fake.Throttle(100, "")
	res, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "A", Quantity: 2}})
	if err == nil || res != nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("PushQuantities = %+v, %v; want a whole-call error with 429", res, err)
	}
	e.fake.Throttle(1, "")
	res, err = e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "A", Quantity: 2}})
	if err != nil || res[0].Status != connectors.PushAccepted {
		t.Fatalf("after one 429: %+v, %v; want accepted", res, err)
	}
}

func TestResolveSKU(t *testing.T) {
	e := newEnv(t, envConfig{})
	ids := e.fake.AddListing("TWO", 1, 2)
	got, err := e.conn.ResolveSKU(context.Background(), "TWO")
	if err != nil || got[KeyOfferIDs] != strings.Join(ids, ",") || got[KeyListingIDs] == "" {
		t.Fatalf("ResolveSKU = %v, %v; want offers %v", got, err, ids)
	}
	if _, err := e.conn.ResolveSKU(context.Background(), "NONE"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("unknown SKU: %v; want ErrNotFound", err)
	}
	// The negative answer is cached too, for a while.
	before := e.fake.Calls("get_offers")
	if _, err := e.conn.ResolveSKU(context.Background(), "NONE"); !errors.Is(err, connectors.ErrNotFound) || e.fake.Calls("get_offers") != before {
		t.Fatalf("second lookup of an unknown SKU: %v, %d calls; want cached ErrNotFound", err, e.fake.Calls("get_offers")-before)
	}
}

// TestPushRequestRefused: a 400 without per-item results fails every item
// of the call (sending it again unchanged will not help), not the batch.
func TestPushRequestRefused(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddListing("A", 1, 1)
	e.fake.AddListing("B", 1, 1)
	e.fake.RefuseBulk(1)
	res, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != connectors.PushFailed || !strings.Contains(r.Reason, "25709") {
			t.Fatalf("result %+v; want failed with eBay's 25709", r)
		}
	}
}
