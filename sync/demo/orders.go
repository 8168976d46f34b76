package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
)

// OrderMismatch is a placed order the ledger holds otherwise than the
// fake it was placed on says.
type OrderMismatch struct {
	Order PlacedOrder `json:"order"`
	// Lines is how many ledger lines the order has (0: lost); Ordered and
	// Reserved are their totals.
	Lines    int   `json:"lines"`
	Ordered  int64 `json:"ordered"`
	Reserved int64 `json:"reserved"`
}

// OrderCheck is the result of comparing every placed order with the ledger.
type OrderCheck struct {
	Orders   int `json:"orders"`
	Matching int `json:"matching"`
	// Lost: orders the ledger never saw. Doubled: orders whose units the
	// ledger holds more than once. Wrong: any other difference (a cancel
	// not applied, a reservation left).
	Lost    int             `json:"lost"`
	Doubled int             `json:"doubled"`
	Wrong   int             `json:"wrong"`
	Sample  []OrderMismatch `json:"mismatches,omitempty"`
	Checks  int             `json:"checks"`
}

// OK is true when every placed order is in the ledger exactly as placed.
func (c OrderCheck) OK() bool { return c.Matching == c.Orders }

// CheckOrders compares each placed order with the ledger's lines of it:
// the units it ordered once, and the units it still reserves (none after
// its cancel or refund happened on the fake or its shipment was taken),
// in ledger units (a kit's
// lines are its components', a pack's its SKU's: PlacedOrder.Per).
func CheckOrders(ctx context.Context, l *inventory.Ledger, placed []PlacedOrder) (OrderCheck, error) {
	c := OrderCheck{Orders: len(placed)}
	for _, p := range placed {
		lines, err := l.Lines(ctx, p.Channel, p.OrderID)
		if err != nil {
			return c, fmt.Errorf("checking order %s/%s: %w", p.Channel, p.OrderID, err)
		}
		m := OrderMismatch{Order: p, Lines: len(lines)}
		for _, r := range lines {
			m.Ordered += r.Ordered
			m.Reserved += r.Reserved
		}
		switch {
		case len(lines) == 0:
			c.Lost++
		case m.Ordered > p.Units*p.per():
			c.Doubled++
		case m.Ordered != p.Units*p.per() || m.Reserved != max(p.Open-p.Shipped, 0)*p.per():
			c.Wrong++
		default:
			c.Matching++
			continue
		}
		if len(c.Sample) < sampleMax {
			c.Sample = append(c.Sample, m)
		}
	}
	return c, nil
}

// WaitOrders checks until every placed order matches or bound has passed
// (or ctx ends), and returns the last check.
func WaitOrders(ctx context.Context, l *inventory.Ledger, placed []PlacedOrder, bound time.Duration) (OrderCheck, error) {
	deadline := time.Now().Add(bound)
	for checks := 1; ; checks++ {
		c, err := CheckOrders(ctx, l, placed)
		c.Checks = checks
		if err != nil || c.OK() || time.Now().After(deadline) {
			return c, err
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return c, ctx.Err()
		case <-t.C:
		}
	}
}
