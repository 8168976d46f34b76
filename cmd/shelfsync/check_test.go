package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

// startRedis starts a redis-server of its own on a free port in
// 7300-7399 with args (persistence, eviction) and returns its address;
// it is stopped when the test ends. The shared test Redis can not serve
// here: its AOF and eviction settings are not the test's to choose.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (make test installs it): %v", err)
	}
	for port := 7300 + os.Getpid()%100; ; port++ {
		if port > 7399 {
			port = 7300
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		all := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir(), "--protected-mode", "no"}, args...)
		cmd := exec.Command(bin, all...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting redis-server: %v", err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if pingUntil(addr, 10*time.Second) {
			return addr
		}
		t.Fatalf("redis-server on %s does not answer", addr)
	}
}

// pingUntil pings addr until it answers or bound passes (a hang guard,
// not a timing assertion).
func pingUntil(addr string, bound time.Duration) bool {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for end := time.Now().Add(bound); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if rdb.Ping(context.Background()).Err() == nil {
			return true
		}
	}
	return false
}

// fakesCheckConfig is a config of every simulated channel's fake (started here,
// closed when the test ends) against Redis at addr; mutate may change a
// channel before the config is checked and written.
func fakesCheckConfig(t *testing.T, addr string, mutate func(*config.Channel)) string {
	t.Helper()
	cfg := config.Default()
	cfg.Redis.Addr = addr
	cfg.Locations = []config.Location{{ID: "main"}}
	for _, name := range sim.Channels() {
		fake, err := sim.Start(name, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fake.Close)
		ch, err := fake.Config(sim.Env{Name: name, Listen: "127.0.0.1:1", Locations: []string{"main"}})
		if err != nil {
			t.Fatal(err)
		}
		ch.Locations = []string{"main"}
		if mutate != nil {
			mutate(&ch)
		}
		cfg.Channels = append(cfg.Channels, ch)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	text, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheck: `shelfsync check` against the four fakes and a Redis of its
// own: every line ok with AOF on and noeviction (exit 0); a fail line
// with what to do for AOF off, an evicting policy, a channel that
// refuses its credentials, a Redis that does not answer (exit 1).
func TestCheck(t *testing.T) {
	channels := sim.Channels()
	if len(channels) == 0 {
		t.Fatal("no simulated channels linked")
	}
	// every simulated channel's line, ok: the demo names each channel
	// after its kind
	accepted := make([]string, len(channels))
	for i, name := range channels {
		accepted[i] = "ok    channel " + name + " (" + name + "): credentials accepted"
	}
	with := func(lines ...string) []string { return append(lines, accepted...) }
	good := startRedis(t, "--appendonly", "yes", "--maxmemory-policy", "noeviction")
	loose := startRedis(t, "--appendonly", "no", "--maxmemory-policy", "allkeys-lru")
	wrongToken := func(ch *config.Channel) {
		if ch.Kind == "shopify" {
			ch.Credentials.AccessToken = config.NewSecret("shpat_REVOKED_TOKEN")
		}
	}
	tests := []struct {
		name   string
		addr   string
		mutate func(*config.Channel)
		code   int
		want   []string
		not    []string
	}{
		{"all good", good, nil, 0, with(
			"ok    redis: answers PING", "ok    redis version", "ok    redis persistence: AOF on",
			"ok    redis maxmemory-policy: noeviction", "ok    redis functions: the ledger's order-line library is loaded",
			"all checks passed"), []string{"fail"}},
		{"AOF off, evicting", loose, nil, 1, with(
			"fail  redis persistence: AOF off", "-> set `appendonly yes`",
			`fail  redis maxmemory-policy: "allkeys-lru"`, "-> set `maxmemory-policy noeviction`",
			"2 check(s) failed"), nil},
		{"credentials refused", good, wrongToken, 1, []string{
			"fail  channel shopify (shopify): ", "access token is refused", "-> check the channel's credentials",
			"ok    channel ebay (ebay): credentials accepted", "1 check(s) failed"}, []string{"shpat_REVOKED_TOKEN"}},
		{"redis down", "127.0.0.1:1", nil, 1, with("fail  redis: ", "-> start Redis"),
			[]string{"redis version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fakesCheckConfig(t, tt.addr, tt.mutate)
			var stdout, stderr bytes.Buffer
			code := check(context.Background(), []string{"--config", path, "--timeout", "20s"}, &stdout, &stderr, registeredOrFake)
			out := stdout.String()
			t.Logf("shelfsync check:\n%s%s", out, stderr.String())
			if code != tt.code {
				t.Fatalf("exit %d, want %d:\n%s%s", code, tt.code, out, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out+stderr.String(), n) {
					t.Errorf("output holds %q:\n%s", n, out)
				}
			}
		})
	}
}

// TestJudgeRedisVersion: 6.2 and later pass, older or unreadable fail.
func TestJudgeRedisVersion(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"6.2.0", true}, {"7.0.15", true}, {"8.0.2", true}, {"10.1.0", true},
		{"6.0.20", false}, {"5.0.14", false}, {"", false}, {"seven", false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		r := &report{w: &buf}
		judgeRedis(map[string]string{"redis_version": tt.version, "aof_enabled": "1", "maxmemory_policy": "noeviction"}, r)
		if got := r.failed == 0; got != tt.ok {
			t.Errorf("version %q: ok %v, want %v:\n%s", tt.version, got, tt.ok, buf.String())
		}
	}
}

// TestCheckUsage: no config is bad usage; a config that does not load
// is exit 2 with nothing else checked.
func TestCheckUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := check(context.Background(), nil, &stdout, &stderr, registeredOrFake); code != 2 {
		t.Errorf("no --config: exit %d", code)
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("channels: [{name: x}]\n"), 0o600)
	stdout.Reset()
	if code := check(context.Background(), []string{"--config", path}, &stdout, &stderr, registeredOrFake); code != 2 || stdout.Len() != 0 {
		t.Errorf("bad config: exit %d, stdout %q", code, stdout.String())
	}
}
