package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/demo"
)

// TestChecksFindWhatIsWrong: a round's checks are not blind. On a round
// without a fault that ended well they pass; then a placed order the
// ledger never saw is reported lost, an order the ledger holds more units
// of than were placed doubled, a unit received behind the orders' back an
// on-hand difference, and reservations that no placed order holds a
// reservation difference.
func TestChecksFindWhatIsWrong(t *testing.T) {
	h := newHarness(t, daemonBinary, suite{rate: 20, skus: 20}, redisAOF, 5)
	gen := demo.NewGenerator(h.fakes, h.cat, demo.GeneratorOptions{Rate: 20, Target: h.base, Seed: 5, Logger: zerolog.Nop()})
	ctx := context.Background()
	orders, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	_ = gen.Run(orders)
	placed := gen.Placed()
	var good result
	if detail := h.check(ctx, placed, time.Now(), checkBound, &good); good.problem != "" || good.placed == 0 {
		t.Fatalf("a round without a fault: %q %s (%d orders)", good.problem, detail, good.placed)
	}

	phantom := placed[0]
	phantom.OrderID += "-never-placed"
	var lost result
	h.check(ctx, append(placed[:len(placed):len(placed)], phantom), time.Now(), time.Second, &lost)
	if lost.lost != 1 || !strings.Contains(lost.problem, "lost 1") {
		t.Errorf("a placed order missing from the ledger: %+v", lost)
	}

	fewer := append([]demo.PlacedOrder(nil), placed...)
	fewer[0].Units, fewer[0].Open = 0, 0
	var doubled result
	h.check(ctx, fewer, time.Now(), time.Second, &doubled)
	if doubled.doubled != 1 || !strings.Contains(doubled.problem, "doubled 1") {
		t.Errorf("more units in the ledger than placed: %+v", doubled)
	}

	var open *demo.PlacedOrder
	for i := range fewer {
		if fewer[i] = placed[i]; fewer[i].Open > 0 && open == nil {
			open = &fewer[i]
		}
	}
	if open == nil {
		t.Fatal("no order left open")
	}
	open.Open = 0
	if p := h.checkStock(ctx, fewer); !strings.Contains(p, "reserved over all SKUs") {
		t.Errorf("reservations no placed order holds: %q", p)
	}

	sku := h.cat.Items[0].SKU
	if _, err := h.eng.Ledger().Receive(ctx, inventory.Delta{Key: "chaos-selfcheck", SKU: sku, Location: demo.LocationWarehouse,
		Quantity: 1, Reason: "chaos self-check"}); err != nil {
		t.Fatal(err)
	}
	if p := h.checkStock(ctx, placed); !strings.Contains(p, sku+" at "+demo.LocationWarehouse+": on hand") {
		t.Errorf("a unit received behind the orders' back: %q", p)
	}
	if code := h.stopDaemon(); code != 0 {
		t.Errorf("the daemon exited %d after SIGTERM", code)
	}
}
