package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
)

func newTestServer(t *testing.T, shutdown time.Duration) (*Server, string) {
	t.Helper()
	h := config.Default().HTTP
	h.Listen = "127.0.0.1:0"
	s, err := New(Options{
		HTTP: h, Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(),
		Build:           BuildInfo{Version: "1.2.3", Revision: "abc123", GoVersion: "go1.26"},
		ShutdownTimeout: shutdown,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	return s, "http://" + s.Addr().String()
}

// serve runs s until the returned stop is called; stop returns Serve's error.
func serve(t *testing.T, s *Server) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	var once bool
	var result error
	stop = func() error {
		if !once {
			once = true
			cancel()
			result = <-errc
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRoutes(t *testing.T) {
	s, base := newTestServer(t, 5*time.Second)
	var redisDown error
	s.AddCheck("redis", func(context.Context) error { return redisDown })
	s.AddCheck("channel shop", func(context.Context) error { return nil })
	s.Mount("POST /webhooks/{channel}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.PathValue("channel"))
	}))
	stop := serve(t, s)

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}

	code, body := get(t, base+"/readyz")
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 200 || r.Status != "ok" || len(r.Checks) != 2 {
		t.Errorf("readyz: %d %s (%v)", code, body, err)
	}
	redisDown = errors.New("redis ping: connection refused")
	code, body = get(t, base+"/readyz")
	r = readiness{}
	json.Unmarshal([]byte(body), &r)
	if code != 503 || r.Failures["redis"] != "redis ping: connection refused" || len(r.Failures) != 1 {
		t.Errorf("readyz with redis down: %d %s", code, body)
	}

	resp, err := http.Post(base+"/webhooks/shop", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello shop" {
		t.Errorf("mounted route: %d %s", resp.StatusCode, b)
	}
	if code, _ := get(t, base+"/webhooks/shop"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on a POST route: %d", code)
	}
	if code, _ := get(t, base+"/nope"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}

	code, body = get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`shelfsync_build_info{goversion="go1.26",revision="abc123",version="1.2.3"} 1`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
		`shelfsync_http_requests_total{code="200",handler="POST /webhooks/{channel}",method="post"} 1`,
		`shelfsync_http_requests_total{code="503",handler="GET /readyz",method="get"} 1`,
		`shelfsync_http_request_duration_seconds_count{handler="GET /healthz"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}

func TestSlowCheckIsBounded(t *testing.T) {
	s, base := newTestServer(t, 5*time.Second)
	s.opt.CheckTimeout = 50 * time.Millisecond
	s.AddCheck("stuck", func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	serve(t, s)
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "deadline exceeded") {
		t.Fatalf("readyz: %d %s", code, body)
	}
}

// TestDrain: a request in flight when the context ends is answered in
// full, and Serve returns nil once it is.
func TestDrain(t *testing.T) {
	s, base := newTestServer(t, 30*time.Second)
	entered, release := make(chan struct{}), make(chan struct{})
	s.Mount("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	}))
	stop := serve(t, s)
	type result struct {
		code int
		body string
		err  error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resc <- result{code: resp.StatusCode, body: string(b)}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Serve may not return while the request is in flight.
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := <-resc; r.err != nil || r.code != 200 || r.body != "done" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestDrainTimeout(t *testing.T) {
	s, base := newTestServer(t, 50*time.Millisecond)
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s.Mount("GET /stuck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	stop := serve(t, s)
	go http.Get(base + "/stuck")
	<-entered
	if err := stop(); err == nil || !strings.Contains(err.Error(), "http drain") {
		t.Fatalf("Serve with a stuck request: %v, want a drain error", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without a registry")
	}
	reg := prometheus.NewRegistry()
	o := Options{HTTP: config.Default().HTTP, Registry: reg}
	if _, err := New(o); err != nil {
		t.Fatal(err)
	}
	if _, err := New(o); err == nil {
		t.Fatal("a second server on one registry must fail to register")
	}
	s, err := New(Options{HTTP: config.HTTP{Listen: "256.0.0.1:http"}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil {
		t.Fatal("Listen on a bad address")
	}
}
