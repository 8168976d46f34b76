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

// TestRoutingSplitsLine: with routing.split on, a Shopify line of 3 units
// of SKU-000 where main holds 2 and backup 1 (neither fills it) is split,
// main 2 then backup 1: both reserve, the ledger's record, the downstream
// order and the journal carry the parts, and Verify is clean.
func TestRoutingSplitsLine(t *testing.T) {
	w := newWorldWith(t, 2, func(c *config.Config) {
		c.Routing.Split = true
	})
	ctx := context.Background()
	l := w.eng.Ledger()
	if _, err := l.Adjust(ctx, inventory.Delta{Key: "split-adj", SKU: "SKU-000", Location: "main", Quantity: -18, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Receive(ctx, inventory.Delta{Key: "split-r", SKU: "SKU-000", Location: "backup", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	sid := w.shop.AddOrder(shopifytest.Order{Name: "#4002", UpdatedAt: t0, FinancialStatus: "PAID",
		Lines: []shopifytest.OrderLine{{ID: 51, SKU: "SKU-000", Quantity: 3}}})
	w.shopWebhook("orders/create", sid, "split-1")
	w.shopWebhook("orders/create", sid, "split-1") // a duplicate delivery changes nothing
	oid := strconv.FormatInt(sid, 10)
	want := []inventory.SplitPart{{Location: "main", Units: 2}, {Location: "backup", Units: 1}}

	w.eventually("the line is in the ledger", func() (bool, string) {
		recs, err := l.Lines(ctx, "shop", oid)
		return err == nil && len(recs) == 1, fmt.Sprintf("lines %+v %v", recs, err)
	})
	recs, _ := l.Lines(ctx, "shop", oid)
	if fmt.Sprint(recs[0].Split) != fmt.Sprint(want) || recs[0].Reserved != 3 {
		t.Errorf("record %+v, want split %v", recs[0], want)
	}
	st, err := l.Stock(ctx, "SKU-000")
	if err != nil {
		t.Fatal(err)
	}
	if st.Locations["main"].Reserved != 2 || st.Locations["backup"].Reserved != 1 || st.Locations["main"].Available != 0 || st.Locations["backup"].Available != 0 {
		t.Errorf("stock %+v", st.Locations)
	}
	h, err := l.History(ctx, "SKU-000", 2)
	if err != nil || len(h) != 2 || h[0].Location != "main" || h[1].Location != "backup" || h[0].Rule != config.RuleSplit || h[1].Rule != config.RuleSplit {
		t.Errorf("journal %+v %v, want the line's parts at main and backup by %s", h, err, config.RuleSplit)
	}
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
		ln := o.Lines[0]
		if ln.Location != "backup" || ln.Route != config.RuleSplit || ln.Split == nil ||
			fmt.Sprint(*ln.Split) != fmt.Sprint([]connectors.LinePart{{Location: "main", Units: 2}, {Location: "backup", Units: 1}}) {
			t.Errorf("downstream line %+v (split %v), want split main 2, backup 1", ln, ln.Split)
		}
		found = true
		break // the first publish placed the line
	}
	if !found {
		t.Fatalf("order %s never published downstream", oid)
	}
	w.eventually("every channel converged", w.converged)
	if probs, err := l.Verify(ctx, nil); err != nil || len(probs) > 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
}
