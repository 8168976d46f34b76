package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/status"
)

// accessConn is a connector whose access check answers what the test
// says, counting its calls.
type accessConn struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (c *accessConn) Kind() string { return "shopify" }

func (c *accessConn) Check(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return c.err
}

func (c *accessConn) set(err error) (calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	return c.calls
}

func (c *accessConn) called() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

var _ connectors.AccessChecker = (*accessConn)(nil)

// readinessRig is the daemon's wiring (no engine: the test feeds the
// health as the engine's status board would) with its admin handler.
type readinessRig struct {
	w    *wiring
	conn *accessConn
	url  string
}

func newReadinessRig(t *testing.T, redisAddr, bound string) *readinessRig {
	t.Helper()
	text := fmt.Sprintf("redis: {addr: %q}\nhttp: {listen: 127.0.0.1:0, ready_failing_after: %s}\nlocations: [{id: main}]\n%s", redisAddr, bound, shopChannel)
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	conn := &accessConn{err: errors.New("HTTP 401: the access token is refused")}
	w, code := wire(cfg, zerolog.Nop(), func(connectors.Deps) (connectors.Connector, error) { return conn, nil }, io.Discard)
	if w == nil {
		t.Fatalf("wire: exit %d", code)
	}
	t.Cleanup(func() { w.rdb.Close() })
	w.accessRetry = time.Millisecond
	srv := httptest.NewServer(w.srv.AdminHandler())
	t.Cleanup(srv.Close)
	return &readinessRig{w: w, conn: conn, url: srv.URL + "/readyz"}
}

// readyz returns /readyz's status and failures.
func (r *readinessRig) readyz(t *testing.T) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(r.url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Failures map[string]string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Failures
}

// waitFor polls cond within hangGuard (not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(hangGuard); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("never: %s", what)
		}
	}
}

// TestReadiness: /readyz is 503 naming a channel that has not accepted
// its credentials since start (with the refusal), 200 once its access
// check passes, 503 again when its push keeps failing beyond
// http.ready_failing_after, 200 when the push recovers; /healthz stays 200
// throughout.
func TestReadiness(t *testing.T) {
	r := newReadinessRig(t, redistest.Addr(), "1ms")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	code, failures := r.readyz(t)
	if code != 503 || !strings.Contains(failures["channel shop"], "credentials not accepted since start") {
		t.Fatalf("before any access check: %d %v", code, failures)
	}
	startAccessChecks(ctx, r.w)
	waitFor(t, "a refused access check", func() bool { return r.conn.called() >= 2 })
	code, failures = r.readyz(t)
	if code != 503 || !strings.Contains(failures["channel shop"], "credentials not accepted since start: HTTP 401: the access token is refused") {
		t.Fatalf("credentials refused: %d %v", code, failures)
	}

	r.conn.set(nil)
	waitFor(t, "the access check to pass", func() bool { c, _ := r.readyz(t); return c == 200 })

	pushDown := errors.New("shopify ShelfsyncSetQuantities: HTTP 503")
	r.w.health.Observe("shop", "push", pushDown) // as the status board does
	time.Sleep(5 * time.Millisecond)             // past the 1ms bound
	code, failures = r.readyz(t)
	if code != 503 || !strings.Contains(failures["channel shop"], "push failing for") || !strings.Contains(failures["channel shop"], "HTTP 503") {
		t.Fatalf("push failing beyond the bound: %d %v", code, failures)
	}
	if c, _ := httpGet(t, strings.TrimSuffix(r.url, "/readyz")+"/healthz"); c != 200 {
		t.Errorf("healthz %d while not ready: liveness must not follow readiness", c)
	}
	r.w.health.Observe("shop", "push", nil)
	if code, failures = r.readyz(t); code != 200 {
		t.Fatalf("push recovered: %d %v", code, failures)
	}
}

// TestReadinessRedisDown: Redis not answering PING is a 503 naming redis,
// whatever the channels say.
func TestReadinessRedisDown(t *testing.T) {
	r := newReadinessRig(t, "127.0.0.1:1", "5m")
	r.w.health.Observe("shop", status.JobAccess, nil)
	code, failures := r.readyz(t)
	if code != 503 || failures["redis"] == "" {
		t.Fatalf("redis down: %d %v", code, failures)
	}
	if _, bad := failures["channel shop"]; bad {
		t.Errorf("the channel is ready, yet named: %v", failures)
	}
}

// pushConn is a channel whose pushes fail while the test says so; its
// access check passes.
type pushConn struct {
	mu     sync.Mutex
	failed error
	pushes int
}

func (c *pushConn) Kind() string                { return "shopify" }
func (c *pushConn) Check(context.Context) error { return nil }
func (c *pushConn) MaxBatch() int               { return 50 }

func (c *pushConn) PushQuantities(_ context.Context, updates []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pushes++
	if c.failed != nil {
		return nil, c.failed
	}
	out := make([]connectors.PushResult, len(updates))
	for i, u := range updates {
		out[i] = connectors.PushResult{SKU: u.SKU, Status: connectors.PushAccepted}
	}
	return out, nil
}

func (c *pushConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = err
}

// TestReadinessFollowsThePusher: the running daemon's pushes reach its
// readiness through the engine's status board: a push failing beyond
// http.ready_failing_after makes /readyz 503 naming the channel and the
// push's error, and the push succeeding again makes it 200.
func TestReadinessFollowsThePusher(t *testing.T) {
	_, prefix := redistest.New(t)
	path := writeConfig(t, prefix, shopChannel)
	writeFile(t, path, strings.Replace(mustRead(t, path), "http:\n  listen: 127.0.0.1:0\n", "http:\n  listen: 127.0.0.1:0\n  ready_failing_after: 1ms\n", 1))
	conn := &pushConn{}
	d := startDaemon(t, func(connectors.Deps) (connectors.Connector, error) { return conn, nil }, "--config", path)
	ready := func() (int, string) { return httpGet(t, d.base+"/readyz") }
	waitFor(t, "ready after the access check", func() bool { c, _ := ready(); return c == 200 })

	conn.fail(errors.New("shopify ShelfsyncSetQuantities: HTTP 502"))
	if code, _, stderr := runCLI("stock", "set", "READY-1", "--location", "main", "--on-hand", "3", "--redis", redistest.Addr(), "--prefix", prefix); code != 0 {
		t.Fatalf("stock set: %d %s", code, stderr)
	}
	var body string
	waitFor(t, "503 naming the failing push", func() bool {
		var c int
		c, body = ready()
		return c == 503 && strings.Contains(body, `"channel shop":"push failing for`) && strings.Contains(body, "HTTP 502")
	})
	conn.fail(nil)
	waitFor(t, "ready once the push succeeds", func() bool { c, _ := ready(); return c == 200 })
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
}
