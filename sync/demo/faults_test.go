package demo

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultProxy: requests pass through untouched until faults are queued;
// a burst answers its status that many times without reaching the fake
// (429 with Retry-After), and a timeout reaches the fake but answers
// nothing before the client gives up. Then requests pass again.
func TestFaultProxy(t *testing.T) {
	var hits atomic.Int64
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer fake.Close()
	p, err := NewFaultProxy(fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Timeout: 300 * time.Millisecond}
	get := func() (int, string, error) {
		resp, err := client.Get(p.URL() + "/admin/api/graphql.json")
		if err != nil {
			return 0, "", err
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After"), nil
	}
	p.Burst(http.StatusInternalServerError, 2)
	p.Burst(http.StatusTooManyRequests, 1)
	p.Timeouts(1, time.Minute)
	steps := []struct {
		name       string
		status     int
		retryAfter string
		timeout    bool
		hits       int64 // requests the fake has seen after the step
	}{
		{name: "500 #1", status: 500, hits: 0},
		{name: "500 #2", status: 500, hits: 0},
		{name: "429", status: 429, retryAfter: "1", hits: 0},
		{name: "timeout reaches the fake", timeout: true, hits: 1},
		{name: "passes again", status: 200, hits: 2},
	}
	for _, s := range steps {
		code, ra, err := get()
		var ne interface{ Timeout() bool }
		switch {
		case s.timeout:
			if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("%s: got %d %v, want a client timeout", s.name, code, err)
			}
		case err != nil || code != s.status || ra != s.retryAfter:
			t.Fatalf("%s: got %d (Retry-After %q) %v, want %d (%q)", s.name, code, ra, err, s.status, s.retryAfter)
		}
		if h := hits.Load(); h != s.hits {
			t.Fatalf("%s: the fake saw %d requests, want %d", s.name, h, s.hits)
		}
	}
	inj := p.Injected()
	if inj["500"] != 2 || inj["429"] != 1 || inj["timeout"] != 1 || p.Passed() != 1 {
		t.Fatalf("injected %v passed %d", inj, p.Passed())
	}
}

// TestFaultProxiesFrontEveryChannel: every channel's api_url points at its
// proxy, and the proxy reaches that channel's fake.
func TestFaultProxiesFrontEveryChannel(t *testing.T) {
	fakes := StartFakes(0, AmazonRaised)
	defer fakes.Close()
	cfg, err := Config(fakes, ConfigOptions{RedisAddr: "127.0.0.1:1", KeyPrefix: "unused:", Listen: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := FaultProxies(fakes, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(proxies) != len(ChannelNames()) || len(proxies) == 0 {
		t.Fatalf("%d proxies for channels %v", len(proxies), ChannelNames())
	}
	for _, ch := range cfg.Channels {
		p := proxies[ch.Name]
		if p == nil || ch.APIURL != p.URL() || ch.APIURL == fakes.Channel(ch.Name).URL() {
			t.Fatalf("%s: api_url %q, proxy %v", ch.Name, ch.APIURL, p)
		}
		resp, err := http.Get(p.URL() + "/")
		if err != nil {
			t.Fatalf("%s: %v", ch.Name, err)
		}
		resp.Body.Close()
		if p.Passed() != 1 {
			t.Fatalf("%s: proxy passed %d requests", ch.Name, p.Passed())
		}
		p.Close()
	}
	if err := cfg.Check(); err != nil {
		t.Fatalf("config with proxies: %v", err)
	}
}
