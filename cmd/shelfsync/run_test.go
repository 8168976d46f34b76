package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

// hangGuard bounds waits that only a hang could exceed; it is not a
// performance assertion.
const hangGuard = 60 * time.Second

func writeConfig(t *testing.T, prefix, channels string) string {
	t.Helper()
	cfg := fmt.Sprintf(`redis:
  addr: %s
  key_prefix: %q
http:
  listen: 127.0.0.1:0
locations: [{id: main}]
shutdown_timeout: 10s
%s`, redistest.Addr(), prefix, channels)
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type daemon struct {
	stderr *syncBuffer
	cancel context.CancelFunc
	exit   chan int
	base   string
}

// startDaemon runs `run` in-process and waits until it listens.
func startDaemon(t *testing.T, factory connectorFactory, args ...string) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{stderr: &syncBuffer{}, cancel: cancel, exit: make(chan int, 1)}
	go func() { d.exit <- runDaemon(ctx, args, d.stderr, factory) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.exit:
		case <-time.After(hangGuard):
			t.Error("daemon did not stop")
		}
	})
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if addr := listenAddr(d.stderr.String()); addr != "" {
			d.base = "http://" + addr
			return d
		}
		select {
		case code := <-d.exit:
			t.Fatalf("daemon exited %d before listening:\n%s", code, d.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("daemon never listened:\n%s", d.stderr)
	return nil
}

// listenAddr finds the address in the JSON log line "http server listening".
func listenAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l struct{ Message, Addr string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "http server listening" {
			return l.Addr
		}
	}
	return ""
}

func (d *daemon) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.exit:
		d.exit <- code // for Cleanup
		return code
	case <-time.After(hangGuard):
		t.Fatalf("daemon did not stop:\n%s", d.stderr)
		return -1
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRunNoChannels: the daemon with no channels serves health, readiness
// and metrics, and exits 0 when its context ends (what SIGTERM does).
func TestRunNoChannels(t *testing.T) {
	_, prefix := redistest.New(t)
	d := startDaemon(t, (&fakeFactory{}).New, "--config", writeConfig(t, prefix, ""))

	if code, body := httpGet(t, d.base+"/healthz"); code != 200 {
		t.Errorf("healthz %d %s", code, body)
	}
	if code, body := httpGet(t, d.base+"/readyz"); code != 200 || !strings.Contains(body, `"redis"`) {
		t.Errorf("readyz %d %s", code, body)
	}
	code, body := httpGet(t, d.base+"/metrics")
	for _, want := range []string{"shelfsync_build_info{", "go_goroutines", "process_resident_memory_bytes"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics (%d) lack %s", code, want)
		}
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
	if !strings.Contains(d.stderr.String(), `"message":"shelfsync stopped"`) {
		t.Errorf("no clean stop logged:\n%s", d.stderr)
	}
}

const shopChannel = `channels:
  - name: shop
    kind: shopify
    credentials: {access_token: tok}
    webhook: {secrets: [hook-secret]}
    locations: [main]
    shopify: {shop: a.myshopify.com, location_ids: {main: "gid://shopify/Location/1"}}
`

// TestRunWiresConnectors: a channel's webhook lands in the Redis intake,
// its Runner runs with the same sink, and its readiness counts in /readyz.
func TestRunWiresConnectors(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ff := &fakeFactory{}
	d := startDaemon(t, ff.New, "--config", writeConfig(t, prefix, shopChannel), "--log-level", "debug")
	fc := ff.get("shop")
	select {
	case <-fc.started:
	case <-time.After(hangGuard):
		t.Fatal("the connector's Run never started")
	}

	post := func(secret string) int {
		req, _ := http.NewRequest("POST", d.base+"/webhooks/shop", strings.NewReader("order-77"))
		req.Header.Set("X-Test-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != 401 {
		t.Errorf("bad secret: %d", code)
	}
	if code := post("hook-secret"); code != 200 {
		t.Fatalf("good delivery: %d\n%s", code, d.stderr)
	}
	// Both events reached the engine's durable intake, and the engine
	// handled them (this fake can not fetch orders, so they are dropped
	// and counted).
	deadline := time.Now().Add(hangGuard)
	for {
		_, metrics := httpGet(t, d.base+"/metrics")
		ok := true
		for _, want := range []string{
			`shelfsync_events_received_total{channel="shop",kind="order_changed"} 1`,
			`shelfsync_events_received_total{channel="from-runner",kind="order_changed"} 1`,
			`shelfsync_events_dropped_total{channel="shop",kind="order_changed"} 1`,
		} {
			ok = ok && strings.Contains(metrics, want)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events not taken in and handled:\n%s", metrics)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = rdb

	fc.mu.Lock()
	fc.ready = errors.New("token refresh failing")
	fc.mu.Unlock()
	if code, body := httpGet(t, d.base+"/readyz"); code != 503 || !strings.Contains(body, `"channel shop":"token refresh failing"`) {
		t.Errorf("readyz with a channel not ready: %d %s", code, body)
	}
	_, metrics := httpGet(t, d.base+"/metrics")
	for _, want := range []string{
		`shelfsync_webhooks_total{channel="shop",outcome="accepted"} 1`,
		`shelfsync_webhook_verification_failures_total{channel="shop",reason="bad_secret"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
	// Every log line about the channel carries its name and kind.
	if !strings.Contains(d.stderr.String(), `"channel":"shop","kind":"shopify","component":"webhook"`) {
		t.Errorf("no channel sub-logger in:\n%s", d.stderr)
	}
}

// TestRunDrainTimeout: a part that does not stop is given up on after
// the drain timeout, with exit 1.
func TestRunDrainTimeout(t *testing.T) {
	_, prefix := redistest.New(t)
	ff := &fakeFactory{configure: func(f *fakeConnector) { f.ignoreCtx = true }}
	d := startDaemon(t, ff.New, "--config", writeConfig(t, prefix, shopChannel), "--shutdown-timeout", "200ms")
	fc := ff.get("shop")
	defer close(fc.release)
	<-fc.started
	if code := d.stop(t); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(d.stderr.String(), "drain timed out") {
		t.Errorf("no drain timeout logged:\n%s", d.stderr)
	}
}

// TestRunRefusesToStart: every problem found before start exits with
// nothing listening.
func TestRunRefusesToStart(t *testing.T) {
	_, prefix := redistest.New(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("channels: [{name: x, kind: etsy}]\nlog: {level: loud}\n"), 0o600)
	refused := strings.Replace(shopChannel, "name: shop", "name: refused", 1)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no config flag", nil, 2, []string{"--config is required"}},
		{"missing file", []string{"--config", "nope.yaml"}, 2, []string{"nope.yaml: 1 problem(s)"}},
		{"bad config, every problem", []string{"--config", bad}, 2, []string{`unknown channel kind "etsy"`, `got "loud"`, "at least one location"}},
		{"connector refuses", []string{"--config", writeConfig(t, prefix, refused)}, 2, []string{"channel refused: shop: not a myshopify.com domain"}},
		{"bad log format flag", []string{"--config", writeConfig(t, prefix, ""), "--log-format", "xml"}, 2, []string{`log format "xml"`}},
		{"negative shutdown", []string{"--config", writeConfig(t, prefix, ""), "--shutdown-timeout", "-1s"}, 2, []string{"must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			code := runDaemon(context.Background(), tt.args, &stderr, (&fakeFactory{}).New)
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "listening") {
				t.Error("something started")
			}
		})
	}
}

// TestRunUnregisteredKind: with the real registry, a kind no connector
// registered is a clear error before anything starts.
func TestRunUnregisteredKind(t *testing.T) {
	_, prefix := redistest.New(t)
	var stderr syncBuffer
	factory := func(d connectors.Deps) (connectors.Connector, error) {
		d.Channel.Kind = "not-linked-in" // a kind this binary has no connector for
		return connectors.New(d)
	}
	code := runDaemon(context.Background(), []string{"--config", writeConfig(t, prefix, shopChannel)}, &stderr, factory)
	if code != 2 || !strings.Contains(stderr.String(), `channel shop: no connector of kind "not-linked-in"`) {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
}

// TestBinarySIGTERM builds the real binary, starts it, waits for /healthz,
// sends SIGTERM and expects exit 0: the signal path main.go wires.
func TestBinarySIGTERM(t *testing.T) {
	_, prefix := redistest.New(t)
	bin := buildBinary(t)
	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "run", "--config", writeConfig(t, prefix, ""))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	var addr string
	for deadline := time.Now().Add(hangGuard); addr == "" && time.Now().Before(deadline); {
		addr = listenAddr(stderr.String())
		time.Sleep(10 * time.Millisecond)
	}
	if addr == "" {
		t.Fatalf("never listened:\n%s", stderr)
	}
	if code, _ := httpGet(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr)
		}
	case <-time.After(hangGuard):
		t.Fatalf("no exit after SIGTERM:\n%s", stderr)
	}
}

// TestRunShopifyExample runs deploy/examples/shopify.yaml (moved to a free
// port and a test key prefix) with the connectors linked into this binary:
// it starts, answers /healthz, /readyz (503: the example's token is never
// accepted) and /metrics, and exits 0 when told to stop.
func TestRunShopifyExample(t *testing.T) {
	_, prefix := redistest.New(t)
	b, err := os.ReadFile("../../deploy/examples/shopify.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(`listen: ":8080"`, "listen: 127.0.0.1:0", `key_prefix: "shelfsync:"`, fmt.Sprintf("key_prefix: %q", prefix),
		"addr: 127.0.0.1:6379", "addr: "+redistest.Addr()).Replace(string(b))
	if !strings.Contains(text, "127.0.0.1:0") || !strings.Contains(text, prefix) {
		t.Fatal("the example's listen or key_prefix line changed; update this test")
	}
	dir := t.TempDir()
	secrets, _ := filepath.Abs("../../deploy/examples/secrets")
	if err := os.Symlink(secrets, filepath.Join(dir, "secrets")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shopify.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, connectors.New, "--config", path)
	if code, _ := httpGet(t, d.base+"/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	// The example's credentials are fake: the channel never accepts them,
	// and readiness says so (the daemon serves on regardless).
	if code, body := httpGet(t, d.base+"/readyz"); code != 503 || !strings.Contains(body, `"channel shopify":"credentials not accepted since start`) {
		t.Errorf("readyz %d %s", code, body)
	}
	if code, body := httpGet(t, d.base+"/metrics"); code != 200 || !strings.Contains(body, "shelfsync_build_info{") {
		t.Errorf("metrics %d", code)
	}
	// An unsigned delivery reaches the real connector's verifier.
	resp, err := http.Post(d.base+"/webhooks/shopify", "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned Shopify delivery: %d, want 401", resp.StatusCode)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
}

// TestRunPartFails: a connector loop that can not go on stops the whole
// daemon (the server drains too) with exit 1 and the reason logged.
func TestRunPartFails(t *testing.T) {
	_, prefix := redistest.New(t)
	ff := &fakeFactory{configure: func(f *fakeConnector) { f.runErr = errors.New("queue deleted") }}
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runDaemon(context.Background(), []string{"--config", writeConfig(t, prefix, shopChannel)}, &stderr, ff.New)
	}()
	select {
	case code := <-done:
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, stderr.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("the daemon kept running after a part failed")
	}
	for _, want := range []string{`"error":"channel shop: queue deleted"`, "http server drained"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, stderr.String())
		}
	}
}

// buildBinary builds this command into a test's temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shelfsync")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryDemoSecondInterrupt: the first Ctrl-C stops the demo's orders
// and starts its convergence check (which may wait minutes); a repeated
// SIGTERM does not cut it short, a second Ctrl-C ends the process at once,
// as a user pressing Ctrl-C twice expects.
func TestBinaryDemoSecondInterrupt(t *testing.T) {
	bin := buildBinary(t)
	out := &syncBuffer{}
	cmd := exec.Command(bin, "demo", "--listen", "127.0.0.1:0", "--rate", "20")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	waitOutput := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(hangGuard); !strings.Contains(out.String(), what); {
			select {
			case err := <-exited:
				t.Fatalf("exited (%v) before %q:\n%s", err, what, out)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q:\n%s", what, out)
			}
		}
	}
	waitOutput("until Ctrl-C")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitOutput("Ctrl-C again to quit now")
	// A repeated SIGTERM (some supervisors send two) is ignored: had it
	// ended the process, the exit below would name SIGTERM.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("the second interrupt ended the demo with %v, want death by SIGINT\n%s", err, out)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Fatalf("the demo ended with %v, want death by SIGINT (a second SIGTERM must not end it)\n%s", err, out)
		}
	case <-time.After(hangGuard):
		t.Fatalf("no exit after the second interrupt:\n%s", out)
	}
}
