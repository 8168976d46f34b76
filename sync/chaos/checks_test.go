package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/sync/demo"
)

// checkBound is the longest a round waits for its end state: a hang
// guard, not a timing assertion (the measured time is the table's).
const checkBound = 4 * time.Minute

// check waits up to bound until every placed order is in the ledger as
// placed and every channel lists what the ledger says (res.converge: from
// the end of the orders until both hold), then checks every SKU's on-hand
// and reservations, the dead letters and parked pushes, and Verify. The
// first thing wrong is res.problem, with its details returned.
func (h *harness) check(ctx context.Context, placed []demo.PlacedOrder, stopped time.Time, bound time.Duration, res *result) string {
	res.placed = len(placed)
	oc, err := demo.WaitOrders(ctx, h.eng.Ledger(), placed, bound)
	res.inLedger, res.lost, res.doubled, res.wrong = oc.Matching, oc.Lost, oc.Doubled, oc.Wrong
	if err != nil || !oc.OK() || oc.Orders == 0 {
		res.problem = fmt.Sprintf("orders: %d/%d as placed (lost %d, doubled %d, wrong %d)", oc.Matching, oc.Orders, oc.Lost, oc.Doubled, oc.Wrong)
		return fmt.Sprintf("e.g. %+v (%v)", oc.Sample, err)
	}
	conv, err := h.cat.WaitConverged(ctx, h.eng.Ledger(), h.cfg, h.fakes, bound)
	res.converge = time.Since(stopped)
	if err != nil || !conv.Converged() {
		res.problem = fmt.Sprintf("not converged: %d/%d SKUs, %d/%d listings", conv.Matching, conv.SKUs, conv.ListingsMatching(), len(conv.Listings))
		return fmt.Sprintf("e.g. %+v (%v)", conv.Sample, err)
	}
	if res.problem = h.checkStock(ctx, placed); res.problem != "" {
		return ""
	}
	n, err := h.deadLetters()
	res.deadLetters = n
	if err != nil || n != 0 {
		res.problem = fmt.Sprintf("dead letters or parked pushes: %d (%v)", n, err)
		return ""
	}
	if bad, err := h.eng.Ledger().Verify(ctx, nil); err != nil || len(bad) != 0 {
		res.problem = fmt.Sprintf("verify: %d inconsistencies (%v)", len(bad), err)
		return fmt.Sprint(bad[:min(len(bad), 5)])
	}
	return ""
}

// checkStock compares every SKU of the catalogue with what the round did
// to it: the orders reserve and release stock but never move it, so each
// location's on-hand is still what Seed received; and the ledger's
// reservations, over all SKUs, are the units the placed orders still
// hold open (in ledger units: a kit's components, a pack's SKU). With
// every order matching its lines (WaitOrders) and Verify's per-SKU check
// of reserved against the open lines, a unit reserved by no placed order
// shows here.
func (h *harness) checkStock(ctx context.Context, placed []demo.PlacedOrder) string {
	stock, err := h.eng.Ledger().StockMany(ctx, h.cat.SKUs())
	if err != nil {
		return fmt.Sprintf("reading the stock: %v", err)
	}
	var reserved, open int64
	for _, it := range h.cat.Items {
		s := stock[it.SKU]
		want := map[string]int64{demo.LocationWarehouse: it.Warehouse, demo.LocationStore: it.Store}
		for loc, w := range want {
			if got := s.Locations[loc].OnHand; got != w {
				return fmt.Sprintf("%s at %s: on hand %d, seeded %d (orders do not move stock)", it.SKU, loc, got, w)
			}
		}
		for _, lv := range s.Locations {
			reserved += lv.Reserved
		}
	}
	for _, p := range placed {
		open += p.Open * max(p.Per, 1)
	}
	if reserved != open {
		return fmt.Sprintf("reserved over all SKUs %d, the placed orders hold %d open", reserved, open)
	}
	return ""
}
