package ebay

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// shipOrder is an order of two lines (3 units of L1, 1 of L2) on the fake.
func shipOrder(f *ebaytest.Server, id string) {
	f.AddOrder(ebaytest.Order{OrderID: id, LineItems: []ebaytest.LineItem{
		{LineItemID: "L1", LegacyItemID: "110001", SKU: "SKU-1", Quantity: 3},
		{LineItemID: "L2", LegacyItemID: "110002", SKU: "SKU-2", Quantity: 1},
	}})
}

func shipment(id, order string, lines ...connectors.ShipmentLine) connectors.Shipment {
	return connectors.Shipment{
		ID: id, Channel: "ebay-test", OrderID: order, Lines: lines,
		Carrier: "ups", CarrierCode: "UPS", TrackingNumber: "1Z999AA10123456784",
		ShippedAt: time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC),
	}
}

func TestCarriersAreEBayCodes(t *testing.T) {
	e := newEnv(t, envConfig{})
	cs := e.conn.Carriers()
	for _, name := range []string{"ups", "usps", "fedex", "dhl"} {
		if cs[name] == "" {
			t.Errorf("no carrier code for %s", name)
		}
	}
	for name, code := range cs {
		if name != strings.ToLower(name) {
			t.Errorf("carrier name %q is not lower case", name)
		}
		if !ebaytest.CarrierCodes[code] {
			t.Errorf("carrier %s: %q is not an eBay shipping carrier code the fake knows", name, code)
		}
	}
	// The table is the connector's own: changing the copy changes nothing.
	cs["ups"] = "X"
	if e.conn.Carriers()["ups"] != "UPS" {
		t.Fatal("Carriers handed out its own table")
	}
}

func TestConfirmShipmentOutcomes(t *testing.T) {
	l1 := func(q int64) connectors.ShipmentLine { return connectors.ShipmentLine{LineID: "L1", Quantity: q} }
	tests := []struct {
		name       string
		setup      func(*env)
		shipment   connectors.Shipment
		want       connectors.ShipmentStatus
		reason     string // in Reason
		retryAfter time.Duration
		throttled  bool // a 429: the shipment's attempts are not used up
		posts      int  // createShippingFulfillment calls
		recorded   int  // fulfillments on the fake after
		orderState string
	}{
		{name: "whole order", shipment: shipment("s1", "O-1", l1(3), connectors.ShipmentLine{LineID: "L2", Quantity: 1}),
			want: connectors.ShipmentConfirmed, posts: 1, recorded: 1, orderState: "FULFILLED"},
		{name: "part of a line", shipment: shipment("s1", "O-1", l1(2)),
			want: connectors.ShipmentConfirmed, posts: 1, recorded: 1, orderState: "IN_PROGRESS"},
		{name: "a line named twice is summed", shipment: shipment("s1", "O-1", l1(1), l1(2)),
			want: connectors.ShipmentConfirmed, posts: 1, recorded: 1, orderState: "IN_PROGRESS"},
		{name: "more units than ordered", shipment: shipment("s1", "O-1", l1(4)),
			want: connectors.ShipmentRefused, reason: "34200", posts: 1, orderState: "NOT_STARTED"},
		{name: "line not of the order", shipment: shipment("s1", "O-1", connectors.ShipmentLine{LineID: "L9", Quantity: 1}),
			want: connectors.ShipmentRefused, reason: "Invalid line item id", posts: 1, orderState: "NOT_STARTED"},
		{name: "carrier code eBay does not know", shipment: func() connectors.Shipment {
			s := shipment("s1", "O-1", l1(1))
			s.CarrierCode = "Pigeon"
			return s
		}(), want: connectors.ShipmentRefused, reason: "Invalid shipping carrier code", posts: 1, orderState: "NOT_STARTED"},
		{name: "order eBay does not know", shipment: shipment("s1", "O-404", l1(1)),
			want: connectors.ShipmentRefused, reason: "Invalid order ID", posts: 1},
		{name: "no tracking number: nothing posted", shipment: func() connectors.Shipment {
			s := shipment("s1", "O-1", l1(1))
			s.TrackingNumber = " "
			return s
		}(), want: connectors.ShipmentRefused, reason: "tracking", orderState: "NOT_STARTED"},
		{name: "no carrier code: nothing posted", shipment: func() connectors.Shipment {
			s := shipment("s1", "O-1", l1(1))
			s.CarrierCode = ""
			return s
		}(), want: connectors.ShipmentRefused, reason: "carrier ups", orderState: "NOT_STARTED"},
		{name: "zero units: nothing posted", shipment: shipment("s1", "O-1", l1(0)),
			want: connectors.ShipmentRefused, reason: "quantity above 0", orderState: "NOT_STARTED"},
		{name: "throttled: retry after eBay's wait", setup: func(e *env) { e.fake.Throttle(1, "7") },
			shipment: shipment("s1", "O-1", l1(1)), want: connectors.ShipmentRetry, reason: "429", retryAfter: 7 * time.Second,
			throttled: true, posts: 1, orderState: "NOT_STARTED"},
		{name: "order cancelled on eBay", setup: func(e *env) { e.fake.CancelOrder("O-1") },
			shipment: shipment("s1", "O-1", l1(1)), want: connectors.ShipmentRefused, reason: "cancelled", posts: 1},
		{name: "revoked token: refreshed, then confirmed", setup: func(e *env) { e.fake.RevokeTokens() },
			shipment: shipment("s1", "O-1", l1(1)), want: connectors.ShipmentConfirmed, posts: 2, recorded: 1, orderState: "IN_PROGRESS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			shipOrder(e.fake, "O-1")
			// A first call gets a token, so RevokeTokens has one to revoke.
			if err := e.conn.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(e)
			}
			res, err := e.conn.ConfirmShipment(context.Background(), tc.shipment)
			if err != nil {
				t.Fatalf("ConfirmShipment: %v", err)
			}
			if res.Status != tc.want || !strings.Contains(res.Reason, tc.reason) || res.RetryAfter != tc.retryAfter || res.Throttled != tc.throttled {
				t.Fatalf("result = %+v; want %s with %q in the reason, retry after %s", res, tc.want, tc.reason, tc.retryAfter)
			}
			if got := e.fake.Calls("create_shipping_fulfillment"); got != tc.posts {
				t.Errorf("createShippingFulfillment calls = %d; want %d", got, tc.posts)
			}
			fs := e.fake.Fulfillments(tc.shipment.OrderID)
			if len(fs) != tc.recorded {
				t.Fatalf("fulfillments on eBay = %d; want %d", len(fs), tc.recorded)
			}
			if tc.recorded == 1 {
				checkRecorded(t, fs[0], tc.shipment, res)
			}
			if tc.orderState != "" {
				o, err := e.conn.FetchOrder(context.Background(), "O-1")
				if err != nil {
					t.Fatal(err)
				}
				if got := map[string]string{"open": "NOT_STARTED", "partially_shipped": "IN_PROGRESS", "shipped": "FULFILLED"}[string(o.Status)]; got != tc.orderState {
					t.Errorf("order status %s; want eBay's %s", o.Status, tc.orderState)
				}
			}
		})
	}
}

// checkRecorded: eBay holds the shipment as sent.
func checkRecorded(t *testing.T, f ebaytest.Fulfillment, s connectors.Shipment, res connectors.ShipmentResult) {
	t.Helper()
	if res.Ref == "" || res.Ref != f.ID {
		t.Errorf("Ref = %q; want the fulfillment id %q", res.Ref, f.ID)
	}
	if f.CarrierCode != s.CarrierCode || f.TrackingNumber != s.TrackingNumber || !f.ShippedDate.Equal(s.ShippedAt) {
		t.Errorf("recorded %+v; want carrier %s tracking %s shipped %s", f, s.CarrierCode, s.TrackingNumber, s.ShippedAt)
	}
	want := map[string]int64{}
	for _, l := range s.Lines {
		want[l.LineID] += l.Quantity
	}
	if len(f.Lines) != len(want) {
		t.Fatalf("recorded lines %+v; want %v", f.Lines, want)
	}
	for _, l := range f.Lines {
		if want[l.LineItemID] != l.Quantity {
			t.Errorf("recorded lines %+v; want %v", f.Lines, want)
		}
	}
}

// TestConfirmShipmentRetryAfterLostAnswer: eBay made the fulfillment but
// its answer was lost (502); the retry finds it and confirms it, and no
// second fulfillment is made, by the same connector (the attempt mark)
// or by another one that shares nothing with it (eBay's refusal of the
// units, then the read).
func TestConfirmShipmentRetryAfterLostAnswer(t *testing.T) {
	tests := []struct {
		name       string
		freshCache bool
		lines      []connectors.ShipmentLine
		wantGets   int
	}{
		{name: "same connector, part of a line", lines: []connectors.ShipmentLine{{LineID: "L1", Quantity: 2}}, wantGets: 1},
		{name: "same connector, whole order", lines: []connectors.ShipmentLine{{LineID: "L1", Quantity: 3}, {LineID: "L2", Quantity: 1}}, wantGets: 1},
		{name: "attempt mark lost, whole order", freshCache: true, lines: []connectors.ShipmentLine{{LineID: "L1", Quantity: 3}, {LineID: "L2", Quantity: 1}}, wantGets: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			shipOrder(e.fake, "O-1")
			s := shipment("s-lost", "O-1", tc.lines...)
			e.fake.LoseFulfillmentAnswers(1)
			res, err := e.conn.ConfirmShipment(context.Background(), s)
			if err != nil || res.Status != connectors.ShipmentRetry {
				t.Fatalf("first attempt = %+v, %v; want retry (eBay answered 502)", res, err)
			}
			if n := len(e.fake.Fulfillments("O-1")); n != 1 {
				t.Fatalf("fulfillments after the lost answer = %d; want 1", n)
			}
			if tc.freshCache {
				e.conn.deps.Cache = &connectors.MemoryCache{}
			}
			res, err = e.conn.ConfirmShipment(context.Background(), s)
			fs := e.fake.Fulfillments("O-1")
			if err != nil || res.Status != connectors.ShipmentConfirmed || len(fs) != 1 || res.Ref != fs[0].ID {
				t.Fatalf("retry = %+v, %v with %d fulfillments; want confirmed as the one eBay has", res, err, len(fs))
			}
			if got := e.fake.Calls("get_shipping_fulfillments"); got != tc.wantGets {
				t.Errorf("getShippingFulfillments calls = %d; want %d", got, tc.wantGets)
			}
			// A third repeat, after the confirmation, is confirmed without a post.
			posts := e.fake.Calls("create_shipping_fulfillment")
			res, err = e.conn.ConfirmShipment(context.Background(), s)
			if err != nil || res.Status != connectors.ShipmentConfirmed || e.fake.Calls("create_shipping_fulfillment") != posts || len(e.fake.Fulfillments("O-1")) != 1 {
				t.Fatalf("repeat after confirmation = %+v, %v; want confirmed, no post", res, err)
			}
		})
	}
}

// TestConfirmShipmentFirstAttemptPostsOnly: a shipment never tried before
// costs one call; the same lines with another tracking number are
// another package.
func TestConfirmShipmentFirstAttemptPostsOnly(t *testing.T) {
	e := newEnv(t, envConfig{})
	shipOrder(e.fake, "O-1")
	a := shipment("s-a", "O-1", connectors.ShipmentLine{LineID: "L1", Quantity: 1})
	b := shipment("s-b", "O-1", connectors.ShipmentLine{LineID: "L1", Quantity: 1})
	b.TrackingNumber = "1Z999AA10123456785"
	for _, s := range []connectors.Shipment{a, b} {
		if res, err := e.conn.ConfirmShipment(context.Background(), s); err != nil || res.Status != connectors.ShipmentConfirmed {
			t.Fatalf("%s = %+v, %v", s.ID, res, err)
		}
	}
	if gets, n := e.fake.Calls("get_shipping_fulfillments"), len(e.fake.Fulfillments("O-1")); gets != 0 || n != 2 {
		t.Fatalf("reads %d, fulfillments %d; want 0 and 2", gets, n)
	}
}

type failingCache struct{ connectors.MemoryCache }

func (*failingCache) Set(context.Context, string, string, time.Duration) error {
	return errors.New("cache down")
}

// TestConfirmShipmentCacheDown: without the attempt mark nothing is
// posted; the caller retries.
func TestConfirmShipmentCacheDown(t *testing.T) {
	e := newEnv(t, envConfig{})
	shipOrder(e.fake, "O-1")
	e.conn.deps.Cache = &failingCache{}
	_, err := e.conn.ConfirmShipment(context.Background(), shipment("s1", "O-1", connectors.ShipmentLine{LineID: "L1", Quantity: 1}))
	if err == nil || e.fake.Calls("create_shipping_fulfillment") != 0 {
		t.Fatalf("err = %v, posts %d; want an error and no post", err, e.fake.Calls("create_shipping_fulfillment"))
	}
}

func TestConfirmShipmentContextCancelled(t *testing.T) {
	e := newEnv(t, envConfig{})
	shipOrder(e.fake, "O-1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.conn.ConfirmShipment(ctx, shipment("s1", "O-1", connectors.ShipmentLine{LineID: "L1", Quantity: 1})); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
}

func TestFulfillmentID(t *testing.T) {
	tests := map[string]string{
		"https://api.ebay.com/sell/fulfillment/v1/order/12-1/shipping_fulfillment/9405509699937003457459": "9405509699937003457459",
		"/sell/fulfillment/v1/order/12-1/shipping_fulfillment/77/":                                        "77",
		"":                      "",
		"https://api.ebay.com/": "",
		"/x/a%01b":              "",
	}
	for loc, want := range tests {
		if got := fulfillmentID(loc); got != want {
			t.Errorf("fulfillmentID(%q) = %q; want %q", loc, got, want)
		}
	}
}
