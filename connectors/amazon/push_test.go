package amazon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

func TestPushPatch(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	srv.SetListing("OK-1", 1)
	srv.SetListing("OK-2", 1)
	srv.SetListing("REFUSED", 1)
	srv.FailSKU("REFUSED", "The attributes are invalid.")
	updates := []connectors.QuantityUpdate{
		{SKU: "OK-1", Quantity: 10}, {SKU: "UNKNOWN", Quantity: 4}, {SKU: "REFUSED", Quantity: 5},
		{SKU: "OK-2", Quantity: 0}, {SKU: "", Quantity: 1}, {SKU: "sku with/slash", Quantity: 2},
	}
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	want := []connectors.PushStatus{connectors.PushAccepted, connectors.PushUnknownSKU, connectors.PushFailed, connectors.PushAccepted, connectors.PushFailed, connectors.PushUnknownSKU}
	for i, r := range res {
		if r.SKU != updates[i].SKU || r.Status != want[i] {
			t.Errorf("item %d: %+v, want %s", i, r, want[i])
		}
	}
	if !strings.Contains(res[2].Reason, "The attributes are invalid.") {
		t.Errorf("refusal reason %q", res[2].Reason)
	}
	for sku, want := range map[string]int64{"OK-1": 10, "OK-2": 0, "REFUSED": 1} {
		if q, _ := srv.Quantity(sku); q != want {
			t.Errorf("%s: quantity %d, want %d", sku, q, want)
		}
	}
	if srv.Feeds() != 0 {
		t.Error("a feed for a few SKUs")
	}
}

// TestPushFeed runs the feed path end to end against amazontest: document,
// upload, createFeed, polling, a gzipped report with per-message issues.
func TestPushFeed(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.GzipReports = true; o.FeedPolls = 3 })
	c := newTestConnector(t, srv, clk, func(ch *config.Channel) { settingsOf(ch).FeedThreshold = 10 })
	var updates []connectors.QuantityUpdate
	for i := range 60 {
		sku := fmt.Sprintf("SKU-%03d", i)
		srv.SetListing(sku, 1)
		updates = append(updates, connectors.QuantityUpdate{SKU: sku, Quantity: int64(100 + i)})
	}
	srv.FailSKU("SKU-007", "'[batteries_required]' is required but not supplied.")
	updates = append(updates, connectors.QuantityUpdate{SKU: "NOT-LISTED", Quantity: 3})
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(updates) {
		t.Fatalf("%d results for %d updates", len(res), len(updates))
	}
	for i, r := range res {
		want := connectors.PushAccepted
		if r.SKU == "SKU-007" || r.SKU == "NOT-LISTED" {
			want = connectors.PushFailed
		}
		if r.SKU != updates[i].SKU || r.Status != want {
			t.Errorf("item %d: %+v, want %s", i, r, want)
		}
	}
	if !strings.Contains(res[7].Reason, "batteries_required") {
		t.Errorf("reason %q", res[7].Reason)
	}
	if q, _ := srv.Quantity("SKU-042"); q != 142 {
		t.Errorf("SKU-042 quantity %d, want 142", q)
	}
	if q, _ := srv.Quantity("SKU-007"); q != 1 {
		t.Errorf("refused SKU-007 changed to %d", q)
	}
	if srv.Feeds() != 1 || srv.Calls("patchListingsItem") != 0 || srv.Calls("getFeed") != 4 {
		t.Errorf("feeds %d, patches %d, getFeed %d", srv.Feeds(), srv.Calls("patchListingsItem"), srv.Calls("getFeed"))
	}
}

func TestPushFeedNotProcessed(t *testing.T) {
	updates := []connectors.QuantityUpdate{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}}
	t.Run("FATAL", func(t *testing.T) {
		clk := newClock()
		srv := newFake(t, clk, nil)
		c := newTestConnector(t, srv, clk, func(ch *config.Channel) { settingsOf(ch).FeedThreshold = 1 })
		srv.SetListing("A", 0)
		srv.SetListing("B", 0)
		srv.FailNextFeeds(1)
		res, err := c.PushQuantities(context.Background(), updates)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Status != connectors.PushRetry || !strings.Contains(r.Reason, "FATAL") {
				t.Errorf("%+v, want retry after FATAL", r)
			}
		}
	})
	t.Run("still processing", func(t *testing.T) {
		clk := newClock()
		srv := newFake(t, clk, func(o *amazontest.Options) { o.FeedPolls = 1 << 30 })
		c := newTestConnector(t, srv, clk, func(ch *config.Channel) { settingsOf(ch).FeedThreshold = 1 },
			withFeedPolling(0, 0, 0))
		srv.SetListing("A", 0)
		res, err := c.PushQuantities(context.Background(), updates)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Status != connectors.PushRetry || !strings.Contains(r.Reason, feedTimeout) {
				t.Errorf("%+v, want retry after timeout", r)
			}
		}
	})
	t.Run("context ends while waiting", func(t *testing.T) {
		clk := newClock()
		srv := newFake(t, clk, func(o *amazontest.Options) { o.FeedPolls = 1 << 30 })
		c := newTestConnector(t, srv, clk, func(ch *config.Channel) { settingsOf(ch).FeedThreshold = 1 },
			withFeedPolling(time.Millisecond, time.Millisecond, time.Hour))
		srv.SetListing("A", 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for srv.Calls("getFeed") < 3 && connectors.WaitContext(ctx, time.Millisecond) == nil {
			}
			cancel()
		}()
		res, err := c.PushQuantities(ctx, updates)
		<-done
		if err == nil {
			t.Fatalf("got %+v and no error after the context ended", res)
		}
	})
}

func TestPushLimits(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	if c.MaxBatch() != 25000 {
		t.Errorf("MaxBatch %d", c.MaxBatch())
	}
	if _, err := c.PushQuantities(context.Background(), make([]connectors.QuantityUpdate, 25001)); err == nil {
		t.Error("took 25,001 updates")
	}
	res, err := c.PushQuantities(context.Background(), nil)
	if err != nil || len(res) != 0 {
		t.Errorf("empty push: %v %v", res, err)
	}
}

func TestReadQuantities(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	srv.SetListing("A", 3)
	srv.SetListing("B", 0)
	got, err := c.ReadQuantities(context.Background(), []string{"A", "MISSING", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]connectors.LiveQuantity{{SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 0}}) {
		t.Errorf("got %+v", got)
	}
}

// TestPushAtPublishedLimits: against a fake that holds Amazon's published
// plan (patchListingsItem 5 a second, burst 5) and with the connector's
// own published limiters, a push of 15 SKUs is paced, not refused: every
// item is accepted, in about (15 − 5) / 5 = 2 seconds.
func TestPushAtPublishedLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on Amazon's pacing")
	}
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.RateLimits = nil })
	ch := testChannel(srv)
	deps := connectors.TestDeps(ch)
	deps.Now = clk.Now
	c, err := newConnector(deps)
	if err != nil {
		t.Fatal(err)
	}
	var updates []connectors.QuantityUpdate
	for i := range 15 {
		sku := fmt.Sprintf("SKU-%02d", i)
		srv.SetListing(sku, 1)
		updates = append(updates, connectors.QuantityUpdate{SKU: sku, Quantity: int64(i)})
	}
	start := time.Now()
	res, err := c.PushQuantities(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != connectors.PushAccepted {
			t.Errorf("%+v", r)
		}
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("15 patches in %s: faster than Amazon's published 5 a second", took)
	}
	if n := srv.Throttled("patchListingsItem"); n > 2 {
		t.Errorf("%d patches refused with 429: the connector does not keep to the plan", n)
	}
}

// TestPushChunksFollowThePatchPlan: below the feed threshold a push is
// sent in chunks of what patchListingsItem's paced limiter lets through at
// once (published plan 5/s burst 5, paced at 4.5/s burst 4: 4), so the
// pusher records the first SKUs' results as they come; the threshold is
// the feed's.
func TestPushChunksFollowThePatchPlan(t *testing.T) {
	srv := newFake(t, newClock(), nil)
	ch := testChannel(srv)
	settingsOf(&ch).FeedThreshold = 30
	c, err := newConnector(connectors.TestDeps(ch))
	if err != nil {
		t.Fatal(err)
	}
	var _ connectors.PushPacer = c
	if chunk, threshold := c.PushChunks(); chunk != 4 || threshold != 30 {
		t.Fatalf("PushChunks = %d, %d; want 4, 30", chunk, threshold)
	}
}
