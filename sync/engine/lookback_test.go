package engine

import (
	"context"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestFirstPollLookback: with no stored cursor the first poll reaches back
// channels[].poll_lookback (unset: the engine's 24h), and 0 starts from
// now, so an order placed an hour before is read only by the former.
func TestFirstPollLookback(t *testing.T) {
	ptr := func(d time.Duration) *time.Duration { return &d }
	cases := []struct {
		name       string
		lookback   *time.Duration
		want       time.Duration
		wantOrders float64
	}{
		{"unset: 24h", nil, 24 * time.Hour, 1},
		{"2h", ptr(2 * time.Hour), 2 * time.Hour, 1},
		{"0: from now", ptr(0), 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			cfg := testConfig(prefix, "shop")
			cfg.Channels[0].PollLookback = tc.lookback
			ch := &asOfChannel{memChannel: newMemChannel()}
			h := newHarnessWith(t, rdb, cfg, map[string]*memChannel{"shop": ch.memChannel}, map[string]connectors.Connector{"shop": ch})
			ch.putOrder(order("shop", "O1", time.Now().Add(-time.Hour).UnixMilli(), connectors.StatusOpen, connectors.Line{LineID: "1", SKU: "A", Quantity: 1}))
			before := time.Now()
			if err := h.engine.poll(context.Background(), h.engine.channels["shop"]); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			ch.mu.Lock()
			since := ch.asked[0]
			ch.mu.Unlock()
			if since.Before(before.Add(-tc.want)) || since.After(after.Add(-tc.want)) {
				t.Errorf("first poll since %v, want %v before the poll (%v..%v)", since, tc.want, before.Add(-tc.want), after.Add(-tc.want))
			}
			if got := counterValue(t, h.engine.m.polledOrders.WithLabelValues("shop")); got != tc.wantOrders {
				t.Errorf("took in %v orders, want %v", got, tc.wantOrders)
			}
		})
	}
}
