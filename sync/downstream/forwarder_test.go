package downstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// receiver is a downstream webhook receiver that records the delivery ids
// it accepted; answer, when set, decides the status per delivery id.
type receiver struct {
	mu     sync.Mutex
	got    []string
	tries  map[string]int
	answer func(id string, try int) int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	id := req.Header.Get(HeaderDelivery)
	r.mu.Lock()
	if r.tries == nil {
		r.tries = map[string]int{}
	}
	r.tries[id]++
	try := r.tries[id]
	answer := r.answer
	r.mu.Unlock()
	status := http.StatusOK
	if answer != nil {
		status = answer(id, try)
	}
	if status/100 == 2 {
		r.mu.Lock()
		r.got = append(r.got, id)
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, g := range r.got {
		if g == id {
			n++
		}
	}
	return n
}

func (r *receiver) triesOf(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tries[id]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestForwarderRecoversALostConsumerGroup: after Redis lost the stream and
// the forwarder's group (a flush, a failover to an empty replica), or the
// group alone, orders published afterwards are still delivered, without a
// restart.
func TestForwarderRecoversALostConsumerGroup(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f := NewForwarder(rdb, p.Stream(), "t", srv.URL, []byte("s"), &http.Client{Timeout: 5 * time.Second}, zerolog.Nop(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if _, err := p.Publish(ctx, order("1", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first delivery", func() bool { return rcv.count("shop:1:1:1") == 1 })

	// A flush: the stream and its groups are gone; the publisher makes the
	// stream again with its next order.
	if err := rdb.Del(ctx, p.Stream()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, order("2", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery after the stream was lost", func() bool { return rcv.count("shop:2:1:1") >= 1 })

	// The group alone destroyed: made again from the start of the stream,
	// so what is still on it is delivered again (at least once) and the new
	// order is delivered.
	if err := rdb.XGroupDestroy(ctx, p.Stream(), "webhook").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, order("3", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery after the group was lost", func() bool { return rcv.count("shop:3:1:1") == 1 })
}

// TestForwarderDeadLettersADeliveryTheReceiverKeepsRefusing: a delivery
// the receiver refuses (422) does not hold up the ones after it; after the
// last attempt it is dead-lettered with the receiver's answer, and stays
// on the stream for the other consumer groups.
func TestForwarderDeadLettersADeliveryTheReceiverKeepsRefusing(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	rcv := &receiver{answer: func(id string, _ int) int {
		if strings.HasPrefix(id, "shop:bad:") {
			return http.StatusUnprocessableEntity
		}
		return http.StatusOK
	}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f := newForwarder(rdb, []string{p.Stream()}, "", "t", srv.URL, []byte("s"), &http.Client{Timeout: 5 * time.Second}, zerolog.Nop(), nil,
		func(o *stream.Options) {
			o.ClaimIdle, o.MaxAttempts, o.Block = 40*time.Millisecond, 3, 50*time.Millisecond
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for _, id := range []string{"bad", "good"} {
		if _, err := p.Publish(ctx, order(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the delivery after the refused one", func() bool { return rcv.count("shop:good:1:1") == 1 })
	waitFor(t, "a dead letter", func() bool { return testutil.ToFloat64(f.results.WithLabelValues("dead_lettered")) == 1 })
	if n := rcv.triesOf("shop:bad:1:1"); n != 3 {
		t.Fatalf("refused delivery tried %d times, want 3", n)
	}
	dl, err := f.DeadLetters(ctx, 10)
	if err != nil || len(dl) != 1 {
		t.Fatalf("dead letters %+v (%v)", dl, err)
	}
	if d := dl[0]; d.Values["delivery_id"] != "shop:bad:1:1" || d.Attempts != 3 || !strings.Contains(d.Reason, "422") {
		t.Fatalf("dead letter %+v", d)
	}
	if n, _ := rdb.XLen(ctx, p.Stream()).Result(); n != 2 {
		t.Fatalf("stream holds %d messages, want both still there for other groups", n)
	}
	waitFor(t, "nothing pending", func() bool {
		pe, err := rdb.XPending(ctx, p.Stream(), "webhook").Result()
		return err == nil && pe.Count == 0
	})
}

// TestForwarderRetriesAReceiverThatIsDownForEverInOrder: while the
// receiver is down (503) only the oldest delivery is tried, however long
// it lasts, and nothing is dead-lettered; once it is back everything is
// delivered in stream order.
func TestForwarderRetriesAReceiverThatIsDownForEverInOrder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	var mu sync.Mutex
	up := false
	rcv := &receiver{answer: func(string, int) int {
		mu.Lock()
		defer mu.Unlock()
		if up {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f := newForwarder(rdb, []string{p.Stream()}, "", "t", srv.URL, []byte("s"), &http.Client{Timeout: 5 * time.Second}, zerolog.Nop(), nil,
		func(o *stream.Options) {
			o.MaxAttempts, o.Block, o.RetryBackoff, o.MaxRetryBackoff = 1, 50*time.Millisecond, 10*time.Millisecond, 20*time.Millisecond
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for _, id := range []string{"1", "2", "3"} {
		if _, err := p.Publish(ctx, order(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "retries", func() bool { return rcv.triesOf("shop:1:1:1") >= 5 })
	if rcv.triesOf("shop:2:1:1") != 0 || rcv.triesOf("shop:3:1:1") != 0 {
		t.Fatal("later deliveries tried while the receiver is down")
	}
	if dl, _ := f.DeadLetters(ctx, 10); len(dl) != 0 {
		t.Fatalf("dead letters while the receiver was down: %+v", dl)
	}
	mu.Lock()
	up = true
	mu.Unlock()
	waitFor(t, "all delivered", func() bool { return rcv.count("shop:3:1:1") == 1 })
	rcv.mu.Lock()
	got := strings.Join(rcv.got, ",")
	rcv.mu.Unlock()
	if got != "shop:1:1:1,shop:2:1:1,shop:3:1:1" {
		t.Fatalf("delivered %s", got)
	}
}
