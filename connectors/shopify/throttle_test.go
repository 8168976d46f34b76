package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// TestThrottledRetries: a THROTTLED answer is waited out and retried, and
// counted with the 429s, in the channel's series of
// shelfsync_channel_api_throttled_total (an HTTP 200 that the HTTP client
// can not tell from a success).
func TestThrottledRetries(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	ch := channelFor(s)
	reg := prometheus.NewRegistry()
	deps := connectors.TestDeps(ch)
	deps.Throttled = connectors.NewAPIMetrics(reg).Throttled.WithLabelValues(ch.Name)
	c, err := newConnector(deps)
	if err != nil {
		t.Fatal(err)
	}
	s.SetLevel("A", 1)
	s.Throttle(2)
	got, err := c.ReadQuantities(context.Background(), []string{"A"})
	if err != nil || len(got) != 1 || got[0].Quantity != 1 {
		t.Fatalf("ReadQuantities = %v, %v", got, err)
	}
	want := fmt.Sprintf("# HELP shelfsync_channel_api_throttled_total %s\n# TYPE shelfsync_channel_api_throttled_total counter\nshelfsync_channel_api_throttled_total{channel=%q} 2\n",
		"Requests a channel throttled: answered with 429 Too Many Requests, or with its own throttle signal in a 200 answer (Shopify's GraphQL THROTTLED).", ch.Name)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shelfsync_channel_api_throttled_total"); err != nil {
		t.Error(err)
	}
}

func TestThrottledGivesUp(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	s.Throttle(maxThrottleRetries + 1)
	_, err := c.ResolveSKU(context.Background(), "A")
	if !errors.Is(err, errThrottled) {
		t.Fatalf("ResolveSKU = %v, want errThrottled", err)
	}
	if n := s.Calls()["ShelfsyncVariants"]; n != maxThrottleRetries+1 {
		t.Errorf("%d calls, want %d (bounded retries)", n, maxThrottleRetries+1)
	}
}

// TestEmptyBucketRefills: with the bucket drained, the call waits for
// the restore rate and then succeeds.
func TestEmptyBucketRefills(t *testing.T) {
	s := newFake(t, shopifytest.Options{RestoreRate: 2000})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 1)
	s.DrainBucket()
	if _, err := c.ResolveSKU(context.Background(), "A"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(c.metrics.throttled); n < 1 {
		t.Errorf("throttled = %v: the drained bucket should have refused a call", n)
	}
}

// TestPacing: with a small bucket, the pacer waits before each call
// instead of letting Shopify refuse it: the calls ask for about 145
// points from a bucket of 100, yet none is throttled.
func TestPacing(t *testing.T) {
	s := newFake(t, shopifytest.Options{BucketSize: 100, RestoreRate: 200})
	c := newTestConnector(t, s, nil)
	var skus []string
	for i := 0; i < 30; i++ {
		sku := string(rune('a'+i%26)) + string(rune('A'+i/26))
		s.SetLevel(sku, int64(i))
		skus = append(skus, sku)
	}
	if _, err := c.ReadQuantities(context.Background(), skus[:1]); err != nil { // learns the bucket
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if _, err := c.readLevels(context.Background(), []string{s.ItemID(skus[i%len(skus)])}, c.pushLocation); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.ToFloat64(c.metrics.throttled); n != 0 {
		t.Errorf("throttled %v times: the pacer let calls through an empty bucket", n)
	}
	if v := c.bucket.estimate(); v < 0 || v > 100 {
		t.Errorf("bucket estimate %v outside [0, 100]", v)
	}
}

func TestCancelledWhileWaiting(t *testing.T) {
	s := newFake(t, shopifytest.Options{RestoreRate: 0.001})
	c := newTestConnector(t, s, nil)
	s.SetLevel("A", 1)
	if _, err := c.ResolveSKU(context.Background(), "A"); err != nil { // learns the bucket
		t.Fatal(err)
	}
	s.DrainBucket()
	// The next wait would last hours at this restore rate: only the
	// context ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.ReadQuantities(ctx, []string{"A"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadQuantities = %v, want context.DeadlineExceeded", err)
	}
}

// TestTwoStores: two Shopify channels in one process share nothing: their
// metrics register side by side and their caches and buckets are their own.
func TestTwoStores(t *testing.T) {
	a, b := newFake(t, shopifytest.Options{}), newFake(t, shopifytest.Options{AccessToken: "other"})
	reg := prometheus.NewRegistry()
	var cs []*Connector
	for i, s := range []*shopifytest.Server{a, b} {
		ch := channelFor(s)
		ch.Name = []string{"eu", "us"}[i]
		deps := connectors.TestDeps(ch)
		deps.Registerer = prometheus.WrapRegistererWith(prometheus.Labels{"channel": ch.Name}, reg)
		c, err := newConnector(deps)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	a.SetLevel("A", 1)
	b.SetLevel("A", 2)
	for i, want := range []int64{1, 2} {
		got, err := cs[i].ReadQuantities(context.Background(), []string{"A"})
		if err != nil || len(got) != 1 || got[0].Quantity != want {
			t.Errorf("store %d: %v, %v; want %d", i, got, err, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "shelfsync_shopify_cost_available"); err != nil || n != 2 {
		t.Errorf("cost gauges = %d, %v; want one per channel", n, err)
	}
}

// TestBackgroundOperationsLeaveAReserve: with half the bucket left, a
// push-path operation goes at once while a poll waits for the restore, so
// a long poll can not starve the pushes a sale waits on.
func TestBackgroundOperationsLeaveAReserve(t *testing.T) {
	b := newCostBucket()
	b.observe("push", &queryCost{RequestedQueryCost: 100, ThrottleStatus: throttleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 500, RestoreRate: 1}})
	b.observe("poll", &queryCost{RequestedQueryCost: 100, ThrottleStatus: throttleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 500, RestoreRate: 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.wait(ctx, "push", false); err != nil {
		t.Fatalf("foreground op waited: %v", err)
	}
	if err := b.wait(ctx, "poll", true); err == nil {
		t.Fatal("background op took the reserve")
	}
}
