package downstream

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

func order(id string, v int64) *connectors.Order {
	return &connectors.Order{Channel: "shop", OrderID: id, Status: connectors.StatusOpen, UpdatedAt: time.UnixMilli(v),
		Lines: []connectors.Line{{LineID: "1", SKU: "A", Quantity: 1}}}
}

func TestPublishOncePerVersionNeverOlder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	ctx := context.Background()
	cancelled := func(o *connectors.Order) *connectors.Order { o.Lines[0].Cancelled = 1; return o }
	steps := []struct {
		order *connectors.Order
		want  bool
	}{
		{order("1", 100), true},
		{order("1", 100), false}, // duplicate
		{order("1", 200), true},
		{order("1", 150), false}, // late, older
		{order("2", 150), true},
		{cancelled(order("2", 150)), true}, // the same version further along (whole-second versions)
		{order("2", 150), false},           // the earlier state of that version, late
		{cancelled(order("2", 150)), false},
	}
	for i, s := range steps {
		got, err := p.Publish(ctx, s.order)
		if err != nil || got != s.want {
			t.Fatalf("step %d: published %v (%v), want %v", i, got, err, s.want)
		}
	}
	msgs, err := rdb.XRange(ctx, p.Stream(), "-", "+").Result()
	if err != nil || len(msgs) != 4 {
		t.Fatalf("stream has %d messages (%v), want 4", len(msgs), err)
	}
	for i, want := range []string{"shop:1:100:1", "shop:1:200:1", "shop:2:150:1", "shop:2:150:2"} {
		if id := msgs[i].Values["delivery_id"]; id != want {
			t.Fatalf("message %d: delivery id %v, want %s", i, id, want)
		}
	}
	// A version key written before progress was kept (a bare version):
	// that version is taken as published at its end.
	if err := rdb.Set(ctx, p.versionKey("shop", "3"), "150", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Publish(ctx, cancelled(order("3", 150))); err != nil || got {
		t.Fatalf("same version over a bare version key: published %v (%v), want not", got, err)
	}
	if got, err := p.Publish(ctx, order("3", 151)); err != nil || !got {
		t.Fatalf("newer version over a bare version key: published %v (%v), want it", got, err)
	}
}

func TestForwarderSignsAndRetriesUntilAccepted(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	secret := []byte("s3cret")
	var mu sync.Mutex
	calls := 0
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		want := Sign(secret, r.Header.Get(HeaderTimestamp), body)
		if !hmac.Equal([]byte(want), []byte(r.Header.Get(HeaderSignature))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		bodies = append(bodies, r.Header.Get(HeaderDelivery)+" "+string(body))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := p.Publish(ctx, order("9", 5)); err != nil {
		t.Fatal(err)
	}
	f := NewForwarder(rdb, p.Stream(), "t", srv.URL, secret, &http.Client{Timeout: 5 * time.Second}, zerolog.Nop(), nil)
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delivery not retried to success")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	var m struct {
		DeliveryID string            `json:"delivery_id"`
		Order      *connectors.Order `json:"order"`
	}
	mu.Lock()
	b := bodies[0]
	mu.Unlock()
	if err := json.Unmarshal([]byte(b[len("shop:9:5:1 "):]), &m); err != nil || m.DeliveryID != "shop:9:5:1" || m.Order.OrderID != "9" {
		t.Fatalf("delivered %q (%v)", b, err)
	}
	pending, err := rdb.XPending(context.Background(), p.Stream(), "webhook").Result()
	if err != nil || pending.Count != 0 {
		t.Fatalf("pending after delivery: %+v %v", pending, err)
	}
}

// TestHandled: a state is handled once it, or a later state, was published.
func TestHandled(t *testing.T) {
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	ctx := context.Background()
	cancelled := func(o *connectors.Order) *connectors.Order { o.Lines[0].Cancelled = 1; return o }
	if _, err := p.Publish(ctx, order("1", 100)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		order *connectors.Order
		want  bool
	}{
		{"the published state", order("1", 100), true},
		{"an older version", order("1", 99), true},
		{"the same version further along", cancelled(order("1", 100)), false},
		{"a newer version", order("1", 101), false},
		{"an order never published", order("2", 100), false},
	}
	orders := make([]*connectors.Order, len(cases))
	for i, c := range cases {
		orders[i] = c.order
	}
	got, err := p.Handled(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s: handled %v, want %v", c.name, got[i], c.want)
		}
	}
}
