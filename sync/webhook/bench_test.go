package webhook

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
)

type discardSink struct{}

func (discardSink) Put(context.Context, []connectors.Event) error { return nil }

func benchDeliveries(b *testing.B, sink connectors.EventSink) {
	m, _ := NewMetrics(prometheus.NewRegistry())
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: sink, BodyLimit: 1 << 20, Logger: zerolog.Nop(), Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"topic":"orders/updated","order_id":"4242"}`
	sig := sign(body)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/webhooks/shop", strings.NewReader(body))
		req.Header.Set("X-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkHandler is the receiver's own cost per delivery: body read,
// HMAC verify (the fake), stamping, metrics, answer.
func BenchmarkHandler(b *testing.B) { benchDeliveries(b, discardSink{}) }

// BenchmarkHandlerRedisIntake adds the durable write to the real Redis:
// the latency a channel waits for its 200.
func BenchmarkHandlerRedisIntake(b *testing.B) {
	rdb, prefix := redistest.New(b)
	benchDeliveries(b, intake.New(rdb, intake.Options{Prefix: prefix}))
}
