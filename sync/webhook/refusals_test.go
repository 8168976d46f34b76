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
func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
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
	h, err := New(Options{Channel: "shop", Verifier: v, Sink: &fakeSink{}, BodyLimit: 64, Logger: zerolog.Nop(), Metrics: m})
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
