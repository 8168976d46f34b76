package propagate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

type noUnpark struct{}

func (noUnpark) Unpark(context.Context, []string) (int, error) { return 0, nil }

// TestSweepPushesTheLedgerFigureOfAnItemInTwoOutboxLayouts: during a
// rolling change of redis.outbox_partitions (1 → 4) both layouts queue
// X and Y, and the outbox records no write time per item. X: the new
// layout queued 7, then the old one the later 2 (the ledger has 2). Y: the
// old one queued 2, then the new one the later 7 (the ledger has 7). The
// move marks both for a push from the ledger, and after the intent sweep
// the outbox wants what the ledger says, whichever layout wrote last.
func TestSweepPushesTheLedgerFigureOfAnItemInTwoOutboxLayouts(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for sku, q := range map[string]int64{"X": 2, "Y": 7} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r" + sku, SKU: sku, Location: "main", Quantity: q, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	clearIntents(t, l) // the receipts' own, so only the move's remain
	old := outbox.New(rdb, prefix, "shop")
	if _, err := old.Relayout(ctx); err != nil {
		t.Fatal(err)
	}
	ob := outbox.NewPartitioned(rdb, prefix, "shop", 4)
	ob.SetIntents(l)
	for _, step := range []struct {
		box  *outbox.Outbox
		want outbox.Want
	}{{ob, outbox.Want{SKU: "X", Quantity: 7}}, {old, outbox.Want{SKU: "X", Quantity: 2}},
		{old, outbox.Want{SKU: "Y", Quantity: 2}}, {ob, outbox.Want{SKU: "Y", Quantity: 7}}} {
		if _, err := step.box.Enqueue(ctx, []outbox.Want{step.want}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ob.Relayout(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := l.PendingIntents(ctx, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("intents after the move %v %v, want X and Y", pending, err)
	}
	s := &Sweeper{Intents: l, Unparker: noUnpark{}, P: New(rdb, l, []Channel{{Name: "shop", Locations: []string{"main"}, Outbox: ob, Wake: func() {}}})}
	if err := s.apply(ctx, l, pending); err != nil {
		t.Fatal(err)
	}
	items, err := ob.Due(ctx, 10, time.Now())
	got := map[string]int64{}
	for _, it := range items {
		got[it.SKU] = it.Quantity
	}
	if err != nil || fmt.Sprint(got) != "map[X:2 Y:7]" {
		t.Fatalf("due after the sweep %v %v, want the ledger's X 2 and Y 7", got, err)
	}
}

func clearIntents(t *testing.T, l *inventory.Ledger) {
	t.Helper()
	ctx := context.Background()
	in, err := l.PendingIntents(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range in {
		if err := l.ClearIntent(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
}
