package shopify

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// shipFixture is a fake store with one order of two lines (3 × A, 2 × B).
type shipFixture struct {
	s            *shopifytest.Server
	order        int64
	lineA, lineB int64
}

func newShipFixture(t *testing.T, mod func(*shopifytest.Order)) shipFixture {
	t.Helper()
	s := newFake(t, shopifytest.Options{})
	o := shopifytest.Order{FinancialStatus: "PAID", Lines: []shopifytest.OrderLine{{SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 2}}}
	if mod != nil {
		mod(&o)
	}
	id := s.AddOrder(o)
	stored, _ := s.Order(id)
	return shipFixture{s: s, order: id, lineA: stored.Lines[0].ID, lineB: stored.Lines[1].ID}
}

func (f shipFixture) shipment(tracking string, lines ...connectors.ShipmentLine) connectors.Shipment {
	return connectors.Shipment{
		ID: "shp-1", Channel: "shop-eu", OrderID: strconv.FormatInt(f.order, 10), Lines: lines,
		Carrier: "ups", CarrierCode: "UPS", TrackingNumber: tracking, ShippedAt: time.Now(),
	}
}

func line(id int64, q int64) connectors.ShipmentLine {
	return connectors.ShipmentLine{LineID: strconv.FormatInt(id, 10), Quantity: q}
}

// TestConfirmShipment maps each outcome of fulfillmentCreate against the
// fake store, which checks what Shopify documents.
func TestConfirmShipment(t *testing.T) {
	tests := []struct {
		name   string
		order  func(*shopifytest.Order)
		mod    func(*config.Channel)
		ship   func(f shipFixture) connectors.Shipment
		status connectors.ShipmentStatus
		reason string          // substring of Reason
		units  map[int64]int64 // fulfilled per line index (0: A, 1: B), when confirmed
	}{
		{name: "whole line", ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z001", line(f.lineA, 3)) },
			status: connectors.ShipmentConfirmed, units: map[int64]int64{0: 3}},
		{name: "part of a line", ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z002", line(f.lineA, 2)) },
			status: connectors.ShipmentConfirmed, units: map[int64]int64{0: 2}},
		{name: "two lines, one line given twice", ship: func(f shipFixture) connectors.Shipment {
			return f.shipment("1Z003", line(f.lineA, 1), line(f.lineB, 2), line(f.lineA, 1))
		}, status: connectors.ShipmentConfirmed, units: map[int64]int64{0: 2, 1: 2}},
		{name: "more than ordered: Shopify's quantity user error", ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z004", line(f.lineB, 3)) },
			status: connectors.ShipmentRefused, reason: "Invalid fulfillment order line item quantity"},
		{name: "line already fulfilled elsewhere", order: func(o *shopifytest.Order) {
			o.Lines[1].ID = 77
			o.Fulfillments = []shopifytest.Fulfillment{{Status: "SUCCESS", Lines: map[int64]int64{77: 2}}}
		}, ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z005", line(f.lineB, 1)) },
			status: connectors.ShipmentRefused, reason: "Invalid fulfillment order line item quantity"},
		{name: "unknown line", ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z006", line(999999, 1)) },
			status: connectors.ShipmentRefused, reason: "on no fulfillment order"},
		{name: "unknown order", ship: func(f shipFixture) connectors.Shipment {
			s := f.shipment("1Z007", line(f.lineA, 1))
			s.OrderID = "424242"
			return s
		}, status: connectors.ShipmentRefused, reason: "not found"},
		{name: "cancelled order", order: func(o *shopifytest.Order) {
			at := time.Now()
			o.CancelledAt = &at
		}, ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z008", line(f.lineA, 1)) },
			status: connectors.ShipmentRefused, reason: "cancelled"},
		{name: "fulfillment order on hold", order: func(o *shopifytest.Order) {
			o.FulfillmentOrders = []shopifytest.FulfillmentOrder{{Status: "ON_HOLD", Lines: []shopifytest.FulfillmentOrderLine{{LineID: 11, Quantity: 3}}}}
			o.Lines[0].ID = 11
		}, ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z009", line(f.lineA, 1)) },
			status: connectors.ShipmentRefused, reason: "on_hold"},
		{name: "tracking url Shopify refuses", ship: func(f shipFixture) connectors.Shipment {
			s := f.shipment("1Z010", line(f.lineA, 1))
			s.TrackingURL = "ftp://example.com/1Z010"
			return s
		}, status: connectors.ShipmentRefused, reason: "Tracking url is invalid"},
		{name: "no tracking number", ship: func(f shipFixture) connectors.Shipment { return f.shipment(" ", line(f.lineA, 1)) },
			status: connectors.ShipmentRefused, reason: "no tracking number"},
		{name: "zero quantity", ship: func(f shipFixture) connectors.Shipment { return f.shipment("1Z011", line(f.lineA, 0)) },
			status: connectors.ShipmentRefused, reason: "positive quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newShipFixture(t, tt.order)
			c := newTestConnector(t, f.s, tt.mod)
			res, err := c.ConfirmShipment(context.Background(), tt.ship(f))
			if err != nil {
				t.Fatalf("ConfirmShipment: %v", err)
			}
			if res.Status != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("result = %+v, want %s with %q", res, tt.status, tt.reason)
			}
			created := f.s.CreatedFulfillments()
			if tt.status != connectors.ShipmentConfirmed {
				if len(created) != 0 {
					t.Fatalf("refused, but Shopify holds fulfillments %+v", created)
				}
				return
			}
			if len(created) != 1 || res.Ref != "gid://shopify/Fulfillment/"+strconv.FormatInt(created[0].Fulfillment.ID, 10) {
				t.Fatalf("ref %q, created %+v: want one fulfillment named by the ref", res.Ref, created)
			}
			stored, _ := f.s.Order(f.order)
			for idx, q := range tt.units {
				if got := created[0].Fulfillment.Lines[stored.Lines[idx].ID]; got != q {
					t.Errorf("line %d fulfilled %d, want %d", idx, got, q)
				}
			}
			tr := created[0].Fulfillment.Tracking
			if tr == nil || tr.Company != "UPS" || tr.Number == "" || !created[0].Fulfillment.NotifyCustomer {
				t.Errorf("fulfillment %+v: want tracking company UPS, a number, the customer notified", created[0].Fulfillment)
			}
		})
	}
}

// TestConfirmShipmentLostAnswer: Shopify applies the fulfillment but the
// answer is lost (502). The mutation is not resent by the HTTP client (it
// would fulfil 2 more of the 3 units); the confirmation is a retry, and
// the retry finds the fulfillment under its tracking number: confirmed,
// and nothing is fulfilled twice.
func TestConfirmShipmentLostAnswer(t *testing.T) {
	f := newShipFixture(t, nil)
	c := newTestConnector(t, f.s, nil) // the HTTP client retries 5xx twice
	f.s.LoseNextAnswer("ShelfsyncFulfillmentCreate")
	ship := f.shipment("1ZLOST", line(f.lineA, 1))
	res, err := c.ConfirmShipment(context.Background(), ship)
	if err != nil || res.Status != connectors.ShipmentRetry {
		t.Fatalf("first attempt = %+v, %v; want retry", res, err)
	}
	if n := f.s.Calls()["ShelfsyncFulfillmentCreate"]; n != 1 {
		t.Fatalf("fulfillmentCreate sent %d times, want once", n)
	}
	for i := 0; i < 2; i++ { // the retry, and a repeat after it
		res, err = c.ConfirmShipment(context.Background(), ship)
		if err != nil || res.Status != connectors.ShipmentConfirmed || res.Ref == "" {
			t.Fatalf("attempt %d = %+v, %v; want confirmed with the fulfillment's id", i+2, res, err)
		}
	}
	created := f.s.CreatedFulfillments()
	if len(created) != 1 || created[0].Fulfillment.Lines[f.lineA] != 1 {
		t.Fatalf("created %+v, want one fulfillment of 1 unit", created)
	}
	if n := f.s.Calls()["ShelfsyncFulfillmentCreate"]; n != 1 {
		t.Fatalf("fulfillmentCreate sent %d times, want once", n)
	}
}

// TestConfirmShipmentPartlyThere: a shipment whose first location was
// fulfilled (then the answer lost) sends only the rest.
func TestConfirmShipmentTwoLocations(t *testing.T) {
	f := newShipFixture(t, func(o *shopifytest.Order) {
		o.Lines[0].ID, o.Lines[1].ID = 21, 22
		o.FulfillmentOrders = []shopifytest.FulfillmentOrder{
			{Lines: []shopifytest.FulfillmentOrderLine{{LineID: 21, Quantity: 3}}},
			{LocationID: "gid://shopify/Location/905684977", Lines: []shopifytest.FulfillmentOrderLine{{LineID: 22, Quantity: 2}}},
		}
	})
	c := newTestConnector(t, f.s, nil)
	ship := f.shipment("1ZTWO", line(f.lineA, 3), line(f.lineB, 2))
	res, err := c.ConfirmShipment(context.Background(), ship)
	if err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("ConfirmShipment = %+v, %v", res, err)
	}
	created := f.s.CreatedFulfillments()
	if len(created) != 2 || len(strings.Split(res.Ref, ",")) != 2 {
		t.Fatalf("created %+v, ref %q: want one fulfillment per location", created, res.Ref)
	}
	res, err = c.ConfirmShipment(context.Background(), ship)
	if err != nil || res.Status != connectors.ShipmentConfirmed || len(f.s.CreatedFulfillments()) != 2 {
		t.Fatalf("repeat = %+v, %v, %d fulfillments: want confirmed, nothing new", res, err, len(f.s.CreatedFulfillments()))
	}
}

// TestConfirmShipmentFailures: throttles, 429 and 5xx are retries with
// Shopify's wait; a refused token is an error.
func TestConfirmShipmentFailures(t *testing.T) {
	oneAttempt := func(ch *config.Channel) { ch.MaxRetries = 0 }
	tests := []struct {
		name   string
		setup  func(s *shopifytest.Server)
		mod    func(*config.Channel)
		status connectors.ShipmentStatus
		after  time.Duration // RetryAfter; -1: any positive
		err    string
		// throttled: the shipment's attempts are not used up
		throttled bool
	}{
		{name: "THROTTLED past every retry", setup: func(s *shopifytest.Server) { s.Throttle(maxThrottleRetries + 1) },
			status: connectors.ShipmentRetry, after: -1, throttled: true},
		{name: "429 with Retry-After", setup: func(s *shopifytest.Server) { s.FailNext(1, 429, "7") }, mod: oneAttempt,
			status: connectors.ShipmentRetry, after: 7 * time.Second, throttled: true},
		{name: "503", setup: func(s *shopifytest.Server) { s.FailNext(1, 503, "") }, mod: oneAttempt,
			status: connectors.ShipmentRetry},
		{name: "401", mod: func(ch *config.Channel) { ch.Credentials.AccessToken = config.NewSecret("shpat_wrong") },
			err: "HTTP 401"},
		{name: "403", setup: func(s *shopifytest.Server) { s.FailNext(1, 403, "") }, mod: oneAttempt,
			err: "HTTP 403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newShipFixture(t, nil)
			c := newTestConnector(t, f.s, tt.mod)
			if tt.setup != nil {
				tt.setup(f.s)
			}
			res, err := c.ConfirmShipment(context.Background(), f.shipment("1ZFAIL", line(f.lineA, 1)))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "shpat_") {
					t.Fatalf("ConfirmShipment = %+v, %v; want an error with %q and no token", res, err, tt.err)
				}
				return
			}
			if err != nil || res.Status != tt.status || res.Throttled != tt.throttled {
				t.Fatalf("ConfirmShipment = %+v, %v; want %s (throttled %v)", res, err, tt.status, tt.throttled)
			}
			if (tt.after == -1 && res.RetryAfter <= 0) || (tt.after >= 0 && res.RetryAfter != tt.after) {
				t.Errorf("RetryAfter = %v, want %v", res.RetryAfter, tt.after)
			}
			if n := len(f.s.CreatedFulfillments()); n != 0 {
				t.Errorf("%d fulfillments created", n)
			}
		})
	}
}

// TestConfirmShipmentNotifyCustomer: shopify.notify_customer reaches
// fulfillmentCreate's notifyCustomer; the carrier falls back to the
// built-in table when the shipment carries no channel code.
func TestConfirmShipmentNotifyCustomer(t *testing.T) {
	off := false
	f := newShipFixture(t, nil)
	c := newTestConnector(t, f.s, func(ch *config.Channel) { settingsOf(ch).NotifyCustomer = &off })
	ship := f.shipment("00340434", line(f.lineB, 1))
	ship.Carrier, ship.CarrierCode, ship.TrackingURL = "dhl", "", "https://www.dhl.com/track?n=00340434"
	if res, err := c.ConfirmShipment(context.Background(), ship); err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("ConfirmShipment = %+v, %v", res, err)
	}
	got := f.s.CreatedFulfillments()[0].Fulfillment
	if got.NotifyCustomer || got.Tracking.Company != "DHL Express" || got.Tracking.URL != ship.TrackingURL {
		t.Fatalf("fulfillment %+v: want no notification, company DHL Express, the URL", got)
	}
}

func TestCarriers(t *testing.T) {
	c := newTestConnector(t, newFake(t, shopifytest.Options{}), nil)
	got := c.Carriers()
	for canon, want := range map[string]string{"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL Express", "royal_mail": "Royal Mail"} {
		if got[canon] != want {
			t.Errorf("Carriers()[%q] = %q, want %q", canon, got[canon], want)
		}
	}
	for k, v := range got {
		if k != strings.ToLower(k) || strings.TrimSpace(v) == "" {
			t.Errorf("carrier %q → %q: want a lower-case key and a name", k, v)
		}
	}
	got["ups"] = "changed"
	if c.Carriers()["ups"] != "UPS" {
		t.Error("Carriers returns the table itself, not a copy")
	}
}

// TestConfirmShipmentRace: between the connector's read and its
// fulfillmentCreate, the same units are fulfilled under the same tracking
// (an earlier attempt still in flight): Shopify refuses the quantity, the
// read after it finds the units, and the shipment is confirmed once. Under
// another tracking number the refusal stands.
func TestConfirmShipmentRace(t *testing.T) {
	for _, tc := range []struct {
		name, other string
		status      connectors.ShipmentStatus
	}{
		{name: "same tracking", other: "1ZRACE", status: connectors.ShipmentConfirmed},
		{name: "other tracking", other: "1ZOTHER", status: connectors.ShipmentRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newShipFixture(t, nil)
			c := newTestConnector(t, f.s, nil)
			f.s.BeforeNext("ShelfsyncFulfillmentCreate", func() {
				f.s.Fulfill(f.order, shopifytest.Tracking{Company: "UPS", Number: tc.other}, map[int64]int64{f.lineB: 2})
			})
			res, err := c.ConfirmShipment(context.Background(), f.shipment("1ZRACE", line(f.lineB, 2)))
			if err != nil || res.Status != tc.status {
				t.Fatalf("ConfirmShipment = %+v, %v; want %s", res, err, tc.status)
			}
			if n := len(f.s.CreatedFulfillments()); n != 1 {
				t.Fatalf("%d fulfillments, want only the other client's", n)
			}
		})
	}
}

// TestConfirmShipmentReadSizes: an order of one line is read once, with
// the small pages (ShelfsyncShipOrder); an order whose line sits beyond
// them (the 12th line of a fulfillment order, after 5 fulfillments) is
// read again with the full sizes and confirmed.
func TestConfirmShipmentReadSizes(t *testing.T) {
	f := newShipFixture(t, nil)
	c := newTestConnector(t, f.s, nil)
	if res, err := c.ConfirmShipment(context.Background(), f.shipment("1ZSMALL", line(f.lineA, 1))); err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("ConfirmShipment = %+v, %v", res, err)
	}
	if calls := f.s.Calls(); calls["ShelfsyncShipOrder"] != 1 || calls["ShelfsyncFulfillmentOrders"] != 0 {
		t.Fatalf("calls %v: want one small read, no full one", calls)
	}

	big := newShipFixture(t, func(o *shopifytest.Order) {
		o.Lines = nil
		for i := range 12 {
			o.Lines = append(o.Lines, shopifytest.OrderLine{ID: int64(100 + i), SKU: "S" + strconv.Itoa(i), Quantity: 2})
		}
		for i := range 5 { // five earlier shipments of one unit of the first lines
			o.Fulfillments = append(o.Fulfillments, shopifytest.Fulfillment{Status: "SUCCESS", Lines: map[int64]int64{int64(100 + i): 1}})
		}
	})
	c = newTestConnector(t, big.s, nil)
	res, err := c.ConfirmShipment(context.Background(), big.shipment("1ZBIG", line(111, 2)))
	if err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("ConfirmShipment of the 12th line = %+v, %v", res, err)
	}
	if calls := big.s.Calls(); calls["ShelfsyncShipOrder"] != 1 || calls["ShelfsyncFulfillmentOrders"] != 1 {
		t.Fatalf("calls %v: want the small read, then the full one", calls)
	}
	if created := big.s.CreatedFulfillments(); len(created) != 1 || created[0].Fulfillment.Lines[111] != 2 {
		t.Fatalf("created %+v: want 2 units of line 111", created)
	}
}
