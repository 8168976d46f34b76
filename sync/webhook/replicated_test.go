package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/store"
)

// TestNotReplicatedAnswers503: with redis.min_replicas_acked 1 the
// receiver answers 200 while the replica confirms the durable enqueue, and
// 503 (so the channel delivers again) while the replica is frozen or dead;
// a delivery answered 200 is on the replica.
func TestNotReplicatedAnswers503(t *testing.T) {
	r := redistest.StartReplicated(t)
	rdb := r.Primary.Client(t)
	prefix := redistest.Prefix()
	in := intake.New(rdb, intake.Options{Prefix: prefix, Durability: store.Durability{Replicas: 1, Timeout: 300 * time.Millisecond}})
	m, _ := NewMetrics(prometheus.NewRegistry())
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: in, BodyLimit: 1 << 10, Logger: zerolog.Nop(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	deliver := func(id string) (int, string) {
		body := `{"topic":"orders/create","order_id":"` + id + `"}`
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/shop", strings.NewReader(body))
		req.Header.Set("X-Signature", sign(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	ctx := context.Background()
	onReplica := func() int64 { return r.Replica.Client(t).XLen(ctx, in.Stream()).Val() }

	steps := []struct {
		name   string
		before func()
		status int
		reason string
		stored int64 // entries on the replica after the step
	}{
		{"replica up", func() {}, http.StatusOK, "accepted", 1},
		{"replica frozen", r.Replica.Freeze, http.StatusServiceUnavailable, "not_replicated", -1},
		{"replica thawed", r.Replica.Thaw, http.StatusOK, "accepted", 3},
		{"replica dead", r.Replica.Kill, http.StatusServiceUnavailable, "not_replicated", -1},
	}
	for i, s := range steps {
		s.before()
		code, body := deliver(string(rune('1' + i)))
		if code != s.status || !strings.Contains(body, s.reason) {
			t.Fatalf("%s: %d %s, want %d %s", s.name, code, body, s.status, s.reason)
		}
		if s.stored >= 0 {
			if n := onReplica(); n != s.stored {
				t.Fatalf("%s: the replica holds %d entries, want %d", s.name, n, s.stored)
			}
		}
	}
}
