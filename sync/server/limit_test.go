package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
)

// hangGuard bounds waits only a hang could exceed; it is not a
// performance assertion.
const hangGuard = 60 * time.Second

// readBody answers 200 with the length of the body it read, 413 when the
// read hit the server's limit, 400 on any other read error: what the
// webhook receiver and the admin API do with a body.
func readBody(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
	default:
		fmt.Fprintf(w, "%d", len(b))
	}
}

// rawPost sends only the head of a request (its body never follows, as a
// client waiting for "100 Continue" or an attacker would) and reads the
// answer, within hangGuard.
func rawPost(t *testing.T, addr, target string, contentLength int64) (*http.Response, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(hangGuard))
	start := time.Now()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: shelfsync\r\nContent-Type: application/json\r\nAuthorization: Bearer x\r\nContent-Length: %d\r\n\r\n", target, contentLength)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body of %d bytes at %s (after %v): %v", contentLength, target, time.Since(start), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, time.Since(start)
}

// TestBodyLimitFromHeader: a request declaring a Content-Length over
// http.body_limit is answered 413 from its head, before any of the body
// is read (none is ever sent here), on every route (webhooks, the admin
// API, a path nothing serves), and the connection is closed after it.
// The server's read timeout is far longer than the guard: a server that
// waits for the body gives no answer in time.
func TestBodyLimitFromHeader(t *testing.T) {
	h := config.Default().HTTP
	h.Listen = "127.0.0.1:0"
	h.BodyLimit = 1 << 10
	h.ReadTimeout = 10 * time.Minute
	h.WriteTimeout = 10 * time.Minute
	reg := prometheus.NewRegistry()
	s, err := New(Options{HTTP: h, Registry: reg, Logger: zerolog.Nop(), ShutdownTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Mount("POST /webhooks/{channel}", http.HandlerFunc(readBody))
	s.Mount("/api/v1/", http.HandlerFunc(readBody))
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	addr := s.Addr().String()

	tests := []struct {
		name          string
		target        string
		contentLength int64
		want          int
	}{
		{"webhook, huge", "/webhooks/shop", 1 << 40, 413},
		{"webhook, one byte over", "/webhooks/shop", 1<<10 + 1, 413},
		{"webhook, 200 KiB (net/http drains up to 256 KiB before answering)", "/webhooks/shop", 200 << 10, 413},
		{"admin API, huge", "/api/v1/stock/sku-1/adjust", 1 << 40, 413},
		{"no such route, huge", "/nope", 1 << 40, 413},
		{"no such route, small over", "/nope", 2 << 10, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, took := rawPost(t, addr, tt.target, tt.contentLength)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d after %v, want %d", resp.StatusCode, took, tt.want)
			}
			if !resp.Close {
				t.Error("the connection stays open with the unread body on it")
			}
			t.Logf("answered in %v", took)
		})
	}
	_, metrics := get(t, "http://"+addr+"/metrics")
	want := `shelfsync_http_requests_total{code="413",handler="POST /webhooks/{channel}",method="post"} 3`
	if !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s", want)
	}
}

// TestBodyLimitStreaming: a body of unknown length (chunked) is cut at
// the limit while it is read; one within the limit reaches the handler
// whole, declared or chunked.
func TestBodyLimitStreaming(t *testing.T) {
	s, base := newTestServer(t, time.Second)
	s.opt.HTTP.BodyLimit = 1 << 10
	s.Mount("POST /webhooks/{channel}", http.HandlerFunc(readBody))
	serve(t, s)
	tests := []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"chunked over the limit", 4 << 10, true, 413},
		{"chunked within", 1 << 10, true, 200},
		{"declared within", 1 << 10, false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(strings.Repeat("x", tt.size))
			if tt.chunked {
				body = io.MultiReader(body) // no length: sent chunked
			}
			resp, err := http.Post(base+"/webhooks/shop", "application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.want)
			}
			if tt.want == 200 && string(b) != fmt.Sprint(tt.size) {
				t.Errorf("the handler read %s bytes, want %d", b, tt.size)
			}
		})
	}
}
