package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// The tests of "bad input and abuse", orders: what the ledger would
// refuse is refused here, never handed on to be dropped at ingest.

// TestNotificationOrderIDRefused: a verified notification whose order id
// the ledger could not key is a 400, not an event.
func TestNotificationOrderIDRefused(t *testing.T) {
	tests := []struct {
		name    string
		orderID any
		status  int
	}{
		{name: "control character", orderID: "14-09021\x00-33817", status: 400},
		{name: "field separator", orderID: "14-09021\x1f33817", status: 400},
		{name: "newline", orderID: "14-09021\n33817", status: 400},
		{name: "DEL", orderID: "14-09021\x7f33817", status: 400},
		{name: "C1 control", orderID: "14-09021\u008533817", status: 400},
		{name: "good", orderID: "14-09021-33817"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			b, _ := json.Marshal(map[string]any{
				"metadata":     map[string]any{"topic": TopicOrderConfirmation, "schemaVersion": "1.0"},
				"notification": map[string]any{"notificationId": "n-1", "data": map[string]any{"orderId": tc.orderID}},
			})
			events, err := e.conn.ParseWebhook(context.Background(), webhookRequest(b, e.fake.SignedNotification(b)))
			if tc.status == 0 {
				if err != nil || len(events) != 1 {
					t.Fatalf("ParseWebhook = %v, %v", events, err)
				}
				return
			}
			wantStatus(t, err, tc.status)
			if len(events) != 0 {
				t.Fatalf("events %v with a refusal", events)
			}
		})
	}
}

// hostileOrders are orders eBay could never mean, each with why the
// ledger would refuse it.
func hostileOrders(now time.Time) []struct {
	name  string
	order ebaytest.Order
} {
	line := func(mod func(*ebaytest.LineItem)) []ebaytest.LineItem {
		l := ebaytest.LineItem{LineItemID: "L1", SKU: "SKU-1", Quantity: 1}
		mod(&l)
		return []ebaytest.LineItem{l}
	}
	return []struct {
		name  string
		order ebaytest.Order
	}{
		{name: "quantity above 10^12", order: ebaytest.Order{OrderID: "H-1", LineItems: line(func(l *ebaytest.LineItem) { l.Quantity = 1_000_000_000_001 })}},
		{name: "negative quantity", order: ebaytest.Order{OrderID: "H-2", LineItems: line(func(l *ebaytest.LineItem) { l.Quantity = -3 })}},
		{name: "SKU with a control character", order: ebaytest.Order{OrderID: "H-3", LineItems: line(func(l *ebaytest.LineItem) { l.SKU = "SKU\x00-1" })}},
		{name: "SKU with the field separator", order: ebaytest.Order{OrderID: "H-4", LineItems: line(func(l *ebaytest.LineItem) { l.SKU = "SKU\x1f1" })}},
		{name: "SKU ..", order: ebaytest.Order{OrderID: "H-5", LineItems: line(func(l *ebaytest.LineItem) { l.SKU = ".." })}},
		{name: "line id with a newline", order: ebaytest.Order{OrderID: "H-6", LineItems: line(func(l *ebaytest.LineItem) { l.LineItemID = "L\n1" })}},
		{name: "order id with a control character", order: ebaytest.Order{OrderID: "H-7\x02", LineItems: line(func(*ebaytest.LineItem) {})}},
		{name: "modified in year 9999", order: ebaytest.Order{OrderID: "H-8", LastModifiedDate: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), LineItems: line(func(*ebaytest.LineItem) {})}},
		{name: "modified an hour ahead of the clock", order: ebaytest.Order{OrderID: "H-9", LastModifiedDate: now.Add(time.Hour), LineItems: line(func(*ebaytest.LineItem) {})}},
	}
}

// TestFetchOrderRefusesHostile: getOrder's answer the ledger would refuse
// is an error (retried, then dead-lettered by the fetch queue), never an
// order handed on, and never "not found".
func TestFetchOrderRefusesHostile(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, tc := range hostileOrders(e.clock.Now()) {
		t.Run(tc.name, func(t *testing.T) {
			e.fake.AddOrder(tc.order)
			o, err := e.conn.FetchOrder(context.Background(), tc.order.OrderID)
			if err == nil || o != nil || errors.Is(err, connectors.ErrNotFound) {
				t.Fatalf("FetchOrder = %+v, %v; want an error", o, err)
			}
		})
	}
	// Within the clock-skew allowance an order is taken.
	e.fake.AddOrder(ebaytest.Order{OrderID: "OK-1", LastModifiedDate: e.clock.Now().Add(connectors.MaxClockSkew - time.Second),
		LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: "SKU-1", Quantity: 1_000_000_000_000}}})
	if _, err := e.conn.FetchOrder(context.Background(), "OK-1"); err != nil {
		t.Fatalf("an order a little ahead of the clock with 10^12 units: %v", err)
	}
}

// TestPollOrdersSkipsHostile: a poll page holding an order the ledger
// would refuse hands on the others and skips that one (counted), rather
// than failing every poll from then on; a year-9999 order never becomes
// the poll's cursor.
func TestPollOrdersSkipsHostile(t *testing.T) {
	e := newEnv(t, envConfig{})
	now := e.clock.Now()
	hostile := hostileOrders(now)
	for _, h := range hostile {
		h.order.CreationDate = now.Add(-time.Minute)
		if h.order.LastModifiedDate.IsZero() {
			h.order.LastModifiedDate = now.Add(-time.Minute)
		}
		e.fake.AddOrder(h.order)
	}
	e.fake.AddOrder(ebaytest.Order{OrderID: "GOOD-1", CreationDate: now.Add(-2 * time.Minute), LastModifiedDate: now.Add(-2 * time.Minute),
		LineItems: []ebaytest.LineItem{{LineItemID: "L1", SKU: "SKU-1", Quantity: 2}}})
	var got []string
	through, err := e.conn.PollOrders(context.Background(), now.Add(-time.Hour), func(_ context.Context, orders []connectors.Order) error {
		for _, o := range orders {
			got = append(got, o.OrderID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("PollOrders: %v", err)
	}
	if len(got) != 1 || got[0] != "GOOD-1" {
		t.Fatalf("emitted %v; want only GOOD-1", got)
	}
	if through.After(now.Add(time.Second)) {
		t.Fatalf("through = %v: past the clock %v", through, now)
	}
	var refused float64
	for _, reason := range []string{"quantity", "identifier", "version"} {
		refused += counter(t, e.conn.metrics.refusedOrders.WithLabelValues("poll", reason))
	}
	if int(refused) != len(hostile) {
		t.Fatalf("refused orders counted %v; want %d", refused, len(hostile))
	}
}
