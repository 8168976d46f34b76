package amazon

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// recordingSink stores events, or fails while fail is set.
type recordingSink struct {
	mu     sync.Mutex
	events []connectors.Event
	puts   int
	fail   error
}

func (s *recordingSink) Put(_ context.Context, events []connectors.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.fail != nil {
		return s.fail
	}
	s.events = append(s.events, events...)
	return nil
}

func (s *recordingSink) snapshot() ([]connectors.Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]connectors.Event(nil), s.events...), s.puts
}

// newQueueConnector builds the connector through New, as the daemon does.
func newQueueConnector(t *testing.T, srv *amazontest.Server, clk *clock, mutate func(*config.Channel)) *QueueConnector {
	t.Helper()
	ch := testChannel(srv)
	if mutate != nil {
		mutate(&ch)
	}
	deps := connectors.TestDeps(ch)
	deps.Now = clk.Now
	c, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	q, ok := c.(*QueueConnector)
	if !ok {
		t.Fatalf("New returned %T with a queue configured", c)
	}
	q.queue.minBackoff, q.queue.maxBackoff = time.Millisecond, 5*time.Millisecond
	return q
}

func runQueue(t *testing.T, q *QueueConnector, sink connectors.EventSink) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, sink) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		})
	}
}

// TestQueueRun: notifications sent to the (fake) SQS queue arrive through
// the AWS SDK as events; stored and ignored messages are deleted, an
// unreadable one stays for the queue's dead-letter policy.
func TestQueueRun(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	q := newQueueConnector(t, srv, clk, nil)
	sink := &recordingSink{}
	stop := runQueue(t, q, sink)
	defer stop()

	srv.SendMessage(string(readFixture(t, "notification_ORDER_CHANGE.example.json")))
	srv.SendMessage(string(readFixture(t, "notification_LISTINGS_ITEM_MFN_QUANTITY_CHANGE.example.json")))
	srv.SendMessage(string(readFixture(t, "notification_FEED_PROCESSING_FINISHED.example.json")))
	garbage := srv.SendMessage("this is not a notification")

	waitFor(t, "two events stored and three messages deleted", func() bool {
		ev, _ := sink.snapshot()
		total, _ := srv.QueueDepth()
		return len(ev) == 2 && total == 1
	})
	stop()
	ev, _ := sink.snapshot()
	kinds := map[connectors.EventKind]string{}
	for _, e := range ev {
		kinds[e.Kind] = e.OrderID
		if e.Channel != "amazon-us" || e.ReceivedAt != clk.Now() {
			t.Errorf("event %+v", e)
		}
	}
	if kinds[connectors.EventOrder] != "903-8868176-2219830" {
		t.Errorf("events %+v", ev)
	}
	if _, ok := kinds[connectors.EventStockChanged]; !ok {
		t.Errorf("no stock event in %+v", ev)
	}
	if srv.Received(garbage) == 0 {
		t.Error("the unreadable message was deleted")
	}
	// The fixture's ORDER_CHANGE became the order's state: no fetch.
	if s, f := testutil.ToFloat64(q.metrics.orderChanges.WithLabelValues("state")), testutil.ToFloat64(q.metrics.orderChanges.WithLabelValues("fetch")); s != 1 || f != 0 {
		t.Errorf("order changes: %v as state, %v to fetch; want 1 and 0", s, f)
	}
}

// TestQueueKeepsMessagesWhenPutFails: nothing is deleted before the intake
// took the events.
func TestQueueKeepsMessagesWhenPutFails(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	q := newQueueConnector(t, srv, clk, nil)
	sink := &recordingSink{fail: errors.New("redis down")}
	id := srv.SendMessage(string(readFixture(t, "notification_ORDER_CHANGE.example.json")))
	stop := runQueue(t, q, sink)
	waitFor(t, "a failed Put", func() bool { _, puts := sink.snapshot(); return puts >= 1 })
	stop()
	if total, _ := srv.QueueDepth(); total != 1 || srv.Received(id) == 0 {
		t.Fatalf("queue depth %d, received %d: the message must stay after a failed Put", total, srv.Received(id))
	}
}

// TestQueueWrongCredentials: the fake checks SigV4 like SQS; Run keeps
// retrying (the credentials may be rotated) and still ends with its context.
func TestQueueWrongCredentials(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	q := newQueueConnector(t, srv, clk, func(ch *config.Channel) {
		ch.Credentials.AWSSecretAccessKey = config.NewSecret("not-the-secret")
	})
	_, err := q.queue.api.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(srv.QueueURL())})
	if err == nil {
		t.Fatal("the fake took a wrong signature")
	}
	sink := &recordingSink{}
	srv.SendMessage(string(readFixture(t, "notification_ORDER_CHANGE.example.json")))
	stop := runQueue(t, q, sink)
	stop()
	if ev, _ := sink.snapshot(); len(ev) != 0 {
		t.Fatalf("events through a refused signature: %+v", ev)
	}
}

func TestNewWithoutQueue(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	ch := testChannel(srv)
	settingsOf(&ch).SQS = SQS{}
	c, err := New(connectors.TestDeps(ch))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(connectors.Runner); ok {
		t.Fatal("a connector without a queue is a Runner")
	}
	for _, role := range []bool{is[connectors.OrderPoller](c), is[connectors.OrderFetcher](c), is[connectors.WebhookVerifier](c), is[connectors.QuantityPusher](c), is[connectors.QuantityReader](c)} {
		if !role {
			t.Fatalf("%T lacks a role", c)
		}
	}
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

func TestRegionOfQueue(t *testing.T) {
	for in, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/q":   "eu-west-1",
		"https://us-east-2.queue.amazonaws.com/123456789012/q": "us-east-2",
		"http://127.0.0.1:9324/123456789012/q":                 "",
		"::":                                                   "",
	} {
		if got := regionOfQueue(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
