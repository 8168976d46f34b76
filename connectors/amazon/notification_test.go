package amazon

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// eventBridge wraps a notification as an EventBridge event, the way an API
// destination posts it.
func eventBridge(t testing.TB, notification []byte, detailType string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "6f8ac4a2-0000-0000-0000-000000000000", "detail-type": detailType,
		"source": "aws.partner/sellingpartnerapi.amazon/amzn1.sellerapps.app.test", "account": "123456789012",
		"time": "2021-02-03T18:59:31Z", "region": "us-east-1", "resources": []string{},
		"detail": json.RawMessage(notification),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNotification(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	orderChange := readFixture(t, "notification_ORDER_CHANGE.example.json")
	mfn := readFixture(t, "notification_LISTINGS_ITEM_MFN_QUANTITY_CHANGE.example.json")
	feed := readFixture(t, "notification_FEED_PROCESSING_FINISHED.example.json")
	// The fixture is an OrderLevel, MFN, Unshipped order of 10 units: its
	// whole state, versioned by TimeOfOrderChange; nothing to fetch.
	wantOrder := connectors.Event{
		Kind: connectors.EventOrder, Channel: "c", ID: "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
		Topic: TypeOrderChange, ReceivedAt: at, OrderID: "903-8868176-2219830",
		Order: &connectors.Order{
			Channel: "c", OrderID: "903-8868176-2219830", Status: connectors.StatusOpen,
			UpdatedAt: time.Date(2022, 11, 29, 19, 42, 4, 284000000, time.UTC),
			Lines:     []connectors.Line{{LineID: "OIID34853450", SKU: "SellerSKUID1", Quantity: 10}},
		},
	}
	wantStock := connectors.Event{
		Kind: connectors.EventStockChanged, Channel: "c", ID: "8e009934-da2c-4f9c-9bc7-93f23b7e1f60",
		Topic: TypeMFNQuantityChange, ReceivedAt: at,
		Stock: &connectors.StockChange{SKU: "NLS-SHOES-03", ChannelLocation: "DEFAULT", Quantity: 99, At: time.Date(2021, 2, 3, 18, 59, 30, 194000000, time.UTC)},
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		want    *connectors.Event
		ignored bool
	}{
		{"ORDER_CHANGE bare (SQS body)", orderChange, &wantOrder, false},
		{"ORDER_CHANGE in EventBridge", eventBridge(t, orderChange, "ORDER_CHANGE"), &wantOrder, false},
		{"MFN quantity bare", mfn, &wantStock, false},
		{"MFN quantity in EventBridge", eventBridge(t, mfn, "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"), &wantStock, false},
		{"FEED_PROCESSING_FINISHED (camelCase)", feed, nil, true},
		{"FEED_PROCESSING_FINISHED in EventBridge", eventBridge(t, feed, "FEED_PROCESSING_FINISHED"), nil, true},
		{"other type", []byte(`{"NotificationType":"ANY_OFFER_CHANGED","Payload":{}}`), nil, true},
		{"type only in detail-type", []byte(`{"detail-type":"LISTINGS_ITEM_STATUS_CHANGE","detail":{"Payload":{}}}`), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNotification("c", tc.body, at)
			if tc.ignored {
				if !errors.Is(err, connectors.ErrIgnored) || len(got) != 0 {
					t.Fatalf("got %+v, %v; want ErrIgnored", got, err)
				}
				return
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("got %+v, %v", got, err)
			}
			gj, _ := json.Marshal(got[0])
			wj, _ := json.Marshal(tc.want)
			if string(gj) != string(wj) {
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestParseNotificationMalformed(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"empty", ``},
		{"not json", `NotificationType=ORDER_CHANGE`},
		{"array", `[]`},
		{"no type", `{"Payload":{}}`},
		{"order change without order", `{"NotificationType":"ORDER_CHANGE","Payload":{"OrderChangeNotification":{}}}`},
		{"order change bad payload", `{"NotificationType":"ORDER_CHANGE","Payload":[1]}`},
		{"quantity without sku", `{"NotificationType":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE","EventTime":"2021-02-03T18:59:30Z","Payload":{"Quantity":3}}`},
		{"quantity without quantity", `{"NotificationType":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE","EventTime":"2021-02-03T18:59:30Z","Payload":{"Sku":"A"}}`},
		{"quantity without time", `{"NotificationType":"LISTINGS_ITEM_MFN_QUANTITY_CHANGE","Payload":{"Sku":"A","Quantity":3}}`},
		{"detail not an object", `{"detail-type":"ORDER_CHANGE","detail":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNotification("c", []byte(tc.body), time.Time{})
			if !errors.Is(err, errMalformed) {
				t.Fatalf("got %+v, %v; want errMalformed", got, err)
			}
		})
	}
}

// fixtureSeeds adds every testdata file to a fuzz corpus.
func fixtureSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(files) == 0 {
		f.Fatal("no fixtures")
	}
}

func FuzzParseNotification(f *testing.F) {
	fixtureSeeds(f)
	f.Add(eventBridge(f, readFixture(f, "notification_ORDER_CHANGE.example.json"), "ORDER_CHANGE"))
	for _, b := range orderChangeSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := ParseNotification("c", data, time.Time{})
		if err != nil {
			if len(events) != 0 {
				t.Fatalf("events with an error: %+v", events)
			}
			if !errors.Is(err, errMalformed) && !errors.Is(err, connectors.ErrIgnored) {
				t.Fatalf("error neither malformed nor ignored: %v", err)
			}
			return
		}
		for _, ev := range events {
			switch ev.Kind {
			case connectors.EventOrderChanged:
				if ev.OrderID == "" || ev.Order != nil {
					t.Fatalf("order_changed %+v: without order id, or with an order", ev)
				}
			case connectors.EventOrder:
				// A notification's own state must be as good as a polled one.
				o := ev.Order
				if o == nil || ev.Topic != TypeOrderChange || o.OrderID == "" || o.OrderID != ev.OrderID || o.Channel != "c" {
					t.Fatalf("order event %+v", ev)
				}
				if err := o.Validate(); err != nil {
					t.Fatalf("invalid order passed: %v", err)
				}
				for _, l := range o.Lines {
					if o.Status == connectors.StatusCancelled && l.Open() != 0 {
						t.Fatalf("cancelled order with open units: %+v", l)
					}
				}
			case connectors.EventStockChanged:
				if ev.Stock == nil || ev.Stock.SKU == "" {
					t.Fatal("stock_changed without sku")
				}
			default:
				t.Fatalf("unexpected kind %s", ev.Kind)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	fixtureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := Normalize("c", data)
		if err != nil {
			return
		}
		for _, ev := range events {
			if ev.Channel != "c" {
				t.Fatalf("event of channel %q", ev.Channel)
			}
			if ev.Kind == connectors.EventOrder {
				if err := ev.Order.Validate(); err != nil {
					t.Fatalf("invalid order passed: %v", err)
				}
			}
		}
	})
}

// FuzzOrdersV0 joins a getOrders page to a getOrderItems page, as the
// poller does: whatever Amazon answers, an order handed on is valid.
func FuzzOrdersV0(f *testing.F) {
	f.Add(readFixture(f, "getOrders_response.example.json"), readFixture(f, "getOrderItems_response.example.json"))
	f.Add(readFixture(f, "getOrders_response.sandbox_TEST_CASE_200.json"), readFixture(f, "getOrderItems_response.example.json"))
	f.Add([]byte(`{"payload":{"Orders":[{"AmazonOrderId":"1","OrderStatus":"Canceled","LastUpdateDate":"2024-01-01T00:00:00Z"}]}}`),
		[]byte(`{"payload":{"OrderItems":[{"OrderItemId":"a","SellerSKU":"S","QuantityOrdered":-2,"QuantityShipped":9}]}}`))
	f.Fuzz(func(t *testing.T, orders, items []byte) {
		p, err := decodeOrdersPage(orders)
		if err != nil {
			return
		}
		ip, err := decodeOrderItemsPage(items)
		if err != nil {
			return
		}
		for i := range p.Payload.Orders {
			o, err := p.Payload.Orders[i].toOrder("c", ip.Payload.OrderItems)
			if err != nil {
				continue
			}
			if err := o.Validate(); err != nil {
				t.Fatalf("invalid order passed: %v", err)
			}
		}
	})
}

// FuzzReport reads processing reports and listings answers: the pusher's
// and the reader's inputs.
func FuzzReport(f *testing.F) {
	f.Add(readFixture(f, "json_listings_feed_processing_report.example.json"))
	f.Add(readFixture(f, "patchListingsItem_response.sandbox_VALIDATION_INVALID.json"))
	f.Add([]byte(`{"sku":"A","fulfillmentAvailability":[{"fulfillmentChannelCode":"DEFAULT","quantity":3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := decodeReport(data); err == nil {
			for id, reason := range r.errorsByMessage() {
				if reason == "" {
					t.Fatalf("message %d failed without a reason", id)
				}
			}
		}
		if p, err := decodePatchResponse(data); err == nil && p.Status == "" {
			t.Fatal("patch answer without status passed")
		}
		var li listingsItem
		if json.Unmarshal(data, &li) == nil {
			li.merchantQuantity()
		}
	})
}
