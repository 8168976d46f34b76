package catalog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// kitOrder is one order line as a channel names it (a kit, a mapped
// listing or a plain SKU), with every state the test sends, in version
// order: the ledger must end at the last.
type kitOrder struct {
	states []inventory.LineState
}

// kitWorkload builds orders on three channels: kits sharing components,
// a mapped pack, and the components sold alone. Each line goes placed,
// then maybe partly shipped, then maybe cancelled or returned.
func kitWorkload(rng *rand.Rand, n int) []kitOrder {
	listings := []string{"K1", "K2", "K3", "PACK", "A", "B", "D"}
	chans := []string{"shop", "bay", "amz"}
	out := make([]kitOrder, n)
	for i := range out {
		base := inventory.LineState{Channel: chans[i%3], OrderID: fmt.Sprintf("o%d", i), LineID: "1",
			SKU: listings[rng.IntN(len(listings))], Candidates: []string{"main", "backup"}, Restock: rng.IntN(2) == 0}
		q := int64(1 + rng.IntN(3))
		s := base
		s.Ordered, s.Version = q, 1000
		o := kitOrder{states: []inventory.LineState{s}}
		if rng.IntN(2) == 0 {
			s.Shipped, s.Version = int64(rng.IntN(int(q)+1)), 2000
			o.states = append(o.states, s)
		}
		switch rng.IntN(3) {
		case 0:
			s.Cancelled, s.Version = s.Ordered-s.Shipped, 3000
			o.states = append(o.states, s)
		case 1:
			if s.Shipped > 0 {
				s.Returned, s.Version = int64(1+rng.IntN(int(s.Shipped))), 3000
				o.states = append(o.states, s)
			}
		}
		out[i] = o
	}
	return out
}

// TestKitLinesConcurrently: kits sharing components (K1 = 2 A + B, K2 =
// A + C, K3 = B + 2 C + D), a mapped pack (PACK is 4 A on every channel)
// and the components sold alone, on three channels, by eight workers at
// once, each delivery translated through the catalog (Resolve,
// ExpandLine) as ingest does; every state is sent, a third of them twice,
// in shuffled order (older states after newer ones). The ledger must end
// exactly where the same orders sold as plain component lines (their final
// states, applied one by one to a second ledger) end: nothing lost,
// nothing doubled, no component oversold beyond what single-SKU sales
// would; and Verify finds nothing.
func TestKitLinesConcurrently(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	kitLedger := inventory.New(rdb, inventory.Options{Prefix: prefix + "kits:"})
	plainLedger := inventory.New(rdb, inventory.Options{Prefix: prefix + "plain:"})
	comps := []string{"A", "B", "C", "D"}
	for _, l := range []*inventory.Ledger{kitLedger, plainLedger} {
		for _, s := range comps {
			for _, loc := range []string{"main", "backup"} {
				// Little stock: the workload oversells on purpose.
				if _, err := l.Receive(ctx, inventory.Delta{Key: "seed-" + loc, SKU: s, Location: loc, Quantity: 40, Reason: "seed"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	cat := catalog.New(rdb, prefix+"kits:")
	plan := catalog.Plan{
		Kits: []catalog.Kit{
			{SKU: "K1", Components: []catalog.Component{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}},
			{SKU: "K2", Components: []catalog.Component{{SKU: "A", Quantity: 1}, {SKU: "C", Quantity: 1}}},
			{SKU: "K3", Components: []catalog.Component{{SKU: "B", Quantity: 1}, {SKU: "C", Quantity: 2}, {SKU: "D", Quantity: 1}}},
		},
	}
	for _, ch := range []string{"shop", "bay", "amz"} {
		plan.Mappings = append(plan.Mappings, catalog.Mapping{Channel: ch, Listing: "PACK", SKU: "A", Multiplier: 4})
	}
	if probs, err := cat.Check(ctx, plan, kitLedger, nil); err != nil || len(probs) > 0 {
		t.Fatal(probs, err)
	}
	if _, err := cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	orders := kitWorkload(rng, 600)
	var sends [][]inventory.LineState
	for _, o := range orders {
		for _, s := range o.states {
			sends = append(sends, []inventory.LineState{s})
			if rng.IntN(3) == 0 {
				sends = append(sends, []inventory.LineState{s})
			}
		}
	}
	rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
	// Some deliveries carry several lines (a batch of the intake).
	var batches [][]inventory.LineState
	for i := 0; i < len(sends); {
		n := 1 + rng.IntN(4)
		var b []inventory.LineState
		for ; n > 0 && i < len(sends); n, i = n-1, i+1 {
			b = append(b, sends[i]...)
		}
		batches = append(batches, b)
	}
	applyConcurrently(t, cat, kitLedger, batches)

	// The same orders as plain component lines, final states only,
	// expanded by hand from the plan (not by the code under test).
	var final []inventory.LineState
	for _, o := range orders {
		final = append(final, expandByHand(o.states[len(o.states)-1])...)
	}
	for _, s := range final {
		if _, err := plainLedger.ApplyLines(ctx, []inventory.LineState{s}); err != nil {
			t.Fatal(err)
		}
	}
	compareLedgers(t, kitLedger, plainLedger, comps, final)
}

// expandByHand is the test's own model of the plan: which components,
// how many units per unit sold.
func expandByHand(s inventory.LineState) []inventory.LineState {
	parts := map[string][]struct {
		sku string
		per int64
	}{
		"K1":   {{"A", 2}, {"B", 1}},
		"K2":   {{"A", 1}, {"C", 1}},
		"K3":   {{"B", 1}, {"C", 2}, {"D", 1}},
		"PACK": {{"A", 4}},
	}[s.SKU]
	if parts == nil {
		return []inventory.LineState{s}
	}
	var out []inventory.LineState
	for _, p := range parts {
		c := s
		c.SKU, c.LineID = p.sku, s.LineID+"/"+p.sku
		c.Ordered, c.Shipped, c.Cancelled, c.Returned = s.Ordered*p.per, s.Shipped*p.per, s.Cancelled*p.per, s.Returned*p.per
		out = append(out, c)
	}
	return out
}

// applyConcurrently sends batches from eight workers, each translated
// through the catalog first.
func applyConcurrently(t *testing.T, cat *catalog.Catalog, l *inventory.Ledger, batches [][]inventory.LineState) {
	t.Helper()
	ctx := context.Background()
	work := make(chan []inventory.LineState)
	errs := make(chan error, 8)
	var wg gosync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				refs := make([]catalog.Ref, len(b))
				for i, s := range b {
					refs[i] = catalog.Ref{Channel: s.Channel, SKU: s.SKU}
				}
				res, _, err := cat.Resolve(ctx, refs)
				if err != nil {
					errs <- err
					return
				}
				var x []inventory.LineState
				for _, s := range b {
					x = append(x, catalog.ExpandLine(s, res[catalog.Ref{Channel: s.Channel, SKU: s.SKU}])...)
				}
				if _, err := l.ApplyLines(ctx, x); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// compareLedgers: each component's totals over its locations are the
// same in both ledgers and what the final line states add up to; Verify
// finds nothing in either.
func compareLedgers(t *testing.T, kits, plain *inventory.Ledger, comps []string, final []inventory.LineState) {
	t.Helper()
	ctx := context.Background()
	wantRes, wantOn := map[string]int64{}, map[string]int64{}
	for _, s := range final {
		wantRes[s.SKU] += s.Ordered - s.Shipped - s.Cancelled
		wantOn[s.SKU] -= s.Shipped
		if s.Restock {
			wantOn[s.SKU] += s.Returned
		}
	}
	var oversold int64
	for _, sku := range comps {
		totals := func(l *inventory.Ledger) (on, res int64) {
			st, err := l.Stock(ctx, sku)
			if err != nil {
				t.Fatal(err)
			}
			for _, lv := range st.Locations {
				on, res = on+lv.OnHand, res+lv.Reserved
			}
			return on, res
		}
		kOn, kRes := totals(kits)
		pOn, pRes := totals(plain)
		if kOn != pOn || kRes != pRes || kRes != wantRes[sku] || kOn != 80+wantOn[sku] {
			t.Errorf("%s: kits on_hand %d reserved %d; plain %d/%d; the lines add up to %d/%d", sku, kOn, kRes, pOn, pRes, 80+wantOn[sku], wantRes[sku])
		}
		if kOn-kRes < 0 {
			oversold += kRes - kOn
		}
	}
	t.Logf("%d final component lines; oversold units over all components: %d", len(final), oversold)
	for name, l := range map[string]*inventory.Ledger{"kits": kits, "plain": plain} {
		if probs, err := l.Verify(ctx, comps); err != nil || len(probs) > 0 {
			t.Errorf("verify %s: %v %v", name, probs, err)
		}
	}
}
