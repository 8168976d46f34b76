package amazon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// orderChange is the ORDER_CHANGE fixture with change applied to its
// OrderChangeNotification (as a generic JSON object), re-encoded.
func orderChange(t testing.TB, change func(n map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readFixture(t, "notification_ORDER_CHANGE.example.json"), &doc); err != nil {
		t.Fatal(err)
	}
	n := doc["Payload"].(map[string]any)["OrderChangeNotification"].(map[string]any)
	change(n)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func summary(n map[string]any) map[string]any { return n["Summary"].(map[string]any) }

// ocItem is one Summary.OrderItems entry; shipped < 0 leaves QuantityShipped out.
type ocItem struct {
	id, sku          string
	ordered, shipped int64
}

// withState sets the notification's status, version and items.
func withState(status string, at time.Time, items ...ocItem) func(map[string]any) {
	return func(n map[string]any) {
		n["OrderChangeType"] = "OrderStatusChange"
		n["OrderChangeTrigger"] = map[string]any{"TimeOfOrderChange": at.Format(time.RFC3339Nano), "ChangeReason": "Order status changed"}
		s := summary(n)
		s["OrderStatus"] = status
		var list []any
		for _, it := range items {
			m := map[string]any{"OrderItemId": it.id, "SellerSKU": it.sku, "SupplySourceId": nil, "Quantity": it.ordered}
			if it.shipped >= 0 {
				m["QuantityShipped"] = it.shipped
			}
			list = append(list, m)
		}
		s["OrderItems"] = list
	}
}

// TestOrderChangeIsTheOrdersState: an OrderLevel ORDER_CHANGE of a
// merchant-fulfilled order becomes the order's whole state, with no SP-API
// call, and that state is the one the poller's sources build from the same
// facts (v0 getOrder + getOrderItems, v2026-01-01 getOrder): Pending
// reserves, Canceled cancels every unit not shipped, shipped units come
// from QuantityShipped, the version is TimeOfOrderChange.
func TestOrderChangeIsTheOrdersState(t *testing.T) {
	at := time.Date(2026, 2, 27, 9, 30, 15, 0, time.UTC)
	for _, tc := range []struct {
		status string
		items  []ocItem
		want   connectors.OrderStatus
		lines  []connectors.Line
	}{
		{"Pending", []ocItem{{"I1", "SKU-A", 2, -1}}, connectors.StatusPending,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 2}}},
		{"PendingAvailability", []ocItem{{"I1", "SKU-A", 1, 0}}, connectors.StatusPending,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 1}}},
		{"Unshipped", []ocItem{{"I1", "SKU-A", 3, 0}, {"I2", "SKU-B", 1, -1}}, connectors.StatusOpen,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 3}, {LineID: "I2", SKU: "SKU-B", Quantity: 1}}},
		{"PartiallyShipped", []ocItem{{"I1", "SKU-A", 3, 1}, {"I2", "SKU-B", 2, 2}}, connectors.StatusPartiallyShipped,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 3, Shipped: 1}, {LineID: "I2", SKU: "SKU-B", Quantity: 2, Shipped: 2}}},
		{"Shipped", []ocItem{{"I1", "SKU-A", 3, 3}}, connectors.StatusShipped,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 3, Shipped: 3}}},
		{"InvoiceUnconfirmed", []ocItem{{"I1", "SKU-A", 2, 2}}, connectors.StatusShipped,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 2, Shipped: 2}}},
		{"Canceled", []ocItem{{"I1", "SKU-A", 4, 0}, {"I2", "SKU-B", 3, 1}}, connectors.StatusCancelled,
			[]connectors.Line{{LineID: "I1", SKU: "SKU-A", Quantity: 4, Cancelled: 4}, {LineID: "I2", SKU: "SKU-B", Quantity: 3, Shipped: 1, Cancelled: 2}}},
		{"Unshipped", []ocItem{{"I1", "", 1, 0}}, connectors.StatusOpen,
			[]connectors.Line{{LineID: "I1", Quantity: 1, NoSKU: true}}},
	} {
		t.Run(tc.status, func(t *testing.T) {
			body := orderChange(t, withState(tc.status, at, tc.items...))
			events, err := ParseNotification("amazon-us", body, at.Add(time.Second))
			if err != nil || len(events) != 1 {
				t.Fatalf("got %+v, %v", events, err)
			}
			ev := events[0]
			if ev.Kind != connectors.EventOrder || ev.Order == nil || ev.ID != "d0e9e693-c3ad-4373-979f-ed4ec98dd746" || ev.OrderID != "903-8868176-2219830" {
				t.Fatalf("event %+v, want the order's state under the notification's id", ev)
			}
			o := ev.Order
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			if o.Status != tc.want || !o.UpdatedAt.Equal(at) || o.Channel != "amazon-us" || !reflect.DeepEqual(o.Lines, tc.lines) {
				t.Fatalf("order %+v\nwant status %s at %s, lines %+v", o, tc.want, at, tc.lines)
			}

			// The poller's sources, fed the same facts, build the same state.
			for _, api := range ordersAPIs {
				clk := newClock()
				srv := newFake(t, clk, nil)
				c := newTestConnector(t, srv, clk, withOrdersAPI(api))
				fo := amazontest.Order{AmazonOrderID: o.OrderID, Status: tc.status, LastUpdate: at}
				for _, it := range tc.items {
					fo.Items = append(fo.Items, amazontest.Item{OrderItemID: it.id, SellerSKU: it.sku, Ordered: it.ordered, Shipped: max(it.shipped, 0)})
				}
				srv.AddOrder(fo)
				fetched, err := c.FetchOrder(context.Background(), o.OrderID)
				if err != nil {
					t.Fatalf("%s: %v", api, err)
				}
				fetched.Name = ""
				if !reflect.DeepEqual(fetched, o) {
					t.Errorf("%s fetch:        %+v\nnotification built %+v", api, fetched, o)
				}
			}
		})
	}
}

// TestOrderChangeFetchesWhenItCannotTell: a notification that does not
// say enough to be the order's state stays "order changed, fetch it"
// (under its own id), and never fails: the order id is enough for that.
func TestOrderChangeFetchesWhenItCannotTell(t *testing.T) {
	at := time.Date(2026, 2, 27, 9, 30, 15, 0, time.UTC)
	state := withState("Unshipped", at, ocItem{"I1", "SKU-A", 2, 0})
	for _, tc := range []struct {
		name   string
		change func(n map[string]any)
	}{
		{"OrderItemLevel (one item of the order)", func(n map[string]any) { state(n); n["NotificationLevel"] = "OrderItemLevel" }},
		{"no NotificationLevel", func(n map[string]any) { state(n); delete(n, "NotificationLevel") }},
		{"no Summary", func(n map[string]any) { state(n); delete(n, "Summary") }},
		{"null Summary", func(n map[string]any) { state(n); n["Summary"] = nil }},
		{"Summary not an object", func(n map[string]any) { state(n); n["Summary"] = "Unshipped" }},
		{"no OrderItems", func(n map[string]any) { state(n); delete(summary(n), "OrderItems") }},
		{"empty OrderItems", func(n map[string]any) { state(n); summary(n)["OrderItems"] = []any{} }},
		{"null TimeOfOrderChange", func(n map[string]any) {
			state(n)
			n["OrderChangeTrigger"] = map[string]any{"TimeOfOrderChange": nil, "ChangeReason": "x"}
		}},
		{"no OrderChangeTrigger", func(n map[string]any) { state(n); delete(n, "OrderChangeTrigger") }},
		{"unreadable TimeOfOrderChange", func(n map[string]any) {
			state(n)
			n["OrderChangeTrigger"] = map[string]any{"TimeOfOrderChange": "yesterday"}
		}},
		{"unknown OrderStatus", func(n map[string]any) { state(n); summary(n)["OrderStatus"] = "Lost" }},
		{"no FulfillmentType", func(n map[string]any) { state(n); delete(summary(n), "FulfillmentType") }},
		{"item without Quantity", func(n map[string]any) {
			state(n)
			delete(summary(n)["OrderItems"].([]any)[0].(map[string]any), "Quantity")
		}},
		{"item without OrderItemId", func(n map[string]any) {
			state(n)
			delete(summary(n)["OrderItems"].([]any)[0].(map[string]any), "OrderItemId")
		}},
		{"Quantity not a number", func(n map[string]any) {
			state(n)
			summary(n)["OrderItems"].([]any)[0].(map[string]any)["Quantity"] = "2"
		}},
		{"Shipped without QuantityShipped", withState("Shipped", at, ocItem{"I1", "SKU-A", 2, -1})},
		{"PartiallyShipped without QuantityShipped", withState("PartiallyShipped", at, ocItem{"I1", "SKU-A", 2, 1}, ocItem{"I2", "SKU-B", 2, -1})},
		{"Canceled without QuantityShipped", withState("Canceled", at, ocItem{"I1", "SKU-A", 2, -1})},
		{"the same item twice", withState("Unshipped", at, ocItem{"I1", "SKU-A", 2, 0}, ocItem{"I1", "SKU-A", 1, 0})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, err := ParseNotification("c", orderChange(t, tc.change), at)
			if err != nil || len(events) != 1 {
				t.Fatalf("got %+v, %v", events, err)
			}
			ev := events[0]
			if ev.Kind != connectors.EventOrderChanged || ev.Order != nil || ev.OrderID != "903-8868176-2219830" || ev.ID != "d0e9e693-c3ad-4373-979f-ed4ec98dd746" {
				t.Fatalf("got %+v, want order_changed for 903-8868176-2219830", ev)
			}
		})
	}
}

// TestOrderChangeOfAmazonFulfilledOrder: an FBA order moves none of the
// seller's stock; the poller never asks for one, and its notification is
// ignored (answered, deleted), not fetched.
func TestOrderChangeOfAmazonFulfilledOrder(t *testing.T) {
	at := time.Date(2026, 2, 27, 9, 30, 15, 0, time.UTC)
	body := orderChange(t, func(n map[string]any) {
		withState("Shipped", at, ocItem{"I1", "SKU-A", 2, 2})(n)
		summary(n)["FulfillmentType"] = "AFN"
	})
	events, err := ParseNotification("c", body, at)
	if !errors.Is(err, connectors.ErrIgnored) || len(events) != 0 {
		t.Fatalf("got %+v, %v; want ErrIgnored", events, err)
	}
}

// orderChangeSeeds are ORDER_CHANGE variants for the fuzzers.
func orderChangeSeeds(t testing.TB) [][]byte {
	at := time.Date(2026, 2, 27, 9, 30, 15, 0, time.UTC)
	var out [][]byte
	for _, ch := range []func(map[string]any){
		withState("Canceled", at, ocItem{"I1", "SKU-A", 4, 1}, ocItem{"I2", "", 1, 0}),
		withState("Shipped", at, ocItem{"I1", "SKU-A", 2, 5}),
		withState("Pending", at, ocItem{"I1", "SKU-A", -3, -1}),
		func(n map[string]any) { n["NotificationLevel"] = "OrderItemLevel" },
		func(n map[string]any) { summary(n)["FulfillmentType"] = "AFN" },
		func(n map[string]any) { n["OrderChangeTrigger"] = map[string]any{"TimeOfOrderChange": nil} },
	} {
		out = append(out, orderChange(t, ch))
	}
	return out
}

func ExampleParseNotification() {
	body := []byte(`{"NotificationType":"ORDER_CHANGE","EventTime":"2026-02-27T09:30:16Z",
	 "Payload":{"OrderChangeNotification":{"NotificationLevel":"OrderLevel","SellerId":"A2EXAMPLE","AmazonOrderId":"113-0000000-0000001",
	  "OrderChangeType":"OrderStatusChange","OrderChangeTrigger":{"TimeOfOrderChange":"2026-02-27T09:30:15Z","ChangeReason":"Canceled"},
	  "Summary":{"MarketplaceId":"ATVPDKIKX0DER","OrderStatus":"Canceled","FulfillmentType":"MFN","OrderType":"StandardOrder",
	   "OrderItems":[{"OrderItemId":"1","SellerSKU":"MUG-RED","Quantity":2,"QuantityShipped":0}]}}},
	 "NotificationMetadata":{"NotificationId":"n-1","PublishTime":"2026-02-27T09:30:16Z"}}`)
	events, _ := ParseNotification("amazon-us", body, time.Time{})
	o := events[0].Order
	fmt.Println(events[0].Kind, o.OrderID, o.Status, o.UpdatedAt.Format(time.RFC3339), o.Lines[0].SKU, o.Lines[0].Open(), o.Lines[0].Cancelled)
	// Output: order 113-0000000-0000001 cancelled 2026-02-27T09:30:15Z MUG-RED 0 2
}
