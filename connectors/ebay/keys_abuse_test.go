package ebay

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

// The tests of "bad input and abuse", notifications: what an unsigned or
// hostile delivery may cost (eBay calls, the channel's rate budget).

func confirmationBody(t testing.TB) []byte {
	t.Helper()
	body, err := os.ReadFile("testdata/notification_order_confirmation.json")
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// withHeaderFields re-encodes a signature header with fields replaced
// (a nil value removes the field).
func withHeaderFields(t testing.TB, header string, fields map[string]any) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func randomKid(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func webhookStatus(err error) int {
	var we *connectors.WebhookError
	if errors.As(err, &we) {
		return we.Status
	}
	return 0
}

// deliverMany runs n deliveries on 16 goroutines and returns how many
// were answered with each status (0: accepted).
func deliverMany(t *testing.T, c *Connector, n int, req func(i int) *connectors.WebhookRequest) map[int]int {
	t.Helper()
	var mu sync.Mutex
	statuses := map[int]int{}
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				events, err := c.ParseWebhook(context.Background(), req(i))
				if err == nil && len(events) == 0 {
					t.Errorf("delivery %d: no error and no events", i)
				}
				if err != nil && len(events) != 0 {
					t.Errorf("delivery %d: events with an error: %v", i, err)
				}
				mu.Lock()
				statuses[webhookStatus(err)]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return statuses
}

// TestUnknownKidFetchesBounded: deliveries naming kids eBay does not
// know cost at most the key-fetch budget's burst of getPublicKey calls,
// however many arrive (they used to cost one call each, the same unknown
// kid included), and never take from the channel's own rate budget.
func TestUnknownKidFetchesBounded(t *testing.T) {
	tests := []struct {
		name string
		kid  func(i int) string
		// wantFetches is the most getPublicKey calls the deliveries may cost.
		wantFetches int
	}{
		{name: "500 random unknown kids", kid: func(int) string { return randomKid(t) }, wantFetches: DefaultKeyFetchBurst},
		{name: "500 deliveries of one unknown kid", kid: func(int) string { return "9936261a-0000-4621-a0f1-96ccb428af49" }, wantFetches: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			body := confirmationBody(t)
			genuine := e.fake.SignedNotification(body)
			statuses := deliverMany(t, e.conn, 500, func(i int) *connectors.WebhookRequest {
				return webhookRequest(body, withHeaderFields(t, genuine, map[string]any{"kid": tc.kid(i)}))
			})
			if statuses[0] != 0 || statuses[412]+statuses[503] != 500 {
				t.Fatalf("answers %v; want only 412 (unknown kid) and 503 (key budget spent)", statuses)
			}
			if got := e.fake.Calls("public_key"); got > tc.wantFetches {
				t.Fatalf("%d getPublicKey calls for 500 deliveries; want at most %d", got, tc.wantFetches)
			}
			if got := e.fake.AppTokens(); got > 1 {
				t.Fatalf("%d application tokens; want at most 1", got)
			}
			// The key of a genuine delivery is fetched once the budget
			// has refilled; the flood never touched the fake's real kid.
			e.clock.Advance(time.Minute)
			if _, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, genuine)); err != nil {
				t.Fatalf("a genuine delivery after the flood: %v", err)
			}
		})
	}
}

// TestUnknownKidCachedNegatively: eBay's "no such key" (404) is
// remembered for UnknownKeyTTL, then asked again; a failure to answer
// (5xx) is remembered for FailedKeyTTL.
func TestUnknownKidCachedNegatively(t *testing.T) {
	tests := []struct {
		name       string
		fail       int // status getPublicKey answers; 0: not found
		wantStatus int
		ttl        time.Duration
	}{
		{name: "unknown kid", wantStatus: 412, ttl: DefaultUnknownKeyTTL},
		{name: "eBay's key service failing", fail: http.StatusInternalServerError, wantStatus: 500, ttl: DefaultFailedKeyTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			body := confirmationBody(t)
			kid := "rotated-key-2"
			e.fake.AddSigningKey(kid)
			header := e.fake.SignedNotificationKey(kid, body)
			if tc.fail != 0 {
				e.fake.FailPublicKey(kid, tc.fail)
			} else {
				e.fake.FailPublicKey(kid, http.StatusNotFound)
			}
			base := e.fake.Calls("public_key")
			for range 50 {
				_, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header))
				wantStatus(t, err, tc.wantStatus)
			}
			// The HTTP client retries a 5xx once; a 404 is not retried.
			first := e.fake.Calls("public_key") - base
			if first < 1 || first > 2 {
				t.Fatalf("%d getPublicKey calls for 50 deliveries; want one fetch", first)
			}
			e.clock.Advance(tc.ttl - time.Second)
			_, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header))
			wantStatus(t, err, tc.wantStatus)
			if got := e.fake.Calls("public_key") - base; got != first {
				t.Fatalf("asked eBay again before the negative entry expired (%d calls)", got)
			}
			// eBay knows the key now: once the entry expires it verifies.
			e.fake.FailPublicKey(kid, 0)
			e.clock.Advance(2 * time.Second)
			if _, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header)); err != nil {
				t.Fatalf("after the negative entry expired: %v", err)
			}
		})
	}
}

// TestHeaderShapeCostsNoIO: a header that can not be a signature of eBay's
// is refused (412) before any call: no token, no key fetch.
func TestHeaderShapeCostsNoIO(t *testing.T) {
	e := newEnv(t, envConfig{})
	body := confirmationBody(t)
	genuine := e.fake.SignedNotification(body)
	with := func(fields map[string]any) string { return withHeaderFields(t, genuine, fields) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		header string
	}{
		{name: "kid with a slash", header: with(map[string]any{"kid": "../../sell/inventory/v1/offer"})},
		{name: "kid with a query", header: with(map[string]any{"kid": "abc?x=1"})},
		{name: "kid with a control character", header: with(map[string]any{"kid": "abc\x00def"})},
		{name: "kid with the field separator", header: with(map[string]any{"kid": "abc\x1fdef"})},
		{name: "kid with a space", header: with(map[string]any{"kid": "abc def"})},
		{name: "kid of 129 characters", header: with(map[string]any{"kid": strings.Repeat("a", 129)})},
		{name: "kid of non-ASCII letters", header: with(map[string]any{"kid": "ключ"})},
		{name: "kid not a string", header: with(map[string]any{"kid": 12345})},
		{name: "no kid", header: with(map[string]any{"kid": nil})},
		{name: "no alg", header: with(map[string]any{"alg": nil})},
		{name: "no digest", header: with(map[string]any{"digest": nil})},
		{name: "no signature", header: with(map[string]any{"signature": nil})},
		{name: "signature not base64", header: with(map[string]any{"signature": "%%%"})},
		{name: "signature not DER", header: with(map[string]any{"signature": b64("not an ASN.1 signature at all")})},
		{name: "signature with trailing bytes", header: with(map[string]any{"signature": func() string {
			raw, _ := base64.StdEncoding.DecodeString(genuine)
			var h map[string]string
			_ = json.Unmarshal(raw, &h)
			sig, _ := base64.StdEncoding.DecodeString(h["signature"])
			return base64.StdEncoding.EncodeToString(append(sig, 0, 0))
		}()})},
		{name: "signature far too long", header: with(map[string]any{"signature": base64.StdEncoding.EncodeToString(make([]byte, 1024))})},
		{name: "header a JSON array", header: b64(`["ecdsa","k","s","SHA1"]`)},
		{name: "header JSON null", header: b64(`null`)},
		{name: "header empty object", header: b64(`{}`)},
		{name: "header not base64", header: "!!!"},
		{name: "header of 5000 bytes", header: strings.Repeat("A", 5000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, tc.header))
			wantStatus(t, err, 412)
			if len(events) != 0 {
				t.Fatalf("events %v with a refusal", events)
			}
			if n, tok := e.fake.Calls("public_key"), e.fake.AppTokens(); n != 0 || tok != 0 {
				t.Fatalf("a malformed header cost %d key fetches and %d tokens; want none", n, tok)
			}
		})
	}
}

// TestNewKidConcurrentDeliveriesOneFetch: the first deliveries signed
// with a newly rotated key, arriving together, share one fetch of it, even
// when the delivery that started the fetch goes away.
func TestNewKidConcurrentDeliveriesOneFetch(t *testing.T) {
	e := newEnv(t, envConfig{fake: ebaytest.Options{Latency: 30 * time.Millisecond}})
	body := confirmationBody(t)
	kid := "5b1f0a2e-rotated-key"
	e.fake.AddSigningKey(kid)
	header := e.fake.SignedNotificationKey(kid, body)
	gone, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = e.conn.ParseWebhook(gone, webhookRequest(body, header))
	}()
	time.Sleep(5 * time.Millisecond)
	cancel()
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a delivery signed with the new key: %v", err)
		}
	}
	if got := e.fake.Calls("public_key"); got != 1 {
		t.Fatalf("%d getPublicKey calls for 65 deliveries of one new kid; want 1", got)
	}
}

// TestKeyFetchOwnBudget: key fetches (and the application token they
// need) never wait on the channel's limiter, which paces pushes and
// polls, nor take from it.
func TestKeyFetchOwnBudget(t *testing.T) {
	e := newEnv(t, envConfig{})
	deps := e.deps
	spent := rate.NewLimiter(rate.Every(time.Hour), 1)
	spent.Allow() // the channel's budget is used up for the next hour
	deps.Limiter = spent
	deps.HTTP = connectors.NewHTTPClient(connectors.HTTPOptions{Channel: deps.Channel.Name, Timeout: 5 * time.Second, Limiter: spent})
	deps.Registerer = nil
	c, err := NewWithOptions(deps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := confirmationBody(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := c.ParseWebhook(ctx, webhookRequest(body, e.fake.SignedNotification(body))); err != nil {
		t.Fatalf("a genuine delivery while the channel's budget is spent: %v", err)
	}
	if got := e.fake.Calls("public_key"); got != 1 {
		t.Fatalf("%d getPublicKey calls; want 1", got)
	}
	if tokens := spent.TokensAt(time.Now()); tokens > 0.01 {
		t.Fatalf("the channel's limiter holds %.2f tokens: nothing should have been given back or taken", tokens)
	}
}

// TestStaleKeyServesWhenEBayFails: a known key past its TTL still
// verifies while eBay's key service fails or the key budget is spent;
// eBay saying the kid is unknown drops it.
func TestStaleKeyServesWhenEBayFails(t *testing.T) {
	e := newEnv(t, envConfig{})
	body := confirmationBody(t)
	header := e.fake.SignedNotification(body)
	if _, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(61 * time.Minute)
	e.fake.FailPublicKey(e.fake.KeyID(), http.StatusInternalServerError)
	for range 20 {
		if _, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header)); err != nil {
			t.Fatalf("a known key while eBay fails: %v", err)
		}
	}
	if got := e.fake.Calls("public_key"); got > 3 {
		t.Fatalf("%d getPublicKey calls; want the initial fetch and one (retried) refresh", got)
	}
	e.fake.FailPublicKey(e.fake.KeyID(), http.StatusNotFound)
	e.clock.Advance(DefaultFailedKeyTTL + time.Second)
	_, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header))
	wantStatus(t, err, 412)
}
