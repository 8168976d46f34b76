package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

// listenerAddrs finds each listener's address in the JSON log lines
// "http server listening".
func listenerAddrs(logs string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l struct{ Message, Addr, Listener string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "http server listening" {
			out[l.Listener] = l.Addr
		}
	}
	return out
}

// TestRunAdminListen: with http.admin_listen the daemon's public listener
// serves only the webhooks, and the admin listener the admin API,
// /healthz, /readyz and /metrics; without it (every other run test) one
// listener serves all.
func TestRunAdminListen(t *testing.T) {
	_, prefix := redistest.New(t)
	path := writeConfig(t, prefix, shopChannel)
	cfg := strings.Replace(mustRead(t, path), "http:\n  listen: 127.0.0.1:0\n", "http:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n  admin_token: tok-admin\n", 1)
	writeFile(t, path, cfg)
	d := startDaemon(t, (&fakeFactory{}).New, "--config", path)
	var addrs map[string]string
	waitFor(t, "both listeners", func() bool { addrs = listenerAddrs(d.stderr.String()); return addrs["admin"] != "" })
	pub, adm := "http://"+addrs["http"], "http://"+addrs["admin"]
	if pub == adm || d.base != pub {
		t.Fatalf("listeners %v, base %s", addrs, d.base)
	}
	tests := []struct {
		method, url string
		want        int
	}{
		{"POST", pub + "/webhooks/shop", 401}, // reached the receiver: no secret
		{"GET", pub + "/healthz", 404},
		{"GET", pub + "/readyz", 404},
		{"GET", pub + "/metrics", 404},
		{"GET", pub + "/api/v1/channels", 404},
		{"GET", adm + "/healthz", 200},
		{"GET", adm + "/readyz", 200},
		{"GET", adm + "/metrics", 200},
		{"GET", adm + "/api/v1/channels", 401}, // mounted: the token is missing
		{"POST", adm + "/webhooks/shop", 404},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.url, resp.StatusCode, tt.want)
		}
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
	for _, base := range []string{pub, adm} {
		c := http.Client{Timeout: 5 * time.Second}
		if _, err := c.Get(base + "/healthz"); err == nil {
			t.Errorf("%s answers after the daemon stopped", base)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
