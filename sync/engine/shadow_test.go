package engine

import (
	"context"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// TestShadowModeRecordsThenLivePushesWhatIsDue: a channel in shadow mode
// gets no push call while the ledger changes (a live channel beside it
// does); its report shows the quantity that would have been pushed and
// what the channel shows; restarted in live mode, the held item is pushed.
func TestShadowModeRecordsThenLivePushesWhatIsDue(t *testing.T) {
	for _, global := range []bool{false, true} {
		name := "channel sync_mode"
		if global {
			name = "global sync.mode"
		}
		t.Run(name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			ctx := context.Background()
			shop, ebay := newMemChannel(), newMemChannel()
			shop.set("A", 3)
			cfg := testConfig(prefix, "shop", "ebay")
			if global {
				cfg.Sync.Mode = config.ModeShadow
				cfg.Channels[1].SyncMode = config.ModeLive
			} else {
				cfg.Channels[0].SyncMode = config.ModeShadow
			}
			h := newHarness(t, rdb, cfg, map[string]*memChannel{"shop": shop, "ebay": ebay})
			l := h.engine.Ledger()
			if _, err := l.Receive(ctx, inventory.Delta{Key: "r1", SKU: "A", Location: "main", Quantity: 10, Reason: "initial"}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Adjust(ctx, inventory.Delta{Key: "a1", SKU: "A", Location: "main", Quantity: -2, Reason: "count"}); err != nil {
				t.Fatal(err)
			}
			h.eventually("ebay (live) lists 8", func() bool { q, ok := ebay.listed("A"); return ok && q == 8 })
			h.eventually("shop's would-be push of 8 recorded and held", func() bool {
				rep, err := h.engine.ShadowReport(ctx, "shop")
				held, herr := outbox.New(rdb, prefix, "shop").Held(ctx)
				return err == nil && herr == nil && held == 1 && len(rep.Lines) == 1 && rep.Lines[0].Quantity == 8
			})
			rep, err := h.engine.ShadowReport(ctx, "shop")
			if err != nil {
				t.Fatal(err)
			}
			if l := rep.Lines[0]; rep.Mode != config.ModeShadow || l.SKU != "A" || l.Channel == nil || *l.Channel != 3 || !l.Differs || rep.Differing != 1 || rep.ReadError != "" {
				t.Fatalf("report %+v, line %+v: want A would push 8, channel shows 3, differs", rep, l)
			}
			shop.mu.Lock()
			pushes := shop.pushes
			shop.mu.Unlock()
			if q, _ := shop.listed("A"); pushes != 0 || q != 3 {
				t.Fatalf("shadow channel got %d push calls and lists %d, want none and 3", pushes, q)
			}
			h.stop()

			// Switched to live (config change and restart): what is due is pushed.
			live := testConfig(prefix, "shop", "ebay")
			h2 := newHarness(t, rdb, live, map[string]*memChannel{"shop": shop, "ebay": ebay})
			h2.eventually("shop lists 8 once live", func() bool { q, ok := shop.listed("A"); return ok && q == 8 })
			if held, err := outbox.New(rdb, prefix, "shop").Held(ctx); err != nil || held != 0 {
				t.Fatalf("held after going live = %d, %v; want 0", held, err)
			}
		})
	}
}
