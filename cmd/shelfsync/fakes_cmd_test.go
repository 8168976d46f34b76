//go:build !nosim

package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/demo"
)

// TestFakesFeedASeparateDaemon: `fakes` seeds the catalogue and writes a
// config that `run` starts from; its orders reach that daemon and are
// applied.
func TestFakesFeedASeparateDaemon(t *testing.T) {
	_, prefix := redistest.New(t)
	listen, _, err := freeListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- dispatch(context.Background(), []string{"fakes", "--skus", "30", "--rate", "20", "--duration", "3s",
			"--redis", redistest.Addr(), "--key-prefix", prefix, "--listen", listen, "--write-config", path,
			"--log-level", "error"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(hangGuard)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("fakes exited %d before writing the config:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no config written")
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file mode %v (%v), want 0600: it holds secrets", fi.Mode(), err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if cfg.Redis.KeyPrefix != prefix || cfg.HTTP.Listen != listen || len(cfg.Channels) != len(demo.ChannelNames()) || !cfg.HTTP.AdminToken.IsSet() {
		t.Fatalf("config: prefix %q listen %q %d channels admin token %v", cfg.Redis.KeyPrefix, cfg.HTTP.Listen, len(cfg.Channels), cfg.HTTP.AdminToken.IsSet())
	}

	d := startDaemon(t, connectors.New, "--config", path, "--log-format", "json", "--log-level", "info")
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("fakes exit %d\nstdout:\n%s\nstderr:\n%s\ndaemon:\n%s", code, stdout.String(), stderr.String(), d.stderr)
		}
	case <-time.After(hangGuard):
		t.Fatal("fakes did not stop after --duration")
	}
	out := stdout.String()
	for _, ch := range demo.ChannelNames() {
		m := regexp.MustCompile(`(?m)^` + ch + ` +orders (\d+) .* failed 0$`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Errorf("no orders on %s, or failed deliveries:\n%s", ch, out)
		}
	}
	applied, err := scrapeCounter(context.Background(), http.DefaultClient, d.base+"/metrics", appliedMetric)
	if err != nil {
		t.Fatal(err)
	}
	if applied == 0 {
		t.Fatalf("the daemon applied no event; fakes said:\n%s", out)
	}
}

func TestFakesRefuses(t *testing.T) {
	rdb, used := redistest.New(t)
	if err := rdb.Set(context.Background(), used+"s:SKU-1", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no config file", []string{"--skus", "5"}, "--write-config is required"},
		{"no SKUs", []string{"--skus", "0", "--write-config", path}, "--skus"},
		{"short reconcile", []string{"--reconcile", "10ms", "--write-config", path}, "--reconcile"},
		{"stray argument", []string{"--write-config", path, "extra"}, "unexpected argument"},
		{"a prefix in use", []string{"--skus", "5", "--rate", "0", "--redis", redistest.Addr(), "--key-prefix", used, "--write-config", path},
			"already holds keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			if code := dispatch(context.Background(), append([]string{"fakes"}, tc.args...), &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if _, err := os.Stat(path); err == nil {
				t.Fatal("a config was written")
			}
		})
	}
}
