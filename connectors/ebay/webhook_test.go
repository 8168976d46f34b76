package ebay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/ebay/ebaytest"
)

const vectorsFile = "testdata/notification_signed_test_vectors.event-notification-sdk.json"

type testVector struct {
	Signature string              `json:"signature"`
	Message   json.RawMessage     `json:"message"`
	Response  *ebaytest.PublicKey `json:"response"`
	PublicKey string              `json:"public_key"`
}

func loadVectors(t testing.TB) map[string]testVector {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]testVector
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// compact is the body eBay sent: the message's compact serialisation,
// keys in file order (json.Compact keeps them).
func compact(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func kidOf(t testing.TB, header string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s.Kid
}

func webhookRequest(body []byte, header string) *connectors.WebhookRequest {
	h := http.Header{}
	if header != "" {
		h.Set(SignatureHeader, header)
	}
	h.Set("Content-Type", "application/json")
	return &connectors.WebhookRequest{Method: http.MethodPost, URL: &url.URL{Path: "/webhooks/ebay-test"}, Header: h, Body: body, ReceivedAt: time.Now()}
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var we *connectors.WebhookError
	if !errors.As(err, &we) || we.Status != status {
		t.Fatalf("error = %v; want a WebhookError with status %d", err, status)
	}
}

// TestPublishedTestVectors runs eBay's SDK test vectors through the whole
// verification path, the public key served by the fake as eBay would.
// ERROR is the case whose getPublicKey fails (eBay's SDK answers 500 so
// eBay delivers again); INVALID is a message altered after signing.
func TestPublishedTestVectors(t *testing.T) {
	vectors := loadVectors(t)
	tests := []struct {
		name       string
		mutate     func([]byte) []byte
		wantStatus int // 0: verifies
	}{
		{name: "VALID"},
		{name: "VALID", mutate: func(b []byte) []byte { // re-indented by a proxy: still what eBay signed
			var out bytes.Buffer
			_ = json.Indent(&out, b, "", "  ")
			return out.Bytes()
		}},
		{name: "VALID", mutate: func(b []byte) []byte { return bytes.Replace(b, []byte("test_user"), []byte("test_usex"), 1) }, wantStatus: 412},
		{name: "INVALID", wantStatus: 412},
		{name: "SIGNATURE_MISMATCH", wantStatus: 412},
		{name: "ERROR", wantStatus: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := vectors[tc.name]
			if !ok {
				t.Fatalf("no case %s in %s", tc.name, vectorsFile)
			}
			e := newEnv(t, envConfig{})
			kid := kidOf(t, v.Signature)
			if v.Response != nil {
				e.fake.AddPublicKey(kid, *v.Response)
			} else {
				e.fake.FailPublicKey(kid, http.StatusInternalServerError)
			}
			body := compact(t, v.Message)
			if tc.mutate != nil {
				body = tc.mutate(body)
			}
			events, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, v.Signature))
			if tc.wantStatus != 0 {
				wantStatus(t, err, tc.wantStatus)
				return
			}
			// A verified MARKETPLACE_ACCOUNT_DELETION moves no stock.
			if !errors.Is(err, connectors.ErrIgnored) || len(events) != 0 {
				t.Fatalf("ParseWebhook = %v, %v; want no events and ErrIgnored", events, err)
			}
			if got := counter(t, e.conn.metrics.signatureChecks.WithLabelValues("valid")); got != 1 {
				t.Fatalf("valid signature checks = %v, want 1", got)
			}
		})
	}
}

func TestParseWebhookOwnKey(t *testing.T) {
	confirmation, err := os.ReadFile("testdata/notification_order_confirmation.json")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("testdata/notification_item_marked_shipped.json")
	if err != nil {
		t.Fatal(err)
	}
	noOrder, err := os.ReadFile("testdata/notification_item_marked_shipped_no_order.json")
	if err != nil {
		t.Fatal(err)
	}
	headerWith := func(fields map[string]string) func(*ebaytest.Server, []byte) string {
		return func(s *ebaytest.Server, body []byte) string {
			raw, _ := base64.StdEncoding.DecodeString(s.SignedNotification(body))
			var h map[string]string
			_ = json.Unmarshal(raw, &h)
			for k, v := range fields {
				h[k] = v
			}
			b, _ := json.Marshal(h)
			return base64.StdEncoding.EncodeToString(b)
		}
	}
	signed := func(s *ebaytest.Server, body []byte) string { return s.SignedNotification(body) }
	tests := []struct {
		name        string
		body        []byte
		header      func(*ebaytest.Server, []byte) string
		wantOrder   string
		wantTopic   string
		wantStatus  int
		wantIgnored bool
	}{
		{name: "order confirmation", body: confirmation, header: signed, wantOrder: "14-09021-33817", wantTopic: TopicOrderConfirmation},
		{name: "item marked shipped", body: shipped, header: signed, wantOrder: "03-09017-51920", wantTopic: TopicItemMarkedShipped},
		{name: "SHA256 digest named in the header", body: confirmation, wantOrder: "14-09021-33817", wantTopic: TopicOrderConfirmation,
			header: func(s *ebaytest.Server, b []byte) string { return s.SignedNotificationDigest(b, "SHA256") }},
		{name: "digest in the header differs from the one signed with", body: confirmation, wantStatus: 412,
			header: func(s *ebaytest.Server, b []byte) string {
				return headerWith(map[string]string{"digest": "SHA256"})(s, b)
			}},
		{name: "unknown digest", body: confirmation, header: headerWith(map[string]string{"digest": "MD5"}), wantStatus: 412},
		{name: "not ecdsa", body: confirmation, header: headerWith(map[string]string{"alg": "rsa"}), wantStatus: 412},
		{name: "unknown kid", body: confirmation, header: headerWith(map[string]string{"kid": "no-such-key"}), wantStatus: 412},
		{name: "no header", body: confirmation, header: func(*ebaytest.Server, []byte) string { return "" }, wantStatus: 412},
		{name: "header not base64", body: confirmation, header: func(*ebaytest.Server, []byte) string { return "%%%not base64" }, wantStatus: 412},
		{name: "header not JSON", body: confirmation, wantStatus: 412,
			header: func(*ebaytest.Server, []byte) string { return base64.StdEncoding.EncodeToString([]byte("kid=1")) }},
		{name: "signature of another body", body: confirmation, wantStatus: 412,
			header: func(s *ebaytest.Server, _ []byte) string { return s.SignedNotification(shipped) }},
		{name: "signed but not a notification", body: []byte(`{"hello":"world"}`), header: signed, wantStatus: 400},
		{name: "signed but not JSON", body: []byte(`not json`), header: signed, wantStatus: 400},
		{name: "order topic without order id", body: noOrder, header: signed, wantIgnored: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			req := webhookRequest(tc.body, tc.header(e.fake, tc.body))
			events, err := e.conn.ParseWebhook(context.Background(), req)
			switch {
			case tc.wantStatus != 0:
				wantStatus(t, err, tc.wantStatus)
			case tc.wantIgnored:
				if !errors.Is(err, connectors.ErrIgnored) || len(events) != 0 {
					t.Fatalf("ParseWebhook = %v, %v; want ErrIgnored", events, err)
				}
			default:
				if err != nil {
					t.Fatalf("ParseWebhook: %v", err)
				}
				if len(events) != 1 {
					t.Fatalf("events = %+v; want one", events)
				}
				ev := events[0]
				if ev.Kind != connectors.EventOrderChanged || ev.OrderID != tc.wantOrder || ev.Topic != tc.wantTopic ||
					ev.Channel != "ebay-test" || !strings.HasPrefix(ev.ID, tc.wantTopic+":") || ev.ReceivedAt != req.ReceivedAt {
					t.Fatalf("event = %+v; want order_changed of %s (%s)", ev, tc.wantOrder, tc.wantTopic)
				}
			}
		})
	}
}

// TestPublicKeyCache: many deliveries at once fetch the key once (and ask
// for one application token); after an hour the key is fetched again.
func TestPublicKeyCache(t *testing.T) {
	e := newEnv(t, envConfig{})
	body, err := os.ReadFile("testdata/notification_order_confirmation.json")
	if err != nil {
		t.Fatal(err)
	}
	header := e.fake.SignedNotification(body)
	deliverAll := func() {
		var wg sync.WaitGroup
		for range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.conn.ParseWebhook(context.Background(), webhookRequest(body, header)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	deliverAll()
	if got := e.fake.Calls("public_key"); got != 1 {
		t.Fatalf("public key fetched %d times for 24 deliveries; want 1", got)
	}
	if got := e.fake.AppTokens(); got != 1 {
		t.Fatalf("application tokens asked %d; want 1", got)
	}
	if got := e.fake.Refreshes(); got != 0 {
		t.Fatalf("user tokens asked %d; want 0 (public keys need the application token)", got)
	}
	e.clock.Advance(61 * time.Minute)
	deliverAll()
	if got := e.fake.Calls("public_key"); got != 2 {
		t.Fatalf("public key fetched %d times after an hour; want 2", got)
	}
	if got := counter(t, e.conn.metrics.keyFetches); got != 2 {
		t.Fatalf("key fetch metric = %v, want 2", got)
	}
}

func TestAnswerChallenge(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		endpoint   string
		token      string
		want       string
		wantStatus int
	}{
		// The vector is eBay SDK's test configuration, hashed independently
		// (python3 hashlib.sha256(code+token+endpoint)).
		{name: "sdk vector", query: "challenge_code=a8628072-3d33-45ee-9004-bee86830a22d", token: "71745723-d031-455c-bfa5-f90d11b4f20a",
			endpoint: "http://www.testendpoint.com/webhook", want: "ca527df75caa230092d7e90484071e8f05d63068f1317973d6a3a42593734bbb"},
		{name: "no challenge code", query: "", token: "t", endpoint: "https://x.example/webhooks/e", wantStatus: 400},
		{name: "empty challenge code", query: "challenge_code=", token: "t", endpoint: "https://x.example/webhooks/e", wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envConfig{channel: func(ch *config.Channel) {
				ch.Webhook.EndpointURL = tc.endpoint
				ch.Webhook.VerificationToken = config.NewSecret(tc.token)
			}})
			r := &connectors.WebhookRequest{Method: http.MethodGet, URL: &url.URL{Path: "/webhooks/ebay-test", RawQuery: tc.query}, Header: http.Header{}}
			got, err := e.conn.AnswerChallenge(context.Background(), r)
			if tc.wantStatus != 0 {
				wantStatus(t, err, tc.wantStatus)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if want := `{"challengeResponse":"` + tc.want + `"}`; string(b) != want {
				t.Fatalf("answer = %s; want %s", b, want)
			}
		})
	}
}
