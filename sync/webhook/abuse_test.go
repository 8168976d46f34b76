package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/server"
)

// abuseConnector verifies deliveries as fakeVerifier does (an HMAC of the
// body in X-Signature), safe for concurrent use, and counts its calls to
// the marketplace: the order fetches and quantity pushes a connector
// makes. A delivery, refused or accepted, must cause none (the receiver
// only verifies and stores); what verification itself may fetch (eBay's
// public keys) is the connector's own test.
type abuseConnector struct {
	parsed   atomic.Int64
	outbound atomic.Int64
}

var (
	_ connectors.WebhookVerifier = (*abuseConnector)(nil)
	_ connectors.OrderFetcher    = (*abuseConnector)(nil)
	_ connectors.QuantityPusher  = (*abuseConnector)(nil)
)

func (c *abuseConnector) Kind() string { return "fake" }

func (c *abuseConnector) ParseWebhook(_ context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	c.parsed.Add(1)
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Signature"))
	if err != nil || len(got) == 0 {
		return nil, connectors.Unauthorized("missing_signature", errors.New("no X-Signature"))
	}
	if !hmac.Equal(got, []byte(mustDecode(sign(string(r.Body))))) {
		return nil, connectors.Unauthorized("bad_signature", errors.New("hmac mismatch"))
	}
	var p struct {
		Topic   string `json:"topic"`
		OrderID string `json:"order_id"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return nil, connectors.Malformed(err)
	}
	return []connectors.Event{{Kind: connectors.EventOrderChanged, Topic: p.Topic, OrderID: p.OrderID}}, nil
}

func (c *abuseConnector) FetchOrder(context.Context, string) (*connectors.Order, error) {
	c.outbound.Add(1)
	return nil, errors.New("the fake marketplace is not there")
}

func (c *abuseConnector) MaxBatch() int { return 50 }

func (c *abuseConnector) PushQuantities(context.Context, []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	c.outbound.Add(1)
	return nil, errors.New("the fake marketplace is not there")
}

// abuseRig is a receiver behind the daemon's real HTTP server, on
// loopback, with a JSON logger at the daemon's default level (info) to a
// buffer.
type abuseRig struct {
	url  string
	conn *abuseConnector
	m    *Metrics
	logs *lockedBuffer
}

func newAbuseRig(tb testing.TB, sink connectors.EventSink) *abuseRig {
	tb.Helper()
	h := config.Default().HTTP
	h.Listen = "127.0.0.1:0"
	srv, err := server.New(server.Options{HTTP: h, Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), ShutdownTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	rig := &abuseRig{conn: &abuseConnector{}, logs: &lockedBuffer{}}
	rig.m, _ = NewMetrics(prometheus.NewRegistry())
	wh, err := New(Options{Channel: "shop", Verifier: rig.conn, Sink: sink, BodyLimit: h.BodyLimit,
		Logger: zerolog.New(rig.logs).Level(zerolog.InfoLevel).With().Timestamp().Str("channel", "shop").Logger(), Metrics: rig.m})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Mount("POST /webhooks/{channel}", wh)
	if err := srv.Listen(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server: %v", err)
		}
	})
	rig.url = "http://" + srv.Addr().String() + "/webhooks/shop"
	return rig
}

// newClient is one sender's HTTP client, keeping up to conns connections.
// Its connections are closed at the end of tb, before the server drains
// (which would wait for those a racing dial left unused).
func newClient(tb testing.TB, conns int) *http.Client {
	c := &http.Client{Timeout: hangGuard, Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}}
	tb.Cleanup(c.CloseIdleConnections)
	return c
}

// post sends one delivery, signed right or not, and returns its status
// and how long the answer took.
func (r *abuseRig) post(c *http.Client, orderID string, valid bool) (int, time.Duration, error) {
	body := fmt.Sprintf(`{"topic":"orders/updated","order_id":%q}`, orderID)
	sig := sign(body)
	if !valid {
		sig = sign(body + " forged")
	}
	req, err := http.NewRequest("POST", r.url, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", sig)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// flood has senders goroutines post bad-signature deliveries back to back
// until stop, which returns how many were sent and every unexpected
// answer.
func (r *abuseRig) flood(tb testing.TB, senders int) (stop func() (sent int64, errs []error)) {
	c := newClient(tb, senders)
	var (
		sent    atomic.Int64
		mu      sync.Mutex
		errs    []error
		wg      sync.WaitGroup
		stopped atomic.Bool
	)
	for i := range senders {
		wg.Go(func() {
			for n := 0; !stopped.Load(); n++ {
				code, _, err := r.post(c, fmt.Sprintf("forged-%d-%d", i, n), false)
				if err == nil && code != http.StatusUnauthorized {
					err = fmt.Errorf("a forged delivery got %d", code)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				sent.Add(1)
			}
		})
	}
	return func() (int64, []error) {
		stopped.Store(true)
		wg.Wait()
		return sent.Load(), errs
	}
}

// check fails tb unless the counters say rejected forged deliveries and
// accepted valid ones, and the connector made no outbound call.
func (r *abuseRig) check(tb testing.TB, rejected, accepted int64) {
	tb.Helper()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"rejected", testutil.ToFloat64(r.m.deliveries.WithLabelValues("shop", ResultRejected)), float64(rejected)},
		{"bad_signature failures", testutil.ToFloat64(r.m.failures.WithLabelValues("shop", "bad_signature")), float64(rejected)},
		{"accepted", testutil.ToFloat64(r.m.deliveries.WithLabelValues("shop", ResultAccepted)), float64(accepted)},
		{"parsed", float64(r.conn.parsed.Load()), float64(rejected + accepted)},
		{"outbound calls", float64(r.conn.outbound.Load()), 0},
	} {
		if c.got != c.want {
			tb.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestAbuseCostsNoOutboundCalls is BenchmarkAbuse sized for a test: 500
// forged deliveries at once with valid ones among them. Every forged one
// is refused 401 and counted, every valid one accepted, the connector
// makes no outbound call and the log holds a handful of lines. No timing
// is asserted.
func TestAbuseCostsNoOutboundCalls(t *testing.T) {
	var stored atomic.Int64
	rig := newAbuseRig(t, sinkFunc(func(events []connectors.Event) error {
		stored.Add(int64(len(events)))
		return nil
	}))
	const forged, valid = 500, 20
	flooders, honest := newClient(t, forged), newClient(t, 1)
	var wg sync.WaitGroup
	errc := make(chan error, forged+valid)
	start := make(chan struct{})
	for i := range forged {
		wg.Go(func() {
			<-start
			if code, _, err := rig.post(flooders, fmt.Sprintf("forged-%d", i), false); err != nil || code != 401 {
				errc <- fmt.Errorf("forged delivery %d: %d %v", i, code, err)
			}
		})
	}
	wg.Go(func() {
		<-start
		for i := range valid {
			if code, _, err := rig.post(honest, fmt.Sprintf("order-%d", i), true); err != nil || code != 200 {
				errc <- fmt.Errorf("valid delivery %d: %d %v", i, code, err)
			}
		}
	})
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	rig.check(t, forged, valid)
	if stored.Load() != valid {
		t.Errorf("%d events stored, want %d", stored.Load(), valid)
	}
	if lines := rig.logs.lines(t); len(lines) > 5 {
		t.Errorf("%d log lines for %d forged deliveries, want a handful", len(lines), forged)
	}
}

type sinkFunc func([]connectors.Event) error

func (f sinkFunc) Put(_ context.Context, events []connectors.Event) error { return f(events) }

// p99 is the 99th percentile (nearest rank) of ds, in milliseconds.
func p99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*99+99)/100 - 1
	return float64(s[i]) / float64(time.Millisecond)
}

// idleSamples is how many valid deliveries measure the idle server.
const idleSamples = 500

// BenchmarkAbuse: valid deliveries, one at a time, to a receiver that 500
// senders flood with forged (bad-signature) deliveries back to back,
// through the daemon's HTTP server on loopback. ns/op is a valid
// delivery's round trip under the flood; the custom metrics are the p99
// of valid deliveries on the idle server (idle-p99-ms) and under the
// flood (abuse-p99-ms), and the forged deliveries answered a second
// (forged/s). The connector must make no outbound call and every forged
// delivery is counted; the log gets a handful of lines. discard stores
// valid deliveries nowhere; redis puts them on the real Redis intake.
//
//	go test -run '^$' -bench BenchmarkAbuse -benchtime 2000x ./sync/webhook
func BenchmarkAbuse(b *testing.B) {
	b.Run("discard", func(b *testing.B) { benchAbuse(b, discardSink{}) })
	b.Run("redis", func(b *testing.B) {
		rdb, prefix := redistest.New(b)
		benchAbuse(b, intake.New(rdb, intake.Options{Prefix: prefix}))
	})
}

func benchAbuse(b *testing.B, sink connectors.EventSink) {
	const senders = 500
	began := time.Now()
	rig := newAbuseRig(b, sink)
	honest := newClient(b, 1)
	var accepted int64
	measure := func(id string) time.Duration {
		code, took, err := rig.post(honest, id, true)
		if err != nil || code != 200 {
			b.Fatalf("valid delivery: %d %v", code, err)
		}
		accepted++
		return took
	}
	idle := make([]time.Duration, 0, idleSamples)
	for i := range idleSamples {
		idle = append(idle, measure(fmt.Sprintf("idle-%d", i)))
	}

	stop := rig.flood(b, senders)
	// Let every sender have its connection and a request in flight.
	for deadline := time.Now().Add(hangGuard); testutil.ToFloat64(rig.m.failures.WithLabelValues("shop", "bad_signature")) < 2*senders; {
		if time.Now().After(deadline) {
			b.Fatal("the flood never got going")
		}
		time.Sleep(time.Millisecond)
	}
	floodStart := time.Now()
	var under []time.Duration
	for b.Loop() {
		under = append(under, measure(fmt.Sprintf("order-%d", len(under))))
	}
	forged, errs := stop()
	floodTime := time.Since(floodStart)
	for _, err := range errs[:min(len(errs), 5)] {
		b.Error(err)
	}
	b.ReportMetric(p99(idle), "idle-p99-ms")
	b.ReportMetric(p99(under), "abuse-p99-ms")
	b.ReportMetric(float64(forged)/floodTime.Seconds(), "forged/s")
	rig.check(b, forged, accepted)
	// One refusal line a window, and the first.
	if lines, most := rig.logs.lines(b), int(time.Since(began)/DefaultLogEvery)+2; len(lines) > most {
		b.Errorf("%d log lines for %d forged deliveries, want at most %d", len(lines), forged, most)
	}
}
