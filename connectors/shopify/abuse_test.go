package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// The tests of "bad input and abuse": a delivery signed with the secret
// whose body the ledger would refuse is a 400 with nothing returned, not
// a 200 whose events are dropped (or stored oddly) later.

// abuseNow is the connector's clock in these tests.
var abuseNow = time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)

// orderBody is a REST order (an orders/* webhook body) with one line;
// the arguments are spliced in as raw JSON.
func orderBody(updatedAt, sku, quantity, extraLine, extraOrder string) []byte {
	return fmt.Appendf(nil, `{"id":450789469,"name":"#1001","updated_at":%s,"financial_status":"paid",`+
		`"line_items":[{"id":466157049,"sku":%s,"quantity":%s%s}]%s}`, updatedAt, sku, quantity, extraLine, extraOrder)
}

func okOrder(mod func(updatedAt, sku, quantity, extraLine, extraOrder *string)) []byte {
	u, s, q, el, eo := `"2026-04-02T08:59:00Z"`, `"IPOD2008GREEN"`, `1`, ``, ``
	if mod != nil {
		mod(&u, &s, &q, &el, &eo)
	}
	return orderBody(u, s, q, el, eo)
}

func TestParseWebhookHostileBodies(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	c.deps.Now = func() time.Time { return abuseNow }
	sku := func(v string) []byte {
		return okOrder(func(_, s, _, _, _ *string) { *s = v })
	}
	qty := func(v string) []byte {
		return okOrder(func(_, _, q, _, _ *string) { *q = v })
	}
	line := func(v string) []byte {
		return okOrder(func(_, _, _, el, _ *string) { *el = v })
	}
	order := func(v string) []byte {
		return okOrder(func(_, _, _, _, eo *string) { *eo = v })
	}
	updated := func(v string) []byte {
		return okOrder(func(u, _, _, _, _ *string) { *u = v })
	}
	refund := func(qty, sku string) []byte {
		return fmt.Appendf(nil, `{"id":509562969,"order_id":450789469,"created_at":"2026-04-02T08:59:00Z","restock":true,`+
			`"refund_line_items":[{"line_item_id":466157049,"quantity":%s,"restock_type":"return","line_item":{"id":466157049,"sku":%s}}]}`, qty, sku)
	}
	level := func(available string) []byte {
		return fmt.Appendf(nil, `{"inventory_item_id":808950810,"location_id":905684977,"available":%s,"updated_at":"2026-04-02T08:59:00Z"}`, available)
	}
	tests := []struct {
		name   string
		topic  string
		body   []byte
		status int    // 0: accepted
		reason string // the WebhookError's reason, when status is set
	}{
		// Control characters and the ledger's field separator.
		{name: "sku with NUL", body: sku(`"IPOD\u0000GREEN"`), status: 400, reason: "invalid_identifier"},
		{name: "sku with the field separator 0x1f", body: sku(`"IPOD\u001fGREEN"`), status: 400, reason: "invalid_identifier"},
		{name: "sku with an inner newline", body: sku(`"IPOD\nGREEN"`), status: 400, reason: "invalid_identifier"},
		{name: "sku with DEL", body: sku(`"IPOD\u007fGREEN"`), status: 400, reason: "invalid_identifier"},
		{name: "sku with a C1 control", body: sku(`"IPOD\u0085GREEN"`), status: 400, reason: "invalid_identifier"},
		{name: "sku ..", body: sku(`".."`), status: 400, reason: "invalid_identifier"},
		{name: "sku with trailing whitespace is trimmed", body: sku(`"IPOD2008GREEN\n "`)},
		{name: "order id with a control character", body: []byte(`{"id":"4507\u000189469","updated_at":"2026-04-02T08:59:00Z","line_items":[]}`), status: 400},
		{name: "line id with a control character", body: bytesReplace(okOrder(nil), `"id":466157049`, `"id":"4661\u001f57049"`), status: 400},
		// Quantities past what the ledger takes.
		{name: "quantity 10^12 is the largest taken", body: qty(`1000000000000`)},
		{name: "quantity 10^12+1", body: qty(`1000000000001`), status: 400, reason: "invalid_quantity"},
		{name: "quantity past int64", body: qty(`9223372036854775808`), status: 400},
		{name: "quantity 1e20", body: qty(`1e20`), status: 400},
		{name: "negative quantity", body: qty(`-1`), status: 400, reason: "invalid_quantity"},
		{name: "negative current_quantity", body: line(`,"current_quantity":-1`), status: 400, reason: "invalid_quantity"},
		{name: "huge current_quantity", body: line(`,"current_quantity":10000000000000`), status: 400, reason: "invalid_quantity"},
		{name: "negative fulfillable_quantity", body: line(`,"fulfillment_status":"partial","fulfillable_quantity":-5`), status: 400, reason: "invalid_quantity"},
		{name: "negative fulfilled units", body: order(`,"fulfillments":[{"status":"success","line_items":[{"id":466157049,"quantity":-1}]}]`), status: 400, reason: "invalid_quantity"},
		{name: "huge fulfilled units", body: order(`,"fulfillments":[{"status":"success","line_items":[{"id":466157049,"quantity":2000000000000}]}]`), status: 400, reason: "invalid_quantity"},
		{name: "negative refunded units", body: order(`,"refunds":[{"id":1,"refund_line_items":[{"line_item_id":466157049,"quantity":-4,"restock_type":"cancel"}]}]`), status: 400, reason: "invalid_quantity"},
		// Versions.
		{name: "updated_at in year 9999", body: updated(`"9999-12-31T23:59:59Z"`), status: 400, reason: "invalid_version"},
		{name: "updated_at ten minutes ahead", body: updated(`"2026-04-02T09:10:00Z"`), status: 400, reason: "invalid_version"},
		{name: "updated_at four minutes ahead is within the skew", body: updated(`"2026-04-02T09:04:00Z"`)},
		{name: "updated_at before 1970", body: updated(`"1960-01-01T00:00:00Z"`), status: 400, reason: "invalid_version"},
		{name: "no updated_at", body: updated(`null`), status: 400},
		// Wrong types, broken JSON.
		{name: "quantity a string", body: qty(`"1"`), status: 400},
		{name: "quantity a fraction", body: qty(`1.5`), status: 400},
		{name: "sku a number", body: sku(`5`), status: 400},
		{name: "updated_at a number", body: updated(`12345`), status: 400},
		{name: "line_items an object", body: []byte(`{"id":1,"updated_at":"2026-04-02T08:59:00Z","line_items":{"id":2}}`), status: 400},
		{name: "id not a number", body: []byte(`{"id":"abc","updated_at":"2026-04-02T08:59:00Z","line_items":[]}`), status: 400},
		{name: "truncated JSON", body: okOrder(nil)[:60], status: 400},
		{name: "empty body", body: []byte(``), status: 400},
		{name: "JSON null", body: []byte(`null`), status: 400},
		{name: "JSON array", body: []byte(`[]`), status: 400},
		// Refunds and inventory levels.
		{name: "refund", topic: "refunds/create", body: refund(`1`, `"IPOD2008GREEN"`)},
		{name: "refund of negative units", topic: "refunds/create", body: refund(`-1`, `"IPOD2008GREEN"`), status: 400, reason: "invalid_quantity"},
		{name: "refund of 10^12+1 units", topic: "refunds/create", body: refund(`1000000000001`, `"IPOD2008GREEN"`), status: 400, reason: "invalid_quantity"},
		{name: "refund of a sku with 0x1f", topic: "refunds/create", body: refund(`1`, `"IPOD\u001f"`), status: 400, reason: "invalid_identifier"},
		{name: "inventory level below zero (oversold) is taken", topic: "inventory_levels/update", body: level(`-5`)},
		{name: "inventory level above 10^12", topic: "inventory_levels/update", body: level(`1000000000001`), status: 400, reason: "invalid_quantity"},
		{name: "inventory level below -10^12", topic: "inventory_levels/update", body: level(`-1000000000001`), status: 400, reason: "invalid_quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := tt.topic
			if topic == "" {
				topic = "orders/updated"
			}
			ev, err := c.ParseWebhook(context.Background(), signed(t, s, topic, tt.body, "evt-1"))
			if tt.status == 0 {
				if err != nil || len(ev) == 0 {
					t.Fatalf("ParseWebhook = %+v, %v; want events", ev, err)
				}
				return
			}
			var we *connectors.WebhookError
			if !errors.As(err, &we) || we.Status != tt.status || (tt.reason != "" && we.Reason != tt.reason) {
				t.Fatalf("ParseWebhook error = %v; want %d %s", err, tt.status, tt.reason)
			}
			if len(ev) != 0 {
				t.Fatalf("events %+v returned with a refusal", ev)
			}
		})
	}
}

func bytesReplace(b []byte, old, new string) []byte {
	return []byte(strings.Replace(string(b), old, new, 1))
}

// hostileStoreOrders are orders of the fake store the ledger would refuse.
func hostileStoreOrders() []shopifytest.Order {
	return []shopifytest.Order{
		{ID: 901, UpdatedAt: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Lines: []shopifytest.OrderLine{{ID: 9011, SKU: "A", Quantity: 1}}},
		{ID: 902, UpdatedAt: abuseNow.Add(-time.Minute), Lines: []shopifytest.OrderLine{{ID: 9021, SKU: "A\x1fB", Quantity: 1}}},
		{ID: 903, UpdatedAt: abuseNow.Add(-time.Minute), Lines: []shopifytest.OrderLine{{ID: 9031, SKU: "A", Quantity: -2}}},
		{ID: 904, UpdatedAt: abuseNow.Add(-time.Minute), Lines: []shopifytest.OrderLine{{ID: 9041, SKU: "A", Quantity: 1_000_000_000_001}}},
		{ID: 905, UpdatedAt: abuseNow.Add(time.Hour), Lines: []shopifytest.OrderLine{{ID: 9051, SKU: "A", Quantity: 1}}},
	}
}

// TestPollOrdersSkipsRefused: a poll hands on the orders it can and skips
// (counts, logs) those the ledger would refuse, instead of handing them on
// (a year-9999 version blocked the order for good, a negative quantity
// was stored as 0) or failing every poll from then on; a skipped order's
// version never becomes the cursor.
func TestPollOrdersSkipsRefused(t *testing.T) {
	s := newFake(t, shopifytest.Options{MaxPageSize: 2})
	c := newTestConnector(t, s, nil)
	c.deps.Now = func() time.Time { return abuseNow }
	for _, o := range hostileStoreOrders() {
		s.AddOrder(o)
	}
	s.AddOrder(shopifytest.Order{ID: 1, UpdatedAt: abuseNow.Add(-2 * time.Minute), Lines: []shopifytest.OrderLine{{ID: 11, SKU: "A", Quantity: 2}}})
	s.AddOrder(shopifytest.Order{ID: 2, UpdatedAt: abuseNow.Add(3 * time.Minute), Lines: []shopifytest.OrderLine{{ID: 21, SKU: "B", Quantity: 1}}})
	var got []string
	through, err := c.PollOrders(context.Background(), abuseNow.Add(-time.Hour), func(_ context.Context, orders []connectors.Order) error {
		for _, o := range orders {
			got = append(got, o.OrderID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("PollOrders: %v", err)
	}
	if fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("emitted %v; want [1 2] (order 2 is within the clock skew)", got)
	}
	if !through.Equal(abuseNow) {
		t.Fatalf("through = %v; want the clock %v", through, abuseNow)
	}
	var refused float64
	for _, reason := range []string{"quantity", "identifier", "version"} {
		refused += testutil.ToFloat64(c.metrics.refusedOrders.WithLabelValues("poll", reason))
	}
	if refused != 5 {
		t.Fatalf("refused orders counted %v; want 5", refused)
	}
}

// TestPollOrdersRefusedNeverCursor: when a poll stops at Shopify's
// pagination limit, through is the newest order handed on, never a
// skipped order's version from the future.
func TestPollOrdersRefusedNeverCursor(t *testing.T) {
	s := newFake(t, shopifytest.Options{MaxPageSize: 1})
	c := newTestConnector(t, s, nil)
	c.pageSize, c.maxPaginated = 1, 2
	c.deps.Now = func() time.Time { return abuseNow }
	s.AddOrder(shopifytest.Order{ID: 1, UpdatedAt: abuseNow.Add(-2 * time.Minute), Lines: []shopifytest.OrderLine{{ID: 11, SKU: "A", Quantity: 1}}})
	s.AddOrder(shopifytest.Order{ID: 2, UpdatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), Lines: []shopifytest.OrderLine{{ID: 21, SKU: "A", Quantity: 1}}})
	s.AddOrder(shopifytest.Order{ID: 3, UpdatedAt: time.Date(9999, 1, 2, 0, 0, 0, 0, time.UTC), Lines: []shopifytest.OrderLine{{ID: 31, SKU: "A", Quantity: 1}}})
	through, err := c.PollOrders(context.Background(), abuseNow.Add(-time.Hour), func(context.Context, []connectors.Order) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if through.After(abuseNow) {
		t.Fatalf("through = %v: a skipped order's version became the cursor", through)
	}
}

// TestFetchOrderRefused: an order the ledger would refuse is an error
// (the fetch queue retries it, then dead-letters it), never "not found"
// and never an order.
func TestFetchOrderRefused(t *testing.T) {
	s := newFake(t, shopifytest.Options{})
	c := newTestConnector(t, s, nil)
	c.deps.Now = func() time.Time { return abuseNow }
	for _, o := range hostileStoreOrders() {
		t.Run(fmt.Sprint(o.ID), func(t *testing.T) {
			s.AddOrder(o)
			got, err := c.FetchOrder(context.Background(), fmt.Sprint(o.ID))
			if err == nil || got != nil || errors.Is(err, connectors.ErrNotFound) {
				t.Fatalf("FetchOrder = %+v, %v; want an error", got, err)
			}
		})
	}
}
