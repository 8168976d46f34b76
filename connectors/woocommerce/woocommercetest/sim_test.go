package woocommercetest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// TestSimDeliversSigned: the simulated channel's notifications (the
// order.created of a checkout, the order.updated of its cancel) reach
// base/webhooks/{channel} signed as WooCommerce signs them, with an order
// topic; the checkout takes the units off the listing.
func TestSimDeliversSigned(t *testing.T) {
	s := &Sim{Server: New(Options{}), name: "shop-wc"}
	defer s.Close()
	s.List("SIM-1", 5)
	var mu sync.Mutex
	var topics []string
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/webhooks/shop-wc" || r.Header.Get("X-WC-Webhook-Signature") != Sign(s.Options().WebhookSecret, body) {
			t.Errorf("delivery to %s with signature %q: not signed with the store's secret", r.URL.Path, r.Header.Get("X-WC-Webhook-Signature"))
		}
		topics = append(topics, r.Header.Get("X-WC-Webhook-Topic"))
	}))
	defer daemon.Close()

	o, err := s.PlaceOrder(sim.Placement{SKU: "SIM-1", Qty: 2, Run: "r", Seq: 1, EventID: func() string { return "e1" }})
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := s.Listed("SIM-1"); !ok || q != 3 {
		t.Errorf("listed %d %v after selling 2 of 5, want 3", q, ok)
	}
	ctx := context.Background()
	if code, err := o.First.Deliver(ctx, daemon.Client(), daemon.URL); err != nil || code != http.StatusOK {
		t.Fatalf("order.created: %d %v", code, err)
	}
	n, ok := o.FollowUp(sim.Cancel)
	if !ok || n == nil {
		t.Fatalf("the cancel was not applied (%v) or sends no webhook", ok)
	}
	if code, err := n.Deliver(ctx, daemon.Client(), daemon.URL); err != nil || code != http.StatusOK {
		t.Fatalf("order.updated: %d %v", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(topics, ",") != "order.created,order.updated" {
		t.Fatalf("topics %v, want order.created then order.updated", topics)
	}
}
