package amazon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
)

// shipOrder is an unshipped MFN order of two items on the fake.
func shipOrder(srv *amazontest.Server, clk *clock, id string) {
	srv.AddOrder(amazontest.Order{
		AmazonOrderID: id, Status: "Unshipped", LastUpdate: clk.Now().Add(-time.Hour),
		Items: []amazontest.Item{
			{OrderItemID: id + "-1", SellerSKU: "SKU-A", Ordered: 3},
			{OrderItemID: id + "-2", SellerSKU: "SKU-B", Ordered: 1},
		},
	})
}

// testShipment ships qty of the order's first item with UPS.
func testShipment(id, orderID string, qty int64) connectors.Shipment {
	return connectors.Shipment{
		ID: id, Channel: "amazon-us", OrderID: orderID,
		Lines:   []connectors.ShipmentLine{{LineID: orderID + "-1", SKU: "SKU-A", Quantity: qty}},
		Carrier: "ups", CarrierCode: "UPS", TrackingNumber: "1Z999AA10123456784",
		ShippedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
	}
}

// TestCarriers: the built-in table maps canonical names to codes the fake
// (Amazon's CarrierCode list) takes, and hands out a copy.
func TestCarriers(t *testing.T) {
	c := newTestConnector(t, newFake(t, newClock(), nil), newClock(), nil)
	table := c.Carriers()
	for _, name := range []string{"ups", "usps", "fedex", "dhl"} {
		if table[name] == "" {
			t.Errorf("no code for %s", name)
		}
	}
	known := amazontest.CarrierCodes()
	for name, code := range table {
		if name != strings.ToLower(name) || strings.ContainsAny(name, " -") {
			t.Errorf("canonical name %q is not lower case snake", name)
		}
		if !slices.Contains(known, code) {
			t.Errorf("%s → %q is not a carrier code Amazon lists", name, code)
		}
	}
	table["ups"] = "changed"
	if c.Carriers()["ups"] != "UPS" {
		t.Error("Carriers hands out its own table")
	}
}

// TestPackageReferenceID: a positive number of at most 31 bits, the same
// for the same shipment id, different for different ones.
func TestPackageReferenceID(t *testing.T) {
	seen := map[string]string{}
	for i := range 2000 {
		id := fmt.Sprintf("shipment-%d", i)
		ref := PackageReferenceID(id)
		n, err := strconv.ParseUint(ref, 10, 64)
		if err != nil || n < 1 || n > 1<<31-1 || strconv.FormatUint(n, 10) != ref {
			t.Fatalf("%s → %q: not a positive 31-bit number", id, ref)
		}
		if ref != PackageReferenceID(id) {
			t.Fatalf("%s: not stable", id)
		}
		if other, dup := seen[ref]; dup {
			t.Fatalf("%s and %s share reference %s", id, other, ref)
		}
		seen[ref] = id
	}
}

// TestConfirmShipment: outcomes against the fake, which checks what
// Amazon documents for confirmShipment.
func TestConfirmShipment(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*connectors.Shipment)
		want   connectors.ShipmentStatus
		reason string // in the refusal
		calls  int    // confirmShipment calls made
	}{
		{name: "one package", want: connectors.ShipmentConfirmed, calls: 1},
		{name: "whole order", edit: func(s *connectors.Shipment) {
			s.Lines = []connectors.ShipmentLine{{LineID: "O-1", Quantity: 3}, {LineID: "O-2", Quantity: 1}}
		}, want: connectors.ShipmentConfirmed, calls: 1},
		{name: "lines of one item add up", edit: func(s *connectors.Shipment) {
			s.Lines = []connectors.ShipmentLine{{LineID: "O-1", Quantity: 1}, {LineID: "O-1", Quantity: 2}}
		}, want: connectors.ShipmentConfirmed, calls: 1},
		{name: "carrier Amazon does not list goes as Other", edit: func(s *connectors.Shipment) {
			s.Carrier, s.CarrierCode = "acme-express", ""
		}, want: connectors.ShipmentConfirmed, calls: 1},
		{name: "carrier code Amazon does not take", edit: func(s *connectors.Shipment) { s.CarrierCode = "Pigeon Post" },
			want: connectors.ShipmentRefused, reason: "carrierCode", calls: 1},
		{name: "item not of the order", edit: func(s *connectors.Shipment) { s.Lines[0].LineID = "X-9" },
			want: connectors.ShipmentRefused, reason: "not an item of order", calls: 1},
		{name: "more than unshipped", edit: func(s *connectors.Shipment) { s.Lines[0].Quantity = 4 },
			want: connectors.ShipmentRefused, reason: "exceeds its unshipped quantity 3", calls: 1},
		{name: "unknown order", edit: func(s *connectors.Shipment) { s.OrderID = "111-0000000-0000000" },
			want: connectors.ShipmentRefused, reason: "HTTP 404 NotFound", calls: 1},
		{name: "no tracking number", edit: func(s *connectors.Shipment) { s.TrackingNumber = " " },
			want: connectors.ShipmentRefused, reason: "trackingNumber", calls: 0},
		{name: "no lines", edit: func(s *connectors.Shipment) { s.Lines = nil },
			want: connectors.ShipmentRefused, reason: "orderItems", calls: 0},
		{name: "no carrier at all", edit: func(s *connectors.Shipment) { s.Carrier, s.CarrierCode = "", "" },
			want: connectors.ShipmentRefused, reason: "carrier", calls: 0},
		{name: "zero quantity", edit: func(s *connectors.Shipment) { s.Lines[0].Quantity = 0 },
			want: connectors.ShipmentRefused, reason: "positive quantity", calls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			c := newTestConnector(t, srv, clk, nil)
			shipOrder(srv, clk, "O")
			s := testShipment("ship-1", "O", 2)
			if tc.edit != nil {
				tc.edit(&s)
			}
			res, err := c.ConfirmShipment(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("got %+v, want %s with %q", res, tc.want, tc.reason)
			}
			if n := srv.Calls("confirmShipment"); n != tc.calls {
				t.Errorf("%d confirmShipment calls, want %d", n, tc.calls)
			}
			pkgs := srv.Packages(s.OrderID)
			if tc.want != connectors.ShipmentConfirmed {
				if len(pkgs) != 0 {
					t.Errorf("a refused shipment left packages: %+v", pkgs)
				}
				return
			}
			p, ok := pkgs[res.Ref]
			if !ok || res.Ref != PackageReferenceID(s.ID) || len(pkgs) != 1 {
				t.Fatalf("ref %q, packages %+v", res.Ref, pkgs)
			}
			checkPackage(t, p, s)
		})
	}
}

// checkPackage compares the fake's package with the shipment sent.
func checkPackage(t *testing.T, p amazontest.Package, s connectors.Shipment) {
	t.Helper()
	want := map[string]int64{}
	for _, l := range s.Lines {
		want[l.LineID] += l.Quantity
	}
	if fmt.Sprint(p.Items) != fmt.Sprint(want) || p.TrackingNumber != s.TrackingNumber || !p.ShipDate.Equal(s.ShippedAt) {
		t.Errorf("package %+v, shipment %+v", p, s)
	}
	switch {
	case s.CarrierCode == "" && (p.CarrierCode != "Other" || p.CarrierName != s.Carrier):
		t.Errorf("carrier %q/%q, want Other/%s", p.CarrierCode, p.CarrierName, s.Carrier)
	case s.CarrierCode != "" && (p.CarrierCode != s.CarrierCode || p.CarrierName != ""):
		t.Errorf("carrier %q/%q, want %s", p.CarrierCode, p.CarrierName, s.CarrierCode)
	}
}

// TestConfirmShipmentRepeat: the same shipment sent again (a retry after
// a lost answer) edits its package: still one package, the units shipped
// once. Another shipment of the same order is a second package, and the
// order ships whole.
func TestConfirmShipmentRepeat(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	shipOrder(srv, clk, "O")
	first := testShipment("ship-1", "O", 3)
	for range 3 {
		res, err := c.ConfirmShipment(context.Background(), first)
		if err != nil || res.Status != connectors.ShipmentConfirmed {
			t.Fatalf("%+v %v", res, err)
		}
	}
	pkgs := srv.Packages("O")
	if len(pkgs) != 1 || pkgs[PackageReferenceID("ship-1")].Confirmations != 3 {
		t.Fatalf("packages after three sends: %+v", pkgs)
	}
	o, _ := srv.Order("O")
	if o.Items[0].Shipped != 3 || o.Status != "PartiallyShipped" {
		t.Fatalf("order after three sends: %+v", o)
	}
	second := testShipment("ship-2", "O", 1)
	second.Lines[0].LineID = "O-2"
	if res, err := c.ConfirmShipment(context.Background(), second); err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("%+v %v", res, err)
	}
	if o, _ := srv.Order("O"); o.Status != "Shipped" || len(srv.Packages("O")) != 2 {
		t.Fatalf("order %+v, packages %+v", o, srv.Packages("O"))
	}
}

// TestConfirmShipmentShowsAfterTwoMinutes: a confirmation changes the
// order on Amazon, and the poller sees it once Amazon shows it (two
// minutes later), as shipped.
func TestConfirmShipmentShowsAfterTwoMinutes(t *testing.T) {
	for _, api := range ordersAPIs {
		t.Run(api, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, nil)
			c := newTestConnector(t, srv, clk, withOrdersAPI(api))
			shipOrder(srv, clk, "O")
			s := testShipment("ship-1", "O", 3)
			s.Lines = append(s.Lines, connectors.ShipmentLine{LineID: "O-2", Quantity: 1})
			if res, err := c.ConfirmShipment(context.Background(), s); err != nil || res.Status != connectors.ShipmentConfirmed {
				t.Fatalf("%+v %v", res, err)
			}
			since := clk.Now().Add(-time.Minute)
			if got := pollAll(t, c, since); len(got) != 0 {
				t.Fatalf("the change showed at once: %+v", got)
			}
			clk.Advance(3 * time.Minute)
			got := pollAll(t, c, since)
			if len(got) != 1 || got[0].Status != connectors.StatusShipped || got[0].Lines[0].Shipped != 3 {
				t.Fatalf("after two minutes: %+v", got)
			}
		})
	}
}

// pollAll is every order PollOrders emits from since.
func pollAll(t *testing.T, c *Connector, since time.Time) []connectors.Order {
	t.Helper()
	var out []connectors.Order
	_, err := c.PollOrders(context.Background(), since, func(_ context.Context, os []connectors.Order) error {
		out = append(out, os...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConfirmShipmentTransient: 429 and 5xx (after the client's own
// retries) come back as retry, with the wait Amazon names or one token of
// its announced rate; a revoked token is refreshed and the call made again.
func TestConfirmShipmentTransient(t *testing.T) {
	tests := []struct {
		name      string
		inject    func(*amazontest.Server)
		want      connectors.ShipmentStatus
		wait      time.Duration
		refreshes int
		throttled bool // a 429: the shipment's attempts are not used up
	}{
		{name: "429 with Retry-After", inject: func(s *amazontest.Server) { s.Throttle("confirmShipment", 5, "7") },
			want: connectors.ShipmentRetry, wait: 7 * time.Second, refreshes: 1, throttled: true},
		{name: "429, rate announced", inject: func(s *amazontest.Server) { s.Throttle("confirmShipment", 5, "") },
			want: connectors.ShipmentRetry, wait: time.Second / 4, refreshes: 1, throttled: true},
		{name: "500", inject: func(s *amazontest.Server) { s.FailNext("confirmShipment", 5, http.StatusInternalServerError) },
			want: connectors.ShipmentRetry, refreshes: 1},
		{name: "503", inject: func(s *amazontest.Server) { s.FailNext("confirmShipment", 5, http.StatusServiceUnavailable) },
			want: connectors.ShipmentRetry, refreshes: 1},
		{name: "token revoked", inject: func(s *amazontest.Server) { s.RevokeTokens() },
			want: connectors.ShipmentConfirmed, refreshes: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, func(o *amazontest.Options) { o.RateLimits = map[string]float64{"confirmShipment": 4} })
			c := newTestConnector(t, srv, clk, func(ch *config.Channel) { ch.MaxRetries = 0 })
			shipOrder(srv, clk, "O")
			if _, err := c.tokens.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			tc.inject(srv)
			res, err := c.ConfirmShipment(context.Background(), testShipment("ship-1", "O", 1))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want || res.RetryAfter != tc.wait || res.Throttled != tc.throttled {
				t.Fatalf("got %+v, want %s after %s (throttled %v)", res, tc.want, tc.wait, tc.throttled)
			}
			if tc.want == connectors.ShipmentRetry && (res.Reason == "" || len(srv.Packages("O")) != 0) {
				t.Errorf("retry without a reason, or with a package: %+v", res)
			}
			if n := srv.TokenRefreshes(); n != tc.refreshes {
				t.Errorf("%d tokens issued, want %d", n, tc.refreshes)
			}
		})
	}
}

// TestConfirmShipmentMarketplace: a channel selling in several
// marketplaces names the order's own (read with getOrder); one selling in
// one names it without a call.
func TestConfirmShipmentMarketplace(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	const de = "A1PA6795UKMFR9"
	c := newTestConnector(t, srv, clk, func(ch *config.Channel) {
		settingsOf(ch).MarketplaceIDs = []string{amazontest.DefaultMarketplace, de}
	})
	srv.AddOrder(amazontest.Order{AmazonOrderID: "D", Status: "Unshipped", MarketplaceID: de, LastUpdate: clk.Now(),
		Items: []amazontest.Item{{OrderItemID: "D-1", SellerSKU: "SKU-A", Ordered: 1}}})
	s := testShipment("ship-d", "D", 1)
	s.Lines[0].LineID = "D-1"
	if res, err := c.ConfirmShipment(context.Background(), s); err != nil || res.Status != connectors.ShipmentConfirmed {
		t.Fatalf("%+v %v", res, err)
	}
	if srv.Calls("getOrder") != 1 {
		t.Errorf("getOrder calls: %d", srv.Calls("getOrder"))
	}
	s.OrderID = "404-0000000-0000000"
	if res, err := c.ConfirmShipment(context.Background(), s); err != nil || res.Status != connectors.ShipmentRefused {
		t.Fatalf("unknown order: %+v %v", res, err)
	}
}

// TestConfirmShipmentAtPublishedLimit: against the fake at Amazon's
// published plan (2 a second, burst 10) and with the connector's own
// published limiter, 16 confirmations are paced, not refused.
func TestConfirmShipmentAtPublishedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on Amazon's pacing")
	}
	clk := newClock()
	srv := newFake(t, clk, func(o *amazontest.Options) { o.RateLimits = nil })
	deps := connectors.TestDeps(testChannel(srv))
	deps.Now = clk.Now
	c, err := newConnector(deps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		id := fmt.Sprintf("O%02d", i)
		shipOrder(srv, clk, id)
		res, err := c.ConfirmShipment(context.Background(), testShipment("ship-"+id, id, 1))
		if err != nil || res.Status != connectors.ShipmentConfirmed {
			t.Fatalf("%s: %+v %v", id, res, err)
		}
	}
	if n := srv.Throttled("confirmShipment"); n != 0 {
		t.Errorf("%d confirmations refused with 429", n)
	}
}

// TestConfirmShipmentFixtures: Amazon's sandbox requests of
// confirmShipment (ordersV0.json) against the fake: the 204 one is taken,
// the 400 one (shipDate "02/21/2022") refused; the sandbox 400 answer
// reads as Amazon's error; and the connector's request of the same
// package has the sandbox request's shape.
func TestConfirmShipmentFixtures(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, nil)
	c := newTestConnector(t, srv, clk, nil)
	const order, item = "902-1106328-1059050", "79039765272157"
	srv.AddOrder(amazontest.Order{AmazonOrderID: order, Status: "Unshipped", LastUpdate: clk.Now(),
		Items: []amazontest.Item{{OrderItemID: item, SellerSKU: "SKU-A", Ordered: 1}}})
	tok, err := c.tokens.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]int{"request.sandbox_400.json": 400, "request.sandbox_204.json": 204} {
		if got := postRaw(t, srv.URL+"/orders/v0/orders/"+order+"/shipmentConfirmation", tok, readFixture(t, "confirmShipment/"+file)); got != want {
			t.Errorf("%s: HTTP %d, want %d", file, got, want)
		}
	}
	e := ParseErrorBody(readFixture(t, "confirmShipment/response.sandbox_400.json"))
	if e.Code != "Invalid Input" || apiReason(400, readFixture(t, "confirmShipment/response.sandbox_400.json")) != "HTTP 400 Invalid Input: Invalid Input" {
		t.Errorf("sandbox 400: %+v", e)
	}
	var sandbox map[string]any
	if err := json.Unmarshal(readFixture(t, "confirmShipment/request.sandbox_204.json"), &sandbox); err != nil {
		t.Fatal(err)
	}
	s := connectors.Shipment{ID: "x", OrderID: order, Carrier: "fedex", CarrierCode: "FedEx", TrackingNumber: "112345678",
		ShippedAt: time.Date(2022, 2, 11, 1, 0, 0, 0, time.UTC), Lines: []connectors.ShipmentLine{{LineID: item, Quantity: 1}}}
	body, reason := c.confirmBody(s)
	if reason != "" {
		t.Fatal(reason)
	}
	body.MarketplaceID = amazontest.DefaultMarketplace
	raw, _ := json.Marshal(body)
	var ours map[string]any
	_ = json.Unmarshal(raw, &ours)
	sameShape(t, "", sandbox, ours)
}

// sameShape checks that every key of ours is in the sandbox request with
// a value of the same JSON type (the sandbox sends optional fields ours
// leaves out).
func sameShape(t *testing.T, path string, sandbox, ours map[string]any) {
	t.Helper()
	for k, v := range ours {
		sv, ok := sandbox[k]
		if !ok {
			t.Errorf("%s%s: not in Amazon's request", path, k)
			continue
		}
		if fmt.Sprintf("%T", sv) != fmt.Sprintf("%T", v) {
			t.Errorf("%s%s: %T, Amazon's is %T", path, k, v, sv)
		}
		switch v := v.(type) {
		case map[string]any:
			sameShape(t, path+k+".", sv.(map[string]any), v)
		case []any:
			sameShape(t, path+k+"[0].", sv.([]any)[0].(map[string]any), v[0].(map[string]any))
		}
	}
}

// postRaw posts body to u with the access token and returns the status.
func postRaw(t *testing.T, u, token string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	req.Header.Set("x-amz-access-token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// FuzzParseErrorBody: any answer body reads without panicking, as at most
// one entry of single-line, valid UTF-8 fields of at most 500 bytes.
func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"errors":[{"code":"InvalidInput","message":"bad","details":"x"}]}`))
	f.Add([]byte(`{"errors":[]}`))
	f.Add([]byte(`{"errors":[{"code":"a\nb\u0000","message":"` + strings.Repeat("é", 400) + `"}]}`))
	f.Add([]byte("<html>"))
	for _, name := range []string{"confirmShipment/response.sandbox_400.json", "getOrder_v2026-01-01_response.sandbox_TEST_CASE_400.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := ParseErrorBody(body)
		for _, v := range []string{e.Code, e.Message, e.Details} {
			if len(v) > 500 || !utf8.ValidString(v) || strings.ContainsAny(v, "\n\r\t") {
				t.Fatalf("field %q", v)
			}
		}
		if r := apiReason(400, body); !strings.HasPrefix(r, "HTTP 400") {
			t.Fatalf("reason %q", r)
		}
	})
}
