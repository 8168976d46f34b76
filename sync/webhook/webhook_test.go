package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
)

const secret = "whsec-test"

// fakeVerifier checks an HMAC-SHA256 of the raw body in X-Signature, as
// Shopify does, then reads the body: {"topic": ..., "order_id": ...}.
type fakeVerifier struct {
	calls int
	// fail, when set, is returned after a good signature (parse errors).
	fail error
	// stamp makes the connector fill Channel and ReceivedAt itself.
	stamp bool
}

var _ connectors.WebhookVerifier = (*fakeVerifier)(nil)

func sign(body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (v *fakeVerifier) ParseWebhook(_ context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	v.calls++
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Signature"))
	if err != nil || r.Header.Get("X-Signature") == "" {
		return nil, connectors.Unauthorized("missing_signature", errors.New("no X-Signature"))
	}
	if !hmac.Equal(got, []byte(mustDecode(sign(string(r.Body))))) {
		return nil, connectors.Unauthorized("bad_signature", errors.New("hmac mismatch"))
	}
	if v.fail != nil {
		return nil, v.fail
	}
	var p struct {
		Topic   string `json:"topic"`
		OrderID string `json:"order_id"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return nil, connectors.Malformed(err)
	}
	if p.Topic == "shop/update" {
		return nil, fmt.Errorf("topic %s: %w", p.Topic, connectors.ErrIgnored)
	}
	e := connectors.Event{Kind: connectors.EventOrderChanged, Topic: p.Topic, OrderID: p.OrderID}
	if v.stamp {
		e.Channel, e.ReceivedAt = "connector-set", time.Unix(1, 0).UTC()
	}
	return []connectors.Event{e}, nil
}

func mustDecode(s string) string {
	b, _ := base64.StdEncoding.DecodeString(s)
	return string(b)
}

type fakeSink struct {
	got []connectors.Event
	err error
}

func (s *fakeSink) Put(_ context.Context, events []connectors.Event) error {
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, events...)
	return nil
}

type fakeChallenger struct{}

func (fakeChallenger) AnswerChallenge(_ context.Context, r *connectors.WebhookRequest) (any, error) {
	code := r.URL.Query().Get("challenge_code")
	if code == "" {
		return nil, connectors.Malformed(errors.New("no challenge_code"))
	}
	return map[string]string{"challengeResponse": "answer-" + code}, nil
}

var now = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestHandler(t *testing.T) {
	good := `{"topic":"orders/updated","order_id":"42"}`
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		sig        string
		verifyErr  error
		sinkErr    error
		challenger bool
		stamp      bool
		chunked    bool // the body's length not declared
		wantStatus int
		wantBody   string
		wantResult string // "" when no delivery is counted
		wantFail   string // reason counted as a verification failure
		wantStored int
	}{
		{name: "accepted", body: good, sig: sign(good), wantStatus: 200, wantBody: `{"status":"accepted"}`, wantResult: ResultAccepted, wantStored: 1},
		{name: "connector's own stamps kept", body: good, sig: sign(good), stamp: true, wantStatus: 200, wantResult: ResultAccepted, wantStored: 1},
		{name: "bad signature", body: good, sig: sign(good + " "), wantStatus: 401, wantBody: `{"error":"bad_signature"}`, wantResult: ResultRejected, wantFail: "bad_signature"},
		{name: "no signature", body: good, wantStatus: 401, wantBody: `{"error":"missing_signature"}`, wantResult: ResultRejected, wantFail: "missing_signature"},
		{name: "precondition failed", body: good, sig: sign(good), verifyErr: connectors.PreconditionFailed("bad_signature", errors.New("ecdsa")), wantStatus: 412, wantResult: ResultRejected, wantFail: "bad_signature"},
		{name: "malformed", body: `{"topic":`, sig: sign(`{"topic":`), wantStatus: 400, wantBody: `{"error":"malformed"}`, wantResult: ResultRejected},
		{name: "ignored topic", body: `{"topic":"shop/update"}`, sig: sign(`{"topic":"shop/update"}`), wantStatus: 200, wantBody: `{"status":"ignored"}`, wantResult: ResultIgnored},
		{name: "verifier fails", body: good, sig: sign(good), verifyErr: errors.New("key fetch: connection refused"), wantStatus: 500, wantBody: `{"error":"internal"}`, wantResult: ResultError},
		{name: "sink fails", body: good, sig: sign(good), sinkErr: errors.New("redis down"), wantStatus: 500, wantBody: `{"error":"intake_unavailable"}`, wantResult: ResultError},
		{name: "body over the limit", body: strings.Repeat("x", 65), sig: "irrelevant", wantStatus: 413, wantBody: `{"error":"body_too_large"}`, wantResult: ResultRejected},
		{name: "chunked body over the limit", body: strings.Repeat("x", 65), chunked: true, sig: "irrelevant", wantStatus: 413, wantBody: `{"error":"body_too_large"}`, wantResult: ResultRejected},
		{name: "chunked body within the limit", body: good, chunked: true, sig: sign(good), wantStatus: 200, wantBody: `{"status":"accepted"}`, wantResult: ResultAccepted, wantStored: 1},
		{name: "get without challenger", method: "GET", wantStatus: 405},
		{name: "put", method: "PUT", body: good, wantStatus: 405},
		{name: "challenge", method: "GET", target: "/webhooks/shop?challenge_code=abc", challenger: true, wantStatus: 200, wantBody: `{"challengeResponse":"answer-abc"}`},
		{name: "challenge refused", method: "GET", challenger: true, wantStatus: 400, wantBody: `{"error":"malformed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			v := &fakeVerifier{fail: tt.verifyErr, stamp: tt.stamp}
			sink := &fakeSink{err: tt.sinkErr}
			o := Options{Channel: "shop", Verifier: v, Sink: sink, BodyLimit: 64, Logger: zerolog.Nop(), Metrics: m, Now: func() time.Time { return now }, RefusalDelay: -1}
			if tt.challenger {
				o.Challenger = fakeChallenger{}
			}
			h, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			method, target := tt.method, tt.target
			if method == "" {
				method = "POST"
			}
			if target == "" {
				target = "/webhooks/shop"
			}
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body)
			}
			req := httptest.NewRequest(method, target, body)
			if tt.chunked && req.ContentLength != -1 {
				t.Fatalf("Content-Length %d, want none", req.ContentLength)
			}
			if tt.sig != "" {
				req.Header.Set("X-Signature", tt.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if tt.wantBody != "" && strings.TrimSpace(rec.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", rec.Body, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if strings.Contains(rec.Body.String(), "connection refused") || strings.Contains(rec.Body.String(), "redis") {
				t.Errorf("the answer leaks internal detail: %s", rec.Body)
			}
			for _, result := range []string{ResultAccepted, ResultIgnored, ResultRejected, ResultError} {
				want := 0.0
				if result == tt.wantResult {
					want = 1
				}
				if got := testutil.ToFloat64(m.deliveries.WithLabelValues("shop", result)); got != want {
					t.Errorf("shelfsync_webhooks_total{result=%q} = %v, want %v", result, got, want)
				}
			}
			fails := testutil.CollectAndCount(m.failures)
			switch {
			case tt.wantFail == "" && fails != 0:
				t.Errorf("%d verification failures counted, want none", fails)
			case tt.wantFail != "" && testutil.ToFloat64(m.failures.WithLabelValues("shop", tt.wantFail)) != 1:
				t.Errorf("verification failure %q not counted", tt.wantFail)
			}
			if len(sink.got) != tt.wantStored {
				t.Fatalf("%d events stored, want %d", len(sink.got), tt.wantStored)
			}
			if tt.wantStatus == 413 && v.calls != 0 {
				t.Error("the verifier saw a body over the limit")
			}
			for _, e := range sink.got {
				wantCh, wantAt := "shop", now
				if tt.stamp {
					wantCh, wantAt = "connector-set", time.Unix(1, 0).UTC()
				}
				if e.Channel != wantCh || !e.ReceivedAt.Equal(wantAt) || e.OrderID != "42" {
					t.Errorf("stored %+v", e)
				}
			}
		})
	}
}

func TestNewRequires(t *testing.T) {
	m, _ := NewMetrics(prometheus.NewRegistry())
	full := Options{Channel: "c", Verifier: &fakeVerifier{}, Sink: &fakeSink{}, Metrics: m, BodyLimit: 1}
	for name, mutate := range map[string]func(*Options){
		"channel":    func(o *Options) { o.Channel = "" },
		"verifier":   func(o *Options) { o.Verifier = nil },
		"sink":       func(o *Options) { o.Sink = nil },
		"metrics":    func(o *Options) { o.Metrics = nil },
		"body limit": func(o *Options) { o.BodyLimit = 0 },
	} {
		o := full
		mutate(&o)
		if _, err := New(o); err == nil {
			t.Errorf("New without %s succeeded", name)
		}
	}
	if _, err := New(full); err != nil {
		t.Fatal(err)
	}
}

// TestIntoRedisIntake runs a delivery through the real intake stream: a
// 200 means the event is in Redis.
func TestIntoRedisIntake(t *testing.T) {
	rdb, prefix := redistest.New(t)
	m, _ := NewMetrics(prometheus.NewRegistry())
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: intake.New(rdb, intake.Options{Prefix: prefix}), BodyLimit: 1 << 10, Logger: zerolog.Nop(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `{"topic":"orders/create","order_id":"1001"}`
	req, _ := http.NewRequest("POST", srv.URL+"/webhooks/shop", strings.NewReader(body))
	req.Header.Set("X-Signature", sign(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	msgs, err := rdb.XRange(context.Background(), intake.New(rdb, intake.Options{Prefix: prefix}).Stream(), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("intake: %v %v", msgs, err)
	}
	var e connectors.Event
	if err := json.Unmarshal([]byte(msgs[0].Values[intake.EventField].(string)), &e); err != nil {
		t.Fatal(err)
	}
	if e.Channel != "shop" || e.OrderID != "1001" || e.Topic != "orders/create" || e.ReceivedAt.IsZero() {
		t.Fatalf("stored %+v", e)
	}
}

// TestForgedDeliveriesAreHeld: the answer to a delivery whose
// authentication failed is held RefusalDelay (a forger's connection pays
// for it, not the daemon's CPU); a valid delivery is answered at once.
func TestForgedDeliveriesAreHeld(t *testing.T) {
	m, _ := NewMetrics(prometheus.NewRegistry())
	const delay = 300 * time.Millisecond
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: &fakeSink{}, BodyLimit: 1 << 10,
		Logger: zerolog.Nop(), Metrics: m, RefusalDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"topic":"orders/create","order_id":"1"}`
	forged := httptest.NewRequest(http.MethodPost, "/webhooks/shop", strings.NewReader(body))
	forged.Header.Set("X-Signature", "bm90IGl0")
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, forged)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %d, want 401", rec.Code)
	}
	if held := time.Since(start); held < delay {
		t.Fatalf("forged delivery answered after %v, before the %v it must be held", held, delay)
	}
	// A request that ends while held is answered (and released) at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	again := httptest.NewRequest(http.MethodPost, "/webhooks/shop", strings.NewReader(body)).WithContext(ctx)
	again.Header.Set("X-Signature", "bm90IGl0")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, again)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged delivery, request gone: %d", rec.Code)
	}
	if n := len(h.tarpit); n != 0 {
		t.Fatalf("%d slots still held", n)
	}
}
