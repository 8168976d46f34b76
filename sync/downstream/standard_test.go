package downstream

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// verifyStandard is a receiver's verification of a Standard Webhooks
// delivery, written from the spec text (standard-webhooks.md 1.0.0,
// "Signature scheme", "Webhook headers", "Verifying signatures") and not
// from the sender's code: the secret is "whsec_" + base64 of the key; the
// signed content is "{msg_id}.{timestamp}.{payload}"; webhook-signature is
// a space-delimited list of "<version>,<base64 signature>", of which a
// "v1" one must match (constant-time compare); the timestamp must be
// within a tolerance of now.
func verifyStandard(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	if strings.Contains(id, ".") {
		return errors.New("webhook-id contains a full stop")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s outside the tolerance", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no v1 signature matches")
}

// TestStandardSignatureKnownAnswer: a signature computed outside Go with
// openssl:
//
//	printf '%s' 'shop:1001:1700000000000:2.1700000123.{"delivery_id":"shop:1001:1700000000000:2","order":{}}' |
//	  openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf m5psTAmQaS+KuOudWrRXYa4Ajbi5YuNX | base64 -d | xxd -p -c 256) -binary | base64
func TestStandardSignatureKnownAnswer(t *testing.T) {
	const secret = "whsec_m5psTAmQaS+KuOudWrRXYa4Ajbi5YuNX"
	body := []byte(`{"delivery_id":"shop:1001:1700000000000:2","order":{}}`)
	got := SignStandard(StandardKey([]byte(secret)), "shop:1001:1700000000000:2", "1700000123", body)
	if want := "v1,QOGgbIVZ8+79ew9ldsZfn4oA8XpyFPDDSBo+peytfvk="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestStandardKeyAndID(t *testing.T) {
	tests := []struct {
		name, secret, wantKey string
	}{
		{"whsec secret: the decoded key", "whsec_c2VjcmV0LWtleQ==", "secret-key"},
		{"whsec secret without padding: the decoded key", "whsec_c2VjcmV0LWtleQ", "secret-key"},
		{"plain secret: its own bytes", "s3cret", "s3cret"},
		{"whsec prefix but not base64: the whole secret", "whsec_not base64!", "whsec_not base64!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(StandardKey([]byte(tt.secret))); got != tt.wantKey {
				t.Fatalf("key %q, want %q", got, tt.wantKey)
			}
		})
	}
	ids := map[string]string{
		"shop:9:5:1":     "shop:9:5:1",
		"shop:9.1:5:1":   "shop:9%2E1:5:1",
		"shop:9%2E1:5:1": "shop:9%252E1:5:1",
	}
	for in, want := range ids {
		if got := StandardID(in); got != want {
			t.Errorf("StandardID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVerifierRejects shows the test's verifier can fail, so the delivery
// test below means something.
func TestVerifierRejects(t *testing.T) {
	const secret = "whsec_c2VjcmV0LWtleQ=="
	now := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	good := func() http.Header {
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", "1700000000")
		h.Set("webhook-signature", SignStandard([]byte("secret-key"), "msg_1", "1700000000", body))
		return h
	}
	if err := verifyStandard(secret, good(), body, now); err != nil {
		t.Fatalf("good delivery refused: %v", err)
	}
	tests := []struct {
		name   string
		change func(h http.Header) []byte
	}{
		{"body changed", func(http.Header) []byte { return []byte(`{"a":2}`) }},
		{"id changed", func(h http.Header) []byte { h.Set("webhook-id", "msg_2"); return body }},
		{"old timestamp", func(h http.Header) []byte {
			h.Set("webhook-timestamp", "1699999000")
			h.Set("webhook-signature", SignStandard([]byte("secret-key"), "msg_1", "1699999000", body))
			return body
		}},
		{"other key", func(h http.Header) []byte {
			h.Set("webhook-signature", SignStandard([]byte("other"), "msg_1", "1700000000", body))
			return body
		}},
		{"no signature header", func(h http.Header) []byte { h.Del("webhook-signature"); return body }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good()
			b := tt.change(h)
			if err := verifyStandard(secret, h, b, now); err == nil {
				t.Fatal("verified")
			}
		})
	}
}

// TestForwarderDeliveryVerifiesAsStandardWebhook: a real delivery carries
// both the Standard Webhooks headers, which the spec's verification
// accepts with the receiver's form of the secret, and the legacy
// X-Shelfsync-Signature.
func TestForwarderDeliveryVerifiesAsStandardWebhook(t *testing.T) {
	tests := []struct {
		name, configured, receiver string
	}{
		{"secret in the spec's whsec_ form", "whsec_m5psTAmQaS+KuOudWrRXYa4Ajbi5YuNX", "whsec_m5psTAmQaS+KuOudWrRXYa4Ajbi5YuNX"},
		{"plain secret, receiver takes whsec_ + base64 of it", "s3cret", "whsec_" + base64.StdEncoding.EncodeToString([]byte("s3cret"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, body := deliverOne(t, []byte(tt.configured))
			if err := verifyStandard(tt.receiver, h, body, time.Now()); err != nil {
				t.Fatalf("standard verification: %v (headers %v)", err, h)
			}
			if h.Get("webhook-id") != "shop:9:5:1" || h.Get("webhook-timestamp") != h.Get(HeaderTimestamp) {
				t.Fatalf("webhook-id %q, webhook-timestamp %q", h.Get("webhook-id"), h.Get("webhook-timestamp"))
			}
			if want := Sign([]byte(tt.configured), h.Get(HeaderTimestamp), body); !hmac.Equal([]byte(want), []byte(h.Get(HeaderSignature))) {
				t.Fatalf("legacy signature %q, want %q", h.Get(HeaderSignature), want)
			}
		})
	}
}

// deliverOne publishes one order, lets a Forwarder deliver it to a test
// receiver and returns what the receiver got.
func deliverOne(t *testing.T, secret []byte) (http.Header, []byte) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	p := NewPublisher(rdb, prefix, "orders", 0, time.Hour, nil)
	type got struct {
		h    http.Header
		body []byte
	}
	ch := make(chan got, 1)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		once.Do(func() { ch <- got{r.Header.Clone(), b} })
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := p.Publish(ctx, order("9", 5)); err != nil {
		t.Fatal(err)
	}
	f := NewForwarder(rdb, p.Stream(), "t", srv.URL, secret, &http.Client{Timeout: 5 * time.Second}, zerolog.Nop(), nil)
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case g := <-ch:
		return g.h, g.body
	case <-time.After(15 * time.Second):
		t.Fatal("nothing delivered")
		return nil, nil
	}
}
