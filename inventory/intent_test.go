package inventory

import (
	"context"
	"errors"
	"testing"
)

func TestIntents(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		pending := func() []Intent {
			t.Helper()
			in, err := l.PendingIntents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
		if len(pending()) != 0 {
			t.Fatal("fresh ledger has intents")
		}
		receive(t, l, "X", "A", 5)
		receive(t, l, "Y", "A", 5)
		if _, err := l.ApplyLines(ctx, []LineState{{Channel: "c", OrderID: "o", LineID: "1", SKU: "X", Location: "A", Ordered: 1, Version: 1}}); err != nil {
			t.Fatal(err)
		}
		if n, err := l.PendingCount(ctx); err != nil || n != 2 {
			t.Fatalf("PendingCount = %d, %v", n, err)
		}
		in := pending()
		if len(in) != 2 || in[0].SKU != "Y" || in[1].SKU != "X" || in[0].Seq >= in[1].Seq {
			t.Fatalf("oldest mark first: %+v", in)
		}
		// X is marked again after it was read: clearing the old read keeps it.
		if _, err := l.SetCount(ctx, Count{SKU: "X", Location: "A", Quantity: 9, Version: 1}); err != nil {
			t.Fatal(err)
		}
		for _, i := range in {
			if err := l.ClearIntent(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		left := pending()
		if len(left) != 1 || left[0].SKU != "X" || left[0].Seq <= in[1].Seq {
			t.Fatalf("re-marked intent must stay: %+v", left)
		}
		if err := l.ClearIntent(ctx, left[0]); err != nil {
			t.Fatal(err)
		}
		if len(pending()) != 0 {
			t.Fatal("cleared intent still pending")
		}
		// Ignored and repeated operations still mark: a mark costs an extra
		// recompute at worst, a missing one could lose a push.
		if _, err := l.Return(ctx, ReturnOp{Key: "r", SKU: "nope", Location: "A", Quantity: 1, Restock: true}); !errors.Is(err, ErrUnknownSKU) {
			t.Fatal(err)
		}
		if in := pending(); len(in) != 1 || in[0].SKU != "nope" {
			t.Fatalf("%+v", in)
		}
		if got, _ := l.PendingIntents(ctx, 1); len(got) != 1 {
			t.Fatalf("max 1: %+v", got)
		}
		if _, err := l.PendingIntents(ctx, 0); !errors.Is(err, ErrInvalid) {
			t.Fatal(err)
		}
		// With Options.NoIntents (benchmarks only) nothing is marked.
		quiet := e.ledger(Options{NoIntents: true})
		receive(t, quiet, "Z", "A", 1)
		if in := pending(); len(in) != 1 {
			t.Fatalf("intents written with Options.NoIntents: %+v", in)
		}
		// Any other ledger marks them: every writer (the CLI, the admin
		// API) is seen by the daemon's sweeper.
		plain := e.ledger(Options{})
		receive(t, plain, "Y", "A", 1)
		if in := pending(); len(in) != 2 {
			t.Fatalf("intents not written by a default ledger: %+v", in)
		}
	})
}

// TestScriptReload: after SCRIPT FLUSH (a Redis restart or failover) the
// ledger reloads its scripts, in single calls and in pipelines, and the
// intent is marked again for the retried calls.
func TestScriptReload(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		l := e.ledger(Options{})
		receive(t, l, "R", "A", 5)
		flush := func() {
			if err := e.rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		flush()
		r, err := l.ApplyLines(ctx, []LineState{
			{Channel: "c", OrderID: "o", LineID: "1", SKU: "R", Location: "A", Ordered: 1, Version: 1},
			{Channel: "c", OrderID: "o", LineID: "2", SKU: "R", Location: "A", Ordered: 1, Version: 1},
		})
		if err != nil || !r[0].Applied || !r[1].Applied || r[1].Available != 3 {
			t.Fatalf("after flush: %+v %v", r, err)
		}
		flush()
		if res, err := l.Adjust(ctx, Delta{Key: "a", SKU: "R", Location: "A", Quantity: 1, Reason: "found"}); err != nil || res.OnHand != 6 {
			t.Fatalf("adjust after flush: %+v %v", res, err)
		}
		flush()
		if res, err := l.SetCount(ctx, Count{SKU: "R", Location: "A", Quantity: 7, Version: 1}); err != nil || res.OnHand != 7 {
			t.Fatalf("count after flush: %+v %v", res, err)
		}
		in, err := l.PendingIntents(ctx, 10)
		if err != nil || len(in) != 1 {
			t.Fatalf("%+v %v", in, err)
		}
		flush()
		if err := l.ClearIntent(ctx, in[0]); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, l, nil)
	})
}
