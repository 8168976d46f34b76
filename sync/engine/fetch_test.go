package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// stuckFetcher is a channel whose order reads hang (a marketplace at its
// rate limit) until released.
type stuckFetcher struct {
	*memChannel
	release chan struct{}
}

func (s *stuckFetcher) FetchOrder(ctx context.Context, id string) (*connectors.Order, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.memChannel.FetchOrder(ctx, id)
}

// TestOneChannelsFetchesNeverDelayAnotherChannelsSales: while a flood of
// "order changed, fetch it" events of one channel waits on that channel's
// quota, a sale on another channel is applied and pushed everywhere; the
// waiting fetches complete once the quota allows.
func TestOneChannelsFetchesNeverDelayAnotherChannelsSales(t *testing.T) {
	rdb, prefix := redistest.New(t)
	slow := &stuckFetcher{memChannel: newMemChannel(), release: make(chan struct{})}
	fast := newMemChannel()
	h := newHarnessWith(t, rdb, testConfig(prefix, "slow", "fast"), map[string]*memChannel{"slow": slow.memChannel, "fast": fast},
		map[string]connectors.Connector{"slow": slow})
	ctx := context.Background()
	l := h.engine.Ledger()
	for _, sku := range []string{"A", "B"} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r" + sku, SKU: sku, Location: "main", Quantity: 100, Reason: "initial"}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("listed", func() bool { return h.listedEverywhere("A", 100)() && h.listedEverywhere("B", 100)() })

	var flood []connectors.Event
	for i := range 200 {
		id := fmt.Sprintf("S%d", i)
		slow.putOrder(order("slow", id, time.Now().UnixMilli(), connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "B", Quantity: 1}))
		flood = append(flood, connectors.Event{Kind: connectors.EventOrderChanged, Channel: "slow", OrderID: id})
	}
	if err := h.engine.Sink().Put(ctx, flood); err != nil {
		t.Fatal(err)
	}
	sale := order("fast", "F1", time.Now().UnixMilli(), connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 3})
	if err := h.engine.Sink().Put(ctx, []connectors.Event{{Kind: connectors.EventOrder, Channel: "fast", Order: &sale}}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the fast channel's sale reached every channel while the slow one's fetches wait", h.listedEverywhere("A", 97))
	if q, _ := slow.listed("B"); q != 100 {
		t.Fatalf("B listed %d on slow before any fetch was let through", q)
	}
	close(slow.release)
	h.eventually("every fetched order applied", h.listedEverywhere("B", 0))
}
