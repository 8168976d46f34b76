package inventory

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/shelfsync/shelfsync/internal/signaltest"
)

// expectedSignals replays the journal (every movement, in the order the
// scripts ran) through the signal state machine (internal/signaltest):
// what the ledger should have emitted, one event per crossing. Each
// operation below is one script run writing one journal entry, so entry
// and run coincide.
func expectedSignals(js []JournalEntry, point int64) []signaltest.Event {
	return signaltest.Replay(journalSteps(js), point)
}

// journalSteps are the journal's entries as signaltest steps.
func journalSteps(js []JournalEntry) []signaltest.Step {
	out := make([]signaltest.Step, len(js))
	for i, e := range js {
		out[i] = signaltest.Step{Location: e.Location, OnHand: e.After.OnHand, Reserved: e.After.Reserved, At: e.Time.UnixMilli()}
	}
	return out
}

// TestSignalsUnderConcurrency: writers race on one SKU (sales, cancels,
// receipts, counts, retries of each); the events the ledger kept are
// exactly the crossings of the order its scripts ran in (the journal),
// with the figures of that moment: none lost, none doubled.
func TestSignalsUnderConcurrency(t *testing.T) {
	e := realRedis(t)
	ctx := context.Background()
	l := e.ledger(Options{NoIntents: true})
	const sku, point = "RACE", 6
	for _, loc := range []string{"A", "B"} {
		if _, err := l.Receive(ctx, Delta{Key: "init-" + loc, SKU: sku, Location: loc, Quantity: 8}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.SetReorder(ctx, Reorder{SKU: sku, Location: "A", Point: point}, "test"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 150; i++ {
				if err := raceStep(ctx, l, rng, sku, w, i); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	js, err := l.History(ctx, sku, 100000)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedSignals(js, point) // (the receipts before the point stay above it)
	evs, err := l.PendingSignals(ctx, sku, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d (crossings in the journal of %d movements)", len(evs), len(want), len(js))
	}
	for i, ev := range evs {
		w := want[i]
		if ev.Type != w.Type || ev.Available != w.Available || ev.OnHand != w.OnHand || ev.Reserved != w.Reserved || ev.Seq != w.Seq {
			t.Fatalf("event %d: %s at %d (on hand %d, reserved %d, seq %d), want %+v", i, ev.Type, ev.Available, ev.OnHand, ev.Reserved, ev.Seq, w)
		}
	}
	if len(evs) < 10 {
		t.Fatalf("only %d crossings: the test did not exercise the line", len(evs))
	}
	t.Logf("%d movements, %d events", len(js), len(evs))
}

// raceStep is one random operation, sometimes sent twice (a retry).
func raceStep(ctx context.Context, l *Ledger, rng *rand.Rand, sku string, w, i int) error {
	loc := []string{"A", "B"}[rng.Intn(2)]
	st, err := l.Stock(ctx, sku)
	if err != nil {
		return err
	}
	var avail int64
	for _, a := range st.Available() {
		avail += a
	}
	// Steer around the two lines (0 and the point) so it crosses often.
	pick := rng.Intn(4)
	if avail > 8 && pick >= 2 {
		pick = 0
	} else if avail < 1 && pick < 2 {
		pick = 2
	}
	var op func() error
	switch pick {
	case 0, 1: // a sale, sometimes cancelled at once in a later version
		q := int64(1 + rng.Intn(3))
		c := int64(0)
		if rng.Intn(3) == 0 {
			c = q
		}
		op = func() error {
			_, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: fmt.Sprintf("%d-%d", w, i), LineID: "1", SKU: sku, Location: loc, Ordered: q, Cancelled: c, Version: 1}})
			return err
		}
	case 2:
		q := int64(1 + rng.Intn(4))
		op = func() error {
			_, err := l.Receive(ctx, Delta{Key: fmt.Sprintf("r-%d-%d", w, i), SKU: sku, Location: loc, Quantity: q})
			return err
		}
	default:
		q := int64(rng.Intn(3))
		op = func() error {
			_, err := l.Adjust(ctx, Delta{Key: fmt.Sprintf("a-%d-%d", w, i), SKU: sku, Location: loc, Quantity: -q - 1, Reason: "shrink"})
			return err
		}
	}
	n := 1
	if rng.Intn(4) == 0 {
		n = 2 // the same request again: a repeat, no movement
	}
	for ; n > 0; n-- {
		// a shrink below zero is refused: no movement
		if err := op(); err != nil && !errors.Is(err, ErrInsufficient) {
			return err
		}
	}
	return nil
}

// TestSignalTypesAsSignaltest: the replay's event types are the ledger's.
func TestSignalTypesAsSignaltest(t *testing.T) {
	for got, want := range map[string]string{SignalLow: signaltest.Low, SignalOut: signaltest.Out, SignalBack: signaltest.Back, SignalRearm: signaltest.Rearm} {
		if got != want {
			t.Errorf("ledger type %q, signaltest %q", got, want)
		}
	}
}
