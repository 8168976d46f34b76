package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"
)

// concLine is one order line with every state the test will send, in
// version order; the ledger must end at the last one.
type concLine struct {
	states []LineState
}

type concOp struct {
	lines []LineState
	delta *Delta
	adj   bool
	ret   *ReturnOp
	count *Count
}

func (o concOp) size() int {
	if len(o.lines) > 0 {
		return len(o.lines)
	}
	return 1
}

// concPlan is a randomized workload and its sequential model.
type concPlan struct {
	skus   []string
	lines  []concLine
	ops    []concOp
	deltas map[string]*Delta    // by sku|key: applied once however often sent
	rets   map[string]*ReturnOp // by sku|key
	counts map[string]*Count    // sku -> the newest count (location W)
}

const (
	concBase  = 1_000_000 // initial stock at A and B: adjustments never hit zero
	concSmall = 3         // initial stock at C: split lines take it first
)

func newConcPlan(seed uint64, skus []string, linesPerSKU, minOps int) *concPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := &concPlan{skus: skus, deltas: map[string]*Delta{}, rets: map[string]*ReturnOp{}, counts: map[string]*Count{}}
	for _, sku := range skus {
		for i := 0; i < linesPerSKU; i++ {
			base := LineState{Channel: []string{"shop", "ebay"}[i%2], OrderID: fmt.Sprintf("%s-o%d", sku, i/3), LineID: strconv.Itoa(i % 3), SKU: sku}
			switch rng.IntN(5) {
			case 0:
				base.Location = "A"
			case 1:
				base.Location = "B"
			case 2:
				// Routed: the whole order (its lines are of this SKU) fits
				// at A, the first candidate, as concBase is far above any
				// order: the same place the model expects.
				base.Candidates = []string{"A", "B"}
				if i%2 == 0 {
					base.Route = []RouteStep{{Rule: "single_location", Kind: RouteWhole}, {Rule: "most_available", Kind: RouteMost, Locations: []string{"A"}}}
				}
			case 3:
				// Split: what C has (a unit now and then, concSmall and
				// the "c-" receipts below), the rest from A. The parts
				// depend on the timing, so the model reads them from the
				// record.
				base.Candidates = []string{"C", "A"}
				base.Route = []RouteStep{{Rule: RuleSplit, Kind: RouteSplit}}
			default:
				base.Candidates = []string{"B", "A"}
			}
			base.Restock = rng.IntN(2) == 0 // a channel's return policy is fixed
			s := base
			s.Ordered = int64(1 + rng.IntN(5))
			s.Version = 1_763_700_000_000_000_000 + int64(rng.IntN(1000))*1000
			cl := concLine{states: []LineState{s}}
			for k := rng.IntN(6); k > 0; k-- {
				s.Version += int64(1 + rng.IntN(5000))
				switch rng.IntN(5) {
				case 0: // quantity edit
					s.Ordered = max(s.Shipped+s.Cancelled, s.Ordered+int64(rng.IntN(5))-2)
				case 1:
					if s.Shipped+s.Cancelled < s.Ordered {
						s.Shipped++
					}
				case 2:
					if s.Shipped+s.Cancelled < s.Ordered {
						s.Cancelled++
					}
				case 3:
					if s.Returned < s.Shipped {
						s.Returned++
					}
				case 4: // ship everything left
					s.Shipped = s.Ordered - s.Cancelled
				}
				cl.states = append(cl.states, s)
			}
			p.lines = append(p.lines, cl)
		}
	}
	var n int
	add := func(o concOp) { p.ops = append(p.ops, o); n += o.size() }
	// Every state, delta and count is sent at least once ...
	for _, cl := range p.lines {
		for _, s := range cl.states {
			add(concOp{lines: []LineState{s}})
		}
	}
	var deltas []concOp
	for i := 0; i < minOps/10; i++ {
		sku := skus[rng.IntN(len(skus))]
		loc := []string{"A", "B"}[rng.IntN(2)]
		key := fmt.Sprintf("op-%d", i)
		var o concOp
		switch rng.IntN(3) {
		case 0:
			d := &Delta{Key: key, SKU: sku, Location: loc, Quantity: int64(1 + rng.IntN(5))}
			p.deltas[sku+"|"+key] = d
			o = concOp{delta: d}
		case 1:
			q := int64(rng.IntN(9)) - 3
			if q == 0 {
				q = 1
			}
			d := &Delta{Key: key, SKU: sku, Location: loc, Quantity: q, Reason: "cycle"}
			p.deltas[sku+"|"+key] = d
			o = concOp{delta: d, adj: true}
		default:
			r := &ReturnOp{Key: key, SKU: sku, Location: loc, Quantity: int64(1 + rng.IntN(3)), Restock: rng.IntN(2) == 0}
			p.rets[sku+"|"+key] = r
			o = concOp{ret: r}
		}
		deltas = append(deltas, o)
		add(o)
	}
	var counts []concOp
	for i := 0; i < minOps/20; i++ {
		sku := skus[rng.IntN(len(skus))]
		// Versions are distinct (7919 is coprime with the prime 1000003), so
		// the newest count is one count, whatever the timing; the order they
		// are sent in is the shuffle's.
		c := &Count{SKU: sku, Location: "W", Quantity: int64(rng.IntN(100)), Version: int64(i+1) * 7919 % 1_000_003, Net: rng.IntN(2) == 0}
		if cur := p.counts[sku]; cur == nil || c.Version > cur.Version {
			p.counts[sku] = c
		}
		counts = append(counts, concOp{count: c})
		add(concOp{count: c})
	}
	// ... then again at random: duplicates, old versions, batches.
	for n < minOps {
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			cl := p.lines[rng.IntN(len(p.lines))]
			add(concOp{lines: []LineState{cl.states[rng.IntN(len(cl.states))]}})
		case 4, 5:
			b := make([]LineState, 1+rng.IntN(32))
			for i := range b {
				cl := p.lines[rng.IntN(len(p.lines))]
				b[i] = cl.states[rng.IntN(len(cl.states))]
			}
			add(concOp{lines: b})
		case 6, 7, 8:
			add(deltas[rng.IntN(len(deltas))])
		default:
			add(counts[rng.IntN(len(counts))])
		}
	}
	rng.Shuffle(len(p.ops), func(i, j int) { p.ops[i], p.ops[j] = p.ops[j], p.ops[i] })
	// Each split-route line's first state goes first, after a receipt of
	// one unit at C (a line's many sends make its first one early, so
	// receipts left to the shuffle would come after every line exists):
	// C has a unit or two as most of them arrive, less than they want.
	var pre []concOp
	for i, cl := range p.lines {
		if s := cl.states[0]; len(s.Candidates) == 2 && s.Candidates[0] == "C" {
			d := &Delta{Key: fmt.Sprintf("c-%d", i), SKU: s.SKU, Location: "C", Quantity: 1}
			p.deltas[s.SKU+"|"+d.Key] = d
			pre = append(pre, concOp{delta: d}, concOp{lines: []LineState{s}})
		}
	}
	p.ops = append(pre, p.ops...)
	return p
}

// testConcurrency runs the plan with many goroutines, then checks the figures
// against the sequential model of the final states, Verify, and the journal.
func testConcurrency(t *testing.T, e *testEnv, minOps, workers int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	skus := []string{"HOT-1", "HOT-2", "ho{t}-3", "HOT-4"}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("INVENTORY_CONC_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (INVENTORY_CONC_SEED reproduces the plan)", seed)
	p := newConcPlan(seed, skus, 150, minOps)
	l := e.ledger(Options{JournalMaxLen: 10_000_000, VerifyDepth: 10_000_000})
	for _, sku := range skus {
		for loc, q := range map[string]int64{"A": concBase, "B": concBase, "C": concSmall} {
			if _, err := l.Receive(ctx, Delta{Key: "init-" + loc, SKU: sku, Location: loc, Quantity: q}); err != nil {
				t.Fatal(err)
			}
		}
	}

	var next, sent atomic.Int64
	var wg gosync.WaitGroup
	errc := make(chan error, workers)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(p.ops)) || ctx.Err() != nil {
					return
				}
				o := p.ops[i]
				var err error
				switch {
				case len(o.lines) > 0:
					var res []LineResult
					res, err = l.ApplyLines(ctx, o.lines)
					for _, r := range res {
						if r.Ignored == IgnoredUnknownSKU || r.Ignored == IgnoredRefused {
							err = fmt.Errorf("unexpected result %+v", r)
						}
					}
				case o.delta != nil && o.adj:
					_, err = l.Adjust(ctx, *o.delta)
				case o.delta != nil:
					_, err = l.Receive(ctx, *o.delta)
				case o.ret != nil:
					_, err = l.Return(ctx, *o.ret)
				case o.count != nil:
					_, err = l.SetCount(ctx, *o.count)
				}
				sent.Add(int64(o.size()))
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("operation failed: %v", err)
	}
	t.Logf("%s: %d operations (%d sends) by %d goroutines", e.name, sent.Load(), len(p.ops), workers)
	if sent.Load() < int64(minOps) {
		t.Fatalf("only %d operations", sent.Load())
	}

	// The sequential model of the final states.
	type fig struct{ h, r int64 }
	want := map[string]map[string]fig{}
	for _, sku := range skus {
		want[sku] = map[string]fig{"A": {concBase, 0}, "B": {concBase, 0}, "C": {concSmall, 0}}
	}
	splits := 0
	lineContribution := map[string]fig{} // ref -> the line's own movement
	for _, cl := range p.lines {
		last := cl.states[len(cl.states)-1]
		recs, err := l.Lines(ctx, last.Channel, last.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		var rec *LineRecord
		for i := range recs {
			if recs[i].LineID == last.LineID {
				rec = &recs[i]
			}
		}
		if rec == nil {
			t.Fatalf("line %s/%s/%s lost", last.Channel, last.OrderID, last.LineID)
		}
		if rec.Version != last.Version || rec.Ordered != last.Ordered || rec.Shipped != last.Shipped || rec.Cancelled != last.Cancelled || rec.Restocked+rec.WrittenOff != last.Returned {
			t.Fatalf("line %s/%s/%s: record %+v, final state %+v", last.Channel, last.OrderID, last.LineID, *rec, last)
		}
		if last.Location != "" && rec.Location != last.Location {
			t.Fatalf("line given at %s recorded at %s", last.Location, rec.Location)
		}
		var restocked int64
		if last.Restock {
			restocked = last.Returned
		}
		c := fig{restocked - last.Shipped, last.Ordered - last.Shipped - last.Cancelled}
		lineContribution[last.Channel+"/"+last.OrderID+"/"+last.LineID] = c
		// A split line's contribution is spread over its parts; the
		// shares add up to the contribution.
		var sum fig
		for loc, lv := range rec.Shares() {
			f := want[last.SKU][loc]
			want[last.SKU][loc] = fig{f.h + lv.OnHand, f.r + lv.Reserved}
			sum = fig{sum.h + lv.OnHand, sum.r + lv.Reserved}
		}
		if sum != c {
			t.Fatalf("line %s/%s/%s: shares %+v of %+v add up to %+v, not %+v", last.Channel, last.OrderID, last.LineID, rec.Shares(), *rec, sum, c)
		}
		if len(rec.Split) > 0 {
			splits++
			if !reflect.DeepEqual(last.Candidates, []string{"C", "A"}) {
				t.Fatalf("line %s/%s/%s split without a split route: %+v", last.Channel, last.OrderID, last.LineID, *rec)
			}
		}
	}
	t.Logf("%d split lines", splits)
	if splits == 0 {
		t.Fatal("no line was split: the split case ran no split")
	}
	for _, d := range p.deltas {
		f := want[d.SKU][d.Location]
		want[d.SKU][d.Location] = fig{f.h + d.Quantity, f.r}
	}
	for _, r := range p.rets {
		if r.Restock {
			f := want[r.SKU][r.Location]
			want[r.SKU][r.Location] = fig{f.h + r.Quantity, f.r}
		}
	}
	for sku, c := range p.counts {
		want[sku]["W"] = fig{c.Quantity, 0} // nothing is reserved at W: net = physical
	}
	for _, sku := range skus {
		st, err := l.Stock(ctx, sku)
		if err != nil {
			t.Fatal(err)
		}
		for loc, w := range want[sku] {
			got := st.Locations[loc]
			if got.OnHand != w.h || got.Reserved != w.r {
				t.Errorf("%s @ %s: on_hand %d reserved %d, model %d %d", sku, loc, got.OnHand, got.Reserved, w.h, w.r)
			}
		}
		if len(st.Locations) != len(want[sku]) {
			t.Errorf("%s: locations %v, model %v", sku, st.Locations, want[sku])
		}
	}
	mustVerify(t, l, nil)

	// No movement lost or doubled: the whole journal replays from zero to
	// the figures, each keyed operation appears exactly once, and each line's
	// movements add up to its final contribution.
	for _, sku := range skus {
		msgs, err := e.rdb.XRange(ctx, l.keys(sku).journal, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		entries, err := decodeJournal(sku, msgs, false)
		if err != nil {
			t.Fatal(err)
		}
		run := map[string]fig{}
		keyed := map[string]int{}
		perLine := map[string]fig{}
		for _, en := range entries {
			cur := run[en.Location]
			if en.Before.OnHand != cur.h || en.Before.Reserved != cur.r {
				t.Fatalf("%s @ %s: entry %s starts at %+v, replay is at %+v", sku, en.Location, en.ID, en.Before, cur)
			}
			run[en.Location] = fig{en.After.OnHand, en.After.Reserved}
			switch en.Op {
			case OpLine:
				pl := perLine[en.Ref]
				perLine[en.Ref] = fig{pl.h + en.After.OnHand - en.Before.OnHand, pl.r + en.After.Reserved - en.Before.Reserved}
			case OpReceive, OpAdjust, OpRestock, OpWriteOff:
				keyed[en.Ref]++
			}
		}
		st, _ := l.Stock(ctx, sku)
		for loc, lv := range st.Locations {
			if run[loc] != (fig{lv.OnHand, lv.Reserved}) {
				t.Errorf("%s @ %s: journal replays to %+v, figures %+v", sku, loc, run[loc], lv)
			}
		}
		for k, n := range keyed {
			if n != 1 {
				t.Errorf("%s: operation %s journaled %d times", sku, k, n)
			}
		}
		for key := range p.deltas {
			if s, k, _ := strings.Cut(key, "|"); s == sku && keyed[k] != 1 {
				t.Errorf("%s: delta %s journaled %d times", sku, k, keyed[k])
			}
		}
		for key := range p.rets {
			if s, k, _ := strings.Cut(key, "|"); s == sku && keyed[k] != 1 {
				t.Errorf("%s: return %s journaled %d times", sku, k, keyed[k])
			}
		}
		for ref, c := range lineContribution {
			if strings.HasPrefix(ref, "shop/"+sku+"-") || strings.HasPrefix(ref, "ebay/"+sku+"-") {
				if perLine[ref] != c {
					t.Errorf("line %s: journal moved %+v, final state is %+v", ref, perLine[ref], c)
				}
			}
		}
	}
	in, err := l.PendingIntents(ctx, 100)
	if err != nil || len(in) != len(skus) {
		t.Fatalf("intents %+v, %v", in, err)
	}
}

// TestConcurrentLedger: many goroutines apply random line states (with
// duplicates, reorderings, old versions, cancels, returns), deltas and WMS
// counts to a few hot SKUs: at least 100,000 operations on the real Redis
// (INVENTORY_CONC_OPS overrides both), and 5,000 on miniredis, whose Lua (a fresh
// gopher-lua state per script run) is two orders of magnitude slower under
// -race.
func TestConcurrentLedger(t *testing.T) {
	ops, embeddedOps := 100_000, 5_000
	if v, err := strconv.Atoi(os.Getenv("INVENTORY_CONC_OPS")); err == nil && v > 0 {
		ops, embeddedOps = v, v
	}
	t.Run("redis", func(t *testing.T) { testConcurrency(t, realRedis(t), ops, 32) })
	t.Run("miniredis", func(t *testing.T) { testConcurrency(t, embedded(t), embeddedOps, 8) })
}

// TestWireSharesPipelines: concurrent one-line calls share pipelines (wire)
// and each gets its own results; a call whose context ended before its
// pipeline left is not sent at all.
func TestWireSharesPipelines(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		for _, sku := range []string{"W1", "W2", "W3"} {
			receive(t, l, sku, "A", 1000)
		}
		const callers, per = 40, 25
		var wg gosync.WaitGroup
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < per; i++ {
					sku := []string{"W1", "W2", "W3"}[(c+i)%3]
					s := LineState{Channel: "c", OrderID: fmt.Sprintf("%d-%d", c, i), LineID: "1", SKU: sku, Location: "A", Ordered: int64(1 + i%3), Version: 1}
					got, err := l.ApplyLines(ctx, []LineState{s})
					if err != nil || len(got) != 1 || !got[0].Applied || got[0].Location != "A" {
						t.Errorf("%+v: %+v, %v", s, got, err)
						return
					}
					again, err := l.ApplyLines(ctx, []LineState{s})
					if err != nil || again[0].Ignored != IgnoredDuplicate {
						t.Errorf("%+v again: %+v, %v", s, again, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		var reserved int64
		for _, sku := range []string{"W1", "W2", "W3"} {
			reserved += stockOf(t, l, sku)["A"][1]
		}
		if want := int64(callers * (per/3*6 + []int64{0, 1, 3}[per%3])); reserved != want {
			t.Errorf("reserved %d in all, want %d", reserved, want)
		}
		mustVerify(t, l, nil)

		done, cancel := context.WithCancel(ctx)
		cancel()
		s := LineState{Channel: "c", OrderID: "cancelled", LineID: "1", SKU: "W1", Location: "A", Ordered: 1, Version: 1}
		if _, err := l.ApplyLines(done, []LineState{s}); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
		if recs, err := l.Lines(ctx, "c", "cancelled"); err != nil || recs != nil {
			t.Fatalf("a cancelled call was sent: %+v, %v", recs, err)
		}
	})
}
