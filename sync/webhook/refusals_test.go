package webhook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

// hangGuard bounds waits only a hang could exceed; it is not a
// performance assertion.
const hangGuard = 60 * time.Second

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines decodes the JSON log lines written.
func (l *lockedBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// TestDeclaredBodyTooLarge: a delivery whose Content-Length is over the
// limit is answered 413 from its head, before the body (never sent here)
// is read, the connection closed after it, and counted as rejected
// without the verifier seeing it. A receiver that waits for the body
// gives no answer within the guard.
func TestDeclaredBodyTooLarge(t *testing.T) {
	m, _ := NewMetrics(prometheus.NewRegistry())
	v := &fakeVerifier{}
	h, err := New(Options{Channel: "shop", Verifier: v, Sink: &fakeSink{}, BodyLimit: 64, Logger: zerolog.Nop(), Metrics: m, RefusalDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i, contentLength := range []int64{1 << 40, 65, 100 << 10} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close() // before srv.Close, which waits for the handler
		conn.SetDeadline(time.Now().Add(hangGuard))
		fmt.Fprintf(conn, "POST /webhooks/shop HTTP/1.1\r\nHost: shelfsync\r\nX-Signature: %s\r\nContent-Length: %d\r\n\r\n", sign("{}"), contentLength)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("Content-Length %d: no answer: %v", contentLength, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 413 || strings.TrimSpace(string(b)) != `{"error":"body_too_large"}` || !resp.Close {
			t.Errorf("Content-Length %d: %d %s (close %v), want 413 body_too_large and the connection closed", contentLength, resp.StatusCode, b, resp.Close)
		}
		if got := testutil.ToFloat64(m.deliveries.WithLabelValues("shop", ResultRejected)); got != float64(i+1) {
			t.Errorf("rejected %v, want %d", got, i+1)
		}
	}
	if v.calls != 0 {
		t.Errorf("the verifier saw %d deliveries over the limit", v.calls)
	}
}

// TestRefusalLogIsRateLimited: 1000 deliveries with a bad signature write
// a handful of log lines, not 1000, while the metrics count every one.
func TestRefusalLogIsRateLimited(t *testing.T) {
	var logs lockedBuffer
	m, _ := NewMetrics(prometheus.NewRegistry())
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: &fakeSink{}, BodyLimit: 1 << 10, RefusalDelay: -1,
		Logger: zerolog.New(&logs), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"topic":"orders/updated","order_id":"42"}`
	for range 1000 {
		req := httptest.NewRequest("POST", "/webhooks/shop", strings.NewReader(body))
		req.Header.Set("X-Signature", sign("forged"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if got := testutil.ToFloat64(m.failures.WithLabelValues("shop", "bad_signature")); got != 1000 {
		t.Errorf("verification failures %v, want 1000", got)
	}
	if got := testutil.ToFloat64(m.deliveries.WithLabelValues("shop", ResultRejected)); got != 1000 {
		t.Errorf("rejected deliveries %v, want 1000", got)
	}
	lines := logs.lines(t)
	if len(lines) < 1 || len(lines) > 5 {
		t.Fatalf("%d log lines for 1000 refusals, want a handful", len(lines))
	}
	if l := lines[0]; l["message"] != "webhook refused" || l["reason"] != "bad_signature" || l["status"] != 401.0 || l["level"] != "warn" {
		t.Errorf("first line %v", l)
	}
}

// TestRefusalLogWindows: per reason, the first refusal is logged, then
// one a window, saying how many were left out; reasons do not share a
// window, and a clock that goes back opens a new one.
func TestRefusalLogWindows(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	type step struct {
		reason     string
		at         time.Duration // after t0
		logged     bool
		suppressed int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first logged, the rest of the window left out", []step{
			{"bad_signature", 0, true, 0},
			{"bad_signature", time.Second, false, 0},
			{"bad_signature", 9 * time.Second, false, 0},
			{"bad_signature", 10 * time.Second, true, 2},
			{"bad_signature", 11 * time.Second, false, 0},
			{"bad_signature", time.Minute, true, 1},
			{"bad_signature", 2 * time.Minute, true, 0},
		}},
		{"reasons apart", []step{
			{"bad_signature", 0, true, 0},
			{"missing_signature", time.Second, true, 0},
			{"bad_signature", 2 * time.Second, false, 0},
			{"body_too_large", 3 * time.Second, true, 0},
			{"missing_signature", 4 * time.Second, false, 0},
			{"missing_signature", 11 * time.Second, true, 1},
			{"bad_signature", 12 * time.Second, true, 1},
		}},
		{"clock back", []step{
			{"bad_signature", time.Minute, true, 0},
			{"bad_signature", time.Minute + time.Second, false, 0},
			{"bad_signature", 0, true, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLogLimiter(10 * time.Second)
			for i, s := range tt.steps {
				n, ok := l.allow(s.reason, t0.Add(s.at))
				if ok != s.logged || n != s.suppressed {
					t.Errorf("step %d (%s at +%v): logged %v suppressed %d, want %v %d", i, s.reason, s.at, ok, n, s.logged, s.suppressed)
				}
			}
		})
	}
	l := newLogLimiter(0)
	if l.every != DefaultLogEvery {
		t.Errorf("default window %v", l.every)
	}
	for i := range maxLogReasons + 10 {
		l.allow(fmt.Sprintf("reason-%d", i), t0)
	}
	if len(l.last) > maxLogReasons+1 {
		t.Errorf("%d reasons kept apart, want at most %d", len(l.last), maxLogReasons+1)
	}
}

// TestRefusalLogSaysSuppressed: through the handler, the line after a
// window names the refusals left out, with the channel's logger fields.
func TestRefusalLogSaysSuppressed(t *testing.T) {
	var logs lockedBuffer
	clock := now
	m, _ := NewMetrics(prometheus.NewRegistry())
	h, err := New(Options{Channel: "shop", Verifier: &fakeVerifier{}, Sink: &fakeSink{}, BodyLimit: 64, RefusalDelay: -1,
		Logger: zerolog.New(&logs).With().Str("channel", "shop").Logger(), Metrics: m,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body, sig string) {
		req := httptest.NewRequest("POST", "/webhooks/shop", strings.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Signature", sig)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	for range 5 {
		post("{}", sign("x"))
		post(strings.Repeat("x", 100), "")
	}
	clock = clock.Add(DefaultLogEvery)
	post("{}", sign("x"))
	var got []string
	for _, l := range logs.lines(t) {
		got = append(got, fmt.Sprintf("%v %v %v %v", l["channel"], l["reason"], l["message"], l["suppressed"]))
	}
	want := []string{
		"shop bad_signature webhook refused <nil>",
		"shop body_too_large webhook body over the limit <nil>",
		"shop bad_signature webhook refused 4",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
