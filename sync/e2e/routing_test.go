package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestRoutingFillsOrderFromOneLocation: with routing rules
// [single_location, priority], a Shopify order of two lines, SKU-000 and
// SKU-001, where "main" (first by priority) holds only SKU-000 and
// "backup" holds both, is filled whole from backup: both lines reserve
// there (priority alone would have split it, SKU-000 at main), the
// ledger's lines, the downstream order and the journal name the rule.
func TestRoutingFillsOrderFromOneLocation(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, 2, func(c *config.Config) {
		c.Routing.Rules = []string{config.RuleSingleLocation, config.RulePriority}
	})
	ctx := context.Background()
	l := w.eng.Ledger()
	for _, d := range []inventory.Delta{
		{Key: "route-adj", SKU: "SKU-001", Location: "main", Quantity: -20, Reason: "test"},
		{Key: "route-r0", SKU: "SKU-000", Location: "backup", Quantity: 5, Reason: "test"},
		{Key: "route-r1", SKU: "SKU-001", Location: "backup", Quantity: 5, Reason: "test"},
	} {
		var err error
		if d.Quantity < 0 {
			_, err = l.Adjust(ctx, d)
		} else {
			_, err = l.Receive(ctx, d)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	sid := w.shop.AddOrder(shopifytest.Order{Name: "#4001", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 41, SKU: "SKU-000", Quantity: 2}, {ID: 42, SKU: "SKU-001", Quantity: 1}}})
	w.shopWebhook("orders/create", sid, "route-1")
	w.shopWebhook("orders/create", sid, "route-1") // a duplicate delivery changes nothing
	oid := strconv.FormatInt(sid, 10)

	w.eventually("both lines are in the ledger", func() (bool, string) {
		recs, err := l.Lines(ctx, "shop", oid)
		if err != nil || len(recs) != 2 {
			return false, fmt.Sprintf("lines %+v %v", recs, err)
		}
		return true, ""
	})
	recs, _ := l.Lines(ctx, "shop", oid)
	for _, r := range recs {
		if r.Location != "backup" || r.Reserved == 0 {
			t.Errorf("line %s (%s) at %q reserving %d, want backup", r.LineID, r.SKU, r.Location, r.Reserved)
		}
	}
	for sku, want := range map[string]map[string]int64{
		"SKU-000": {"main": 20, "backup": 3},
		"SKU-001": {"main": 0, "backup": 4},
	} {
		st, err := l.Stock(ctx, sku)
		if err != nil {
			t.Fatal(err)
		}
		for loc, a := range want {
			if got := st.Locations[loc].Available; got != a {
				t.Errorf("%s at %s: available %d, want %d", sku, loc, got, a)
			}
		}
		h, err := l.History(ctx, sku, 1)
		if err != nil || len(h) != 1 || h[0].Rule != config.RuleSingleLocation || h[0].Location != "backup" {
			t.Errorf("%s journal %+v %v, want the order line by %s at backup", sku, h, err, config.RuleSingleLocation)
		}
	}
	// Downstream: the order's lines name the location and the rule.
	msgs, err := w.rdb.XRange(ctx, w.eng.Publisher().Stream(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		if m.Values["channel"] != "shop" || m.Values["order_id"] != oid {
			continue
		}
		var o connectors.Order
		if err := json.Unmarshal([]byte(m.Values["order"].(string)), &o); err != nil {
			t.Fatal(err)
		}
		for _, ln := range o.Lines {
			if ln.Location != "backup" || ln.Route != config.RuleSingleLocation {
				t.Errorf("downstream line %s at %q by %q, want backup by %s", ln.LineID, ln.Location, ln.Route, config.RuleSingleLocation)
			}
		}
		found = true
		break // the first publish placed the lines
	}
	if !found {
		t.Fatalf("order %s never published downstream", oid)
	}
	w.eventually("every channel converged", w.converged)
	if probs, err := l.Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}
