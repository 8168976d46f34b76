package demo

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/shelfsync/shelfsync/config"
)

// FaultProxy stands between the daemon and one fake marketplace's API and
// passes every request through, except when told to fail some: a burst of
// answers with an error status (500, 503, 429 with Retry-After: 1), or
// requests that time out — passed to the fake (which applies them) but
// answered only after hold, or never if the client gives up first, as
// when a marketplace's answer is lost on the way. The chaos suite
// (sync/chaos) uses it for the channels' faults.
type FaultProxy struct {
	srv *httptest.Server
	rp  *httputil.ReverseProxy

	mu       sync.Mutex
	queue    []injected // faults for the next requests, in order
	injected map[string]int64
	passed   int64
}

// injected is one request's fault: an error status, or a hold.
type injected struct {
	status int
	hold   time.Duration
}

// NewFaultProxy starts a proxy in front of target (a fake's base URL).
func NewFaultProxy(target string) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("fault proxy target %q: %w", target, err)
	}
	p := &FaultProxy{rp: httputil.NewSingleHostReverseProxy(u), injected: map[string]int64{}}
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // a timed-out client is the point, not news
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p, nil
}

// URL is the proxy's base URL: the daemon's api_url for the channel.
func (p *FaultProxy) URL() string { return p.srv.URL }

// Close stops the proxy.
func (p *FaultProxy) Close() { p.srv.Close() }

// Burst makes the next n requests fail with status (a 429 carries
// Retry-After: 1) without reaching the fake.
func (p *FaultProxy) Burst(status, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.queue = append(p.queue, injected{status: status})
	}
}

// Timeouts makes the next n requests time out: each reaches the fake, but
// its answer is held back for hold (or until the client gives up), then
// replaced by a 504.
func (p *FaultProxy) Timeouts(n int, hold time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.queue = append(p.queue, injected{hold: hold})
	}
}

// Injected counts the faults served so far by kind ("500", "429",
// "timeout"), and Passed the requests passed through untouched.
func (p *FaultProxy) Injected() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int64, len(p.injected))
	for k, v := range p.injected {
		out[k] = v
	}
	return out
}

// Passed is how many requests went through without a fault.
func (p *FaultProxy) Passed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed
}

// next takes the next request's fault (ok false: none).
func (p *FaultProxy) next() (injected, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		p.passed++
		return injected{}, false
	}
	f := p.queue[0]
	p.queue = p.queue[1:]
	if f.hold > 0 {
		p.injected["timeout"]++
	} else {
		p.injected[strconv.Itoa(f.status)]++
	}
	return f, true
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := p.next()
	switch {
	case !ok:
		p.rp.ServeHTTP(w, r)
	case f.hold > 0:
		p.rp.ServeHTTP(discard{header: http.Header{}}, r)
		t := time.NewTimer(f.hold)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
			http.Error(w, `{"errors":"gateway timeout (injected)"}`, http.StatusGatewayTimeout)
		}
	default:
		_, _ = io.Copy(io.Discard, r.Body)
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = fmt.Fprintf(w, `{"errors":"injected %d"}`, f.status)
	}
}

// discard is a ResponseWriter that drops the fake's answer.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// FaultProxies starts a FaultProxy in front of every channel of cfg that
// has a fake in f, and points the channel's api_url at it. Close them
// when done.
func FaultProxies(f *Fakes, cfg *config.Config) (map[string]*FaultProxy, error) {
	out := map[string]*FaultProxy{}
	for i := range cfg.Channels {
		ch := &cfg.Channels[i]
		fake := f.Channel(ch.Name)
		if fake == nil {
			continue
		}
		p, err := NewFaultProxy(fake.URL())
		if err != nil {
			for _, q := range out {
				q.Close()
			}
			return nil, err
		}
		out[ch.Name] = p
		ch.APIURL = p.URL()
	}
	return out, nil
}
