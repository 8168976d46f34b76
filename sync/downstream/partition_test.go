package downstream

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

// TestPartitionedPublisherKeepsAnOrderInOnePartition: with 3 partitions,
// orders spread over the 3 streams, every state of one order in one of
// them, in order; versions are still published once; a SKU's signals go
// to one partition; one partition keeps the stream key of before.
func TestPartitionedPublisherKeepsAnOrderInOnePartition(t *testing.T) {
	rdb, prefix := redistest.New(t)
	if got := StreamKeys(prefix, "orders", 1); len(got) != 1 || got[0] != StreamKey(prefix, "orders") {
		t.Fatalf("one partition: %v", got)
	}
	p := NewPartitionedPublisher(rdb, prefix, "orders", 3, 0, time.Hour, nil)
	ctx := context.Background()
	const orders = 60
	for v := int64(1); v <= 2; v++ {
		for i := range orders {
			for range 2 { // the second is a duplicate
				if _, err := p.Publish(ctx, order(fmt.Sprint(i), v)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i := range 2 {
		if _, err := p.PublishSignal(ctx, inventory.SignalEvent{ID: fmt.Sprintf("B:%d", i+1), Type: "stock.low", SKU: "B", Seq: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	where := map[string]string{}
	total, signals := 0, map[string]bool{}
	for _, s := range p.Streams() {
		msgs, err := rdb.XRange(ctx, s, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) < orders/3 {
			t.Errorf("partition %s holds %d entries", s, len(msgs))
		}
		total += len(msgs)
		last := map[string]string{}
		for _, m := range msgs {
			if m.Values["kind"] == "signal" {
				signals[s] = true
				continue
			}
			o, id := m.Values["order_id"].(string), m.Values["delivery_id"].(string)
			if w, ok := where[o]; ok && w != s {
				t.Errorf("order %s in %s and %s", o, w, s)
			}
			where[o] = s
			if last[o] > id {
				t.Errorf("order %s: %s after %s", o, id, last[o])
			}
			last[o] = id
		}
	}
	if total != 2*orders+2 || len(signals) != 1 {
		t.Fatalf("%d entries (want %d), signals in %d partitions (want 1)", total, 2*orders+2, len(signals))
	}
	h, err := p.Handled(ctx, []*connectors.Order{order("5", 2), order("5", 3)})
	if err != nil || !h[0] || h[1] {
		t.Fatalf("Handled %v (%v), want [true false]", h, err)
	}
}

// TestForwarderDeliversEveryPartitionAndWhatWasLeft: the forwarder of a
// partitioned publisher delivers the orders of every partition and what
// the single stream of before still held undelivered.
func TestForwarderDeliversEveryPartitionAndWhatWasLeft(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}

	old := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	f0 := NewForwarder(rdb, old.Stream(), "t", srv.URL, []byte("s"), client, zerolog.Nop(), nil)
	run := func(f *Forwarder) func() {
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(fctx) }()
		return func() { cancel(); <-done }
	}
	stop := run(f0)
	if _, err := old.Publish(ctx, order("delivered", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first delivery", func() bool { return rcv.count("shop:delivered:1:1") == 1 })
	stop()
	for i := range 5 { // published, not yet delivered, when the partitions come
		if _, err := old.Publish(ctx, order(fmt.Sprint("left", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	p := NewPartitionedPublisher(rdb, prefix, "orders", 3, 0, time.Hour, nil)
	f := NewPublisherForwarder(rdb, p, "t", srv.URL, []byte("s"), client, zerolog.Nop(), nil)
	stop = run(f)
	defer stop()
	for i := range 30 {
		if _, err := p.Publish(ctx, order(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every delivery", func() bool {
		for i := range 30 {
			if rcv.count(fmt.Sprintf("shop:%d:1:1", i)) != 1 {
				return false
			}
		}
		for i := range 5 {
			if rcv.count(fmt.Sprintf("shop:left%d:1:1", i)) != 1 {
				return false
			}
		}
		return true
	})
	if n := rcv.count("shop:delivered:1:1"); n != 1 {
		t.Errorf("the order delivered before was delivered %d times", n)
	}
}
