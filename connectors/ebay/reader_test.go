package ebay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// listed are the SKUs listed in the reader tests' catalogue (SKU-000 to
// SKU-249), each with its number as quantity.
const listed = 250

func TestReadQuantities(t *testing.T) {
	long := strings.Repeat("L", maxSKULength+1)
	tests := []struct {
		name      string
		read      []string
		wantCalls int // bulk_get_inventory_item calls
	}{
		{name: "empty", read: nil, wantCalls: 0},
		{name: "one known", read: []string{"SKU-007"}, wantCalls: 1},
		{name: "known", read: []string{"SKU-003", "SKU-010", "SKU-000"}, wantCalls: 1},
		{name: "unknown", read: []string{"SKU-404", "NOPE"}, wantCalls: 1},
		{name: "mixed", read: []string{"SKU-003", "SKU-404", "SKU-010", "NOPE"}, wantCalls: 1},
		{name: "duplicates, empty and overlong SKUs are not asked", read: []string{"SKU-001", "", "SKU-001", long, "SKU-002"}, wantCalls: 1},
		{name: "only SKUs eBay can not have", read: []string{"", long}, wantCalls: 0},
		{name: "25 SKUs in one call", read: skuRange(0, 25), wantCalls: 1},
		{name: "26 SKUs in two calls", read: skuRange(0, 26), wantCalls: 2},
		{name: "60 SKUs, some unknown, in three calls", read: skuRange(220, 280), wantCalls: 3},
		{name: "the engine's chunk of 100", read: skuRange(0, 100), wantCalls: 4},
		{name: "1000 SKUs", read: skuRange(0, 1000), wantCalls: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			for i := range listed {
				e.fake.AddListing(fmt.Sprintf("SKU-%03d", i), int64(i), 1)
			}
			got, err := e.conn.ReadQuantities(context.Background(), tc.read)
			if err != nil {
				t.Fatal(err)
			}
			if want := expectedQuantities(tc.read); !sameQuantities(got, want) {
				t.Fatalf("ReadQuantities = %v; want %v", got, want)
			}
			if n := e.fake.Calls("bulk_get_inventory_item"); n != tc.wantCalls {
				t.Fatalf("%d bulk_get_inventory_item calls; want %d", n, tc.wantCalls)
			}
			if each, pages := e.fake.Calls("get_inventory_item"), e.fake.Calls("get_inventory_items"); each+pages != 0 {
				t.Fatalf("%d getInventoryItem and %d getInventoryItems calls; want none", each, pages)
			}
		})
	}
}

// expectedQuantities is what the catalogue lists of read: its listed
// SKUs, first occurrence only, in order.
func expectedQuantities(read []string) []connectors.LiveQuantity {
	want := []connectors.LiveQuantity{}
	seen := map[string]bool{}
	for _, sku := range read {
		var n int
		if _, err := fmt.Sscanf(sku, "SKU-%03d", &n); err != nil || n >= listed || seen[sku] || sku != fmt.Sprintf("SKU-%03d", n) {
			continue
		}
		seen[sku] = true
		want = append(want, connectors.LiveQuantity{SKU: sku, Quantity: int64(n)})
	}
	return want
}

// sameQuantities is reflect.DeepEqual, with nil and empty alike.
func sameQuantities(a, b []connectors.LiveQuantity) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// TestReadQuantitiesFollowsSales: what is read is the inventory item's
// quantity now, after a sale on eBay and after a push.
func TestReadQuantitiesFollowsSales(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddListing("A", 5, 2)
	e.fake.AddListing("B", 9, 1)
	e.fake.Sell("A", 2)
	if _, err := e.conn.PushQuantities(context.Background(), []connectors.QuantityUpdate{{SKU: "B", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.conn.ReadQuantities(context.Background(), []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []connectors.LiveQuantity{{SKU: "A", Quantity: 3}, {SKU: "B", Quantity: 4}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadQuantities = %v; want %v", got, want)
	}
}

// TestReadQuantitiesFailures: a SKU eBay refuses is left out, never
// reported with a guessed quantity; a transient failure of a SKU is asked
// again once; what still fails fails the call.
func TestReadQuantitiesFailures(t *testing.T) {
	serverError := ebaytest.ItemFailure{Status: 500, ErrorID: 25001, Message: "A system error has occurred."}
	tests := []struct {
		name      string
		setup     func(*testing.T, *env)
		want      []connectors.LiveQuantity
		wantCalls int
		wantErr   func(error) bool
	}{
		{
			name: "a SKU refused with 400 is left out",
			setup: func(t *testing.T, e *env) {
				e.fake.FailRead("B", ebaytest.ItemFailure{Status: 400, ErrorID: 25707, Message: "This is an invalid value for a SKU."}, 0)
			},
			want:      []connectors.LiveQuantity{{SKU: "A", Quantity: 1}, {SKU: "C", Quantity: 3}},
			wantCalls: 1,
		},
		{
			name:      "a SKU failing once with 500 is asked again",
			setup:     func(t *testing.T, e *env) { e.fake.FailRead("B", serverError, 1) },
			want:      []connectors.LiveQuantity{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}, {SKU: "C", Quantity: 3}},
			wantCalls: 2,
		},
		{
			name: "a SKU throttled once is asked again",
			setup: func(t *testing.T, e *env) {
				e.fake.FailRead("C", ebaytest.ItemFailure{Status: 429, ErrorID: 2001, Message: "Too many requests."}, 1)
			},
			want:      []connectors.LiveQuantity{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}, {SKU: "C", Quantity: 3}},
			wantCalls: 2,
		},
		{
			name:      "a SKU failing twice with 500 fails the call",
			setup:     func(t *testing.T, e *env) { e.fake.FailRead("B", serverError, 0) },
			wantCalls: 2,
			wantErr:   func(err error) bool { return strings.Contains(err.Error(), "SKU B") },
		},
		{
			name:      "throttled past the retries",
			setup:     func(t *testing.T, e *env) { e.fake.Throttle(100, "0") },
			wantCalls: 4, // MaxRetries 3
			wantErr: func(err error) bool {
				var ae *APIError
				return errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests
			},
		},
		{
			name: "a revoked token is replaced",
			setup: func(t *testing.T, e *env) {
				if _, err := e.conn.ReadQuantities(context.Background(), []string{"A"}); err != nil {
					t.Fatal(err)
				}
				e.fake.RevokeTokens()
			},
			want:      []connectors.LiveQuantity{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}, {SKU: "C", Quantity: 3}},
			wantCalls: 3, // the warm-up, the 401, the read
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			e.fake.AddListing("A", 1, 1)
			e.fake.AddListing("B", 2, 1)
			e.fake.AddListing("C", 3, 1)
			tc.setup(t, e)
			got, err := e.conn.ReadQuantities(context.Background(), []string{"A", "B", "C", "NOPE"})
			switch {
			case tc.wantErr != nil && (err == nil || !tc.wantErr(err)):
				t.Fatalf("ReadQuantities = %v, %v; want the error asked for", got, err)
			case tc.wantErr != nil && got != nil:
				t.Fatalf("results %v with the error %v", got, err)
			case tc.wantErr == nil && err != nil:
				t.Fatal(err)
			case !sameQuantities(got, tc.want):
				t.Fatalf("ReadQuantities = %v; want %v", got, tc.want)
			}
			if n := e.fake.Calls("bulk_get_inventory_item"); n != tc.wantCalls {
				t.Fatalf("%d bulk_get_inventory_item calls; want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestReadQuantitiesCancelled(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.fake.AddListing("A", 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := e.conn.ReadQuantities(ctx, skuRange(0, 100)); !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("ReadQuantities = %v, %v; want context.Canceled", got, err)
	}
}

// inflight counts the bulk reads on the wire at once.
type inflight struct {
	base     http.RoundTripper
	mu       sync.Mutex
	now, max int
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != bulkGetPath {
		return f.base.RoundTrip(r)
	}
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return f.base.RoundTrip(r)
}

// TestReadQuantitiesConcurrency: the calls of one read run a few at a
// time: more than one, never more than four (the limiter paces them all).
func TestReadQuantitiesConcurrency(t *testing.T) {
	e := newEnv(t, envConfig{fake: ebaytest.Options{Latency: 20 * time.Millisecond}})
	for i := range listed {
		e.fake.AddListing(fmt.Sprintf("SKU-%03d", i), int64(i), 1)
	}
	deps := connectors.TestDeps(e.deps.Channel)
	counter := &inflight{base: e.fake.Client().Transport}
	deps.HTTP = &http.Client{Transport: counter, Timeout: 10 * time.Second}
	c, err := NewWithOptions(deps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	read := skuRange(0, 200)
	got, err := c.ReadQuantities(context.Background(), read)
	if err != nil {
		t.Fatal(err)
	}
	if want := expectedQuantities(read); !sameQuantities(got, want) {
		t.Fatalf("ReadQuantities = %v; want %v", got, want)
	}
	if counter.max < 2 || counter.max > 4 {
		t.Fatalf("%d calls at once; want between 2 and 4", counter.max)
	}
}

func skuRange(from, to int, extra ...string) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprintf("SKU-%03d", i))
	}
	return append(s, extra...)
}

// TestParseBulkGet: how each kind of answer and entry is read.
func TestParseBulkGet(t *testing.T) {
	fixture, err := os.ReadFile(bulkGetFixture)
	if err != nil {
		t.Fatal(err)
	}
	item := func(sku string, q int) string {
		return fmt.Sprintf(`{"statusCode":200,"sku":%q,"inventoryItem":{"sku":%q,"availability":{"shipToLocationAvailability":{"quantity":%d}}}}`, sku, sku, q)
	}
	tests := []struct {
		name        string
		status      int
		body        string
		ask         []string
		found       map[string]int64
		unknown     []string
		retry, skip []string
		wantErr     bool
		wantStatus  int // of an *APIError
	}{
		{name: "the fixture", status: 207, body: string(fixture), ask: bulkGetAsked,
			found: map[string]int64{"TSHIRT-RED-M": 12, "MUG-WHITE": 0}, unknown: []string{"POSTER-A2"},
			retry: []string{"SOCKS-3PK"}, skip: []string{"NOT-ANSWERED"}},
		{name: "all unknown, answered 400 with entries", status: 400, ask: []string{"A"},
			body:    `{"responses":[{"statusCode":404,"sku":"A","errors":[{"errorId":25710}]}]}`,
			unknown: []string{"A"}},
		{name: "unknown by error id", status: 207, ask: []string{"A", "B"},
			body:  `{"responses":[{"statusCode":400,"sku":"A","errors":[{"errorId":25702}]},` + item("B", 2) + `]}`,
			found: map[string]int64{"B": 2}, unknown: []string{"A"}},
		{name: "refused SKU", status: 400, ask: []string{"A"},
			body: `{"responses":[{"statusCode":400,"sku":"A","errors":[{"errorId":25707,"message":"invalid SKU"}]}]}`,
			skip: []string{"A"}},
		{name: "200 without an item", status: 200, ask: []string{"A"},
			body: `{"responses":[{"statusCode":200,"sku":"A"}]}`, skip: []string{"A"}},
		{name: "200 with another SKU's item", status: 200, ask: []string{"A"},
			body: `{"responses":[{"statusCode":200,"sku":"A","inventoryItem":{"sku":"B"}}]}`, skip: []string{"A"}},
		{name: "negative quantity", status: 200, ask: []string{"A"},
			body: `{"responses":[` + item("A", -3) + `]}`, skip: []string{"A"}},
		{name: "item without availability reads 0", status: 200, ask: []string{"A"},
			body: `{"responses":[{"statusCode":200,"sku":"A","inventoryItem":{"sku":"A"}}]}`, found: map[string]int64{"A": 0}},
		{name: "agreeing duplicates", status: 200, ask: []string{"A"},
			body: `{"responses":[` + item("A", 4) + `,` + item("A", 4) + `]}`, found: map[string]int64{"A": 4}},
		{name: "conflicting duplicates", status: 200, ask: []string{"A"},
			body: `{"responses":[` + item("A", 4) + `,` + item("A", 5) + `]}`, skip: []string{"A"}},
		{name: "entries of SKUs not asked are ignored", status: 200, ask: []string{"A"},
			body: `{"responses":[` + item("A", 1) + `,` + item("Z", 9) + `]}`, found: map[string]int64{"A": 1}},
		{name: "400 without entries", status: 400, ask: []string{"A"},
			body: `{"errors":[{"errorId":25709,"message":"Invalid value for requests"}]}`, wantErr: true, wantStatus: 400},
		{name: "500 after the retries", status: 500, ask: []string{"A"}, body: `{}`, wantErr: true, wantStatus: 500},
		{name: "207 with an entry list cut short", status: 207, ask: []string{"A"}, body: `{"responses":[`, wantErr: true},
		{name: "200 without entries", status: 200, ask: []string{"A"}, body: `{"responses":[]}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseBulkGet(&response{status: tc.status, body: []byte(tc.body)}, tc.ask, true)
			if tc.wantErr {
				var ae *APIError
				if err == nil || (tc.wantStatus != 0 && (!errors.As(err, &ae) || ae.Status != tc.wantStatus)) {
					t.Fatalf("parseBulkGet = %+v, %v; want an error (status %d)", o, err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			skus := func(s []skippedSKU) []string {
				var out []string
				for _, x := range s {
					out = append(out, x.sku)
				}
				return out
			}
			if len(o.found) != len(tc.found) || (len(tc.found) > 0 && !reflect.DeepEqual(o.found, tc.found)) ||
				!reflect.DeepEqual(o.unknown, tc.unknown) || !reflect.DeepEqual(skus(o.retry), tc.retry) || !reflect.DeepEqual(skus(o.skipped), tc.skip) {
				t.Fatalf("parseBulkGet = %+v; want found %v unknown %v retry %v skipped %v", o, tc.found, tc.unknown, tc.retry, tc.skip)
			}
		})
	}
}
