package ingest

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestRandomDeliveriesNeverRestockTooMany delivers, for fixed seeds, an
// order line's states (shipped and refunded units growing with the
// version), local shipments and closed returns in shuffled order with
// repeats, and checks the line's restocked units never pass
// min(shipped, max(refunded, returned)).
func TestRandomDeliveriesNeverRestockTooMany(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewSource(seed))
			ctx := context.Background()
			g, ledger := returnsIngester(t)
			const q = 4
			var evs []func() error
			var shipped, refunded int64
			maxShipped, maxRefunded := int64(0), int64(0)
			for v := int64(1); v <= 5; v++ {
				shipped = min(q, shipped+rnd.Int63n(2))
				refunded = min(shipped, refunded+rnd.Int63n(2))
				maxShipped, maxRefunded = max(maxShipped, shipped), max(maxRefunded, refunded)
				o := &connectors.Order{Channel: "shop", OrderID: "1", Status: connectors.StatusShipped, UpdatedAt: time.UnixMilli(1000 * v),
					Lines: []connectors.Line{{LineID: "L1", SKU: "A", Quantity: q, Shipped: shipped, Returned: refunded, Restock: true}}}
				e := connectors.Event{Kind: connectors.EventOrder, Channel: "shop", Order: o}
				evs = append(evs, func() error { return g.Handle(ctx, e) })
			}
			newest := evs[len(evs)-1]
			local := rnd.Int63n(q + 1)
			maxShipped = max(maxShipped, local)
			evs = append(evs, func() error {
				_, err := ledger.ShipLines(ctx, []inventory.LocalShipment{{Channel: "shop", OrderID: "1", LineID: "L1", SKU: "A", Location: "main", Shipped: local}})
				return err
			})
			var wanted int64
			var last []func() error // each return's final state
			for _, id := range []string{"R1", "R2"} {
				n := rnd.Int63n(3)
				wanted += n
				for k := int64(1); k <= n; k++ {
					e := connectors.Event{Kind: connectors.EventReturn, Channel: "shop", Topic: "returns/close", OrderID: "1",
						Return: &connectors.Return{OrderID: "1", ReturnID: id, Status: "closed", Facts: true,
							Lines: []connectors.ReturnLine{{LineID: "L1", Quantity: k, Received: true}}}}
					evs = append(evs, func() error { return g.Handle(ctx, e) })
					if k == n {
						last = append(last, evs[len(evs)-1])
					}
				}
			}
			n := len(evs)
			for i := 0; i < n; i++ {
				evs = append(evs, evs[rnd.Intn(n)])
			}
			rnd.Shuffle(len(evs)-1, func(i, j int) { evs[i+1], evs[j+1] = evs[j+1], evs[i+1] })
			for i, f := range evs {
				if err := f(); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				st, err := ledger.Stock(ctx, "A")
				if err != nil {
					t.Fatal(err)
				}
				recs, err := ledger.Lines(ctx, "shop", "1")
				if err != nil || len(recs) != 1 {
					continue // the first event may not be the order
				}
				back := st.Locations["main"].OnHand - (10 - recs[0].Shipped)
				if limit := min(maxShipped, max(maxRefunded, wanted)); back > limit || back > recs[0].Shipped {
					t.Fatalf("after event %d: %d units back of %d shipped, more than min(shipped %d, max(refunded %d, returned %d))",
						i, back, recs[0].Shipped, maxShipped, maxRefunded, wanted)
				}
			}
			// The newest state, every return and the newest state again
			// delivered once more: the line holds exactly its returned
			// units.
			for _, f := range append(append([]func() error{newest}, last...), newest) {
				if err := f(); err != nil {
					t.Fatal(err)
				}
			}
			st, err := ledger.Stock(ctx, "A")
			if err != nil {
				t.Fatal(err)
			}
			recs, err := ledger.Lines(ctx, "shop", "1")
			if err != nil || len(recs) != 1 {
				t.Fatalf("lines %v %v", recs, err)
			}
			back := st.Locations["main"].OnHand - (10 - recs[0].Shipped)
			if want := min(recs[0].Shipped, max(maxRefunded, wanted)); back != want {
				t.Errorf("in the end %d units back, want %d: min(shipped %d, max(refunded %d, returned %d))",
					back, want, recs[0].Shipped, maxRefunded, wanted)
			}
		})
	}
}
