//go:build !nosim

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

func init() {
	commands["loadgen"] = command{
		summary: "send signed Shopify order webhooks at a rate (load test of a running daemon or demo)",
		run:     runLoadgen,
	}
}

// appliedMetric is the daemon's count of events handled to the end: its
// growth is the ingest rate.
const appliedMetric = "shelfsync_events_applied_total"

type loadgenFlags struct {
	url, secret, shop, metrics string
	rate                       float64
	duration, drain            time.Duration
	skus, concurrency          int
}

// runLoadgen is `shelfsync loadgen`: a separate process that sends new
// Shopify orders/create webhooks, signed with --secret, to --url at
// --rate per second (0: as fast as --concurrency allows) for --duration,
// and reports what it sent and how the daemon answered. With --metrics it
// reads the daemon's shelfsync_events_applied_total before and after
// (waiting up to --drain for the daemon to catch up) and reports the
// ingest rate: events applied per second, from the first webhook sent to
// the last event applied. Exit 1 if any webhook was refused or failed.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseLoadgen(args, stderr)
	if done {
		return code
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: f.concurrency, MaxIdleConnsPerHost: f.concurrency,
	}}
	var before float64
	if f.metrics != "" {
		v, err := scrapeCounter(ctx, client, f.metrics, appliedMetric)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
		before = v
	}
	res := sendLoad(ctx, client, f)
	fmt.Fprintf(stdout, "loadgen: sent %d webhooks in %.1fs: %.0f/s (target %s), statuses %s, errors %d, latency p50 %s p99 %s\n",
		res.sent, res.elapsed.Seconds(), float64(res.sent)/res.elapsed.Seconds(), rateText(f.rate),
		statusText(res.statuses), res.errors, durText(res.quantile(0.5)), durText(res.quantile(0.99)))
	if res.lastErr != nil {
		fmt.Fprintf(stdout, "  last error: %v\n", res.lastErr)
	}
	code = 0
	if res.errors > 0 || res.refused() > 0 {
		code = 1
	}
	if f.metrics == "" {
		return code
	}
	return max(code, reportIngest(ctx, client, f, before, res, stdout, stderr))
}

// parseLoadgen reads loadgen's flags; done (with the exit code) when the
// command must not go on.
func parseLoadgen(args []string, stderr io.Writer) (f loadgenFlags, code int, done bool) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.url, "url", "http://127.0.0.1:8080/webhooks/shopify", "the daemon's Shopify webhook endpoint")
	fs.StringVar(&f.secret, "secret", "shopifytest-webhook-secret", "the channel's webhook secret (signs X-Shopify-Hmac-Sha256)")
	fs.StringVar(&f.shop, "shop", "shelfsync-test.myshopify.com", "X-Shopify-Shop-Domain")
	fs.Float64Var(&f.rate, "rate", 100, "webhooks per second (0: as fast as --concurrency allows)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&f.skus, "skus", 200, "order SKUs among DEMO-000001…, as the demo's catalogue")
	fs.IntVar(&f.concurrency, "concurrency", 64, "requests in flight at most")
	fs.StringVar(&f.metrics, "metrics", "", "the daemon's /metrics URL, to report the ingest rate")
	fs.DurationVar(&f.drain, "drain", time.Minute, "with --metrics: how long to wait for the daemon to apply what was sent")
	if code, done := parseFlags(fs, args); done {
		return f, code, true
	}
	if f.rate < 0 || f.duration <= 0 || f.skus < 1 || f.concurrency < 1 || f.secret == "" {
		fmt.Fprintln(stderr, "loadgen: --rate must not be negative, --duration, --skus and --concurrency must be positive, --secret is required")
		return f, 2, true
	}
	return f, 0, false
}

// reportIngest waits for the daemon to apply what was accepted (up to
// --drain) and reports the ingest rate; 1 when it fell behind.
func reportIngest(ctx context.Context, client *http.Client, f loadgenFlags, before float64, res *loadResult, stdout, stderr io.Writer) int {
	want := before + float64(res.accepted())
	after, at, err := awaitCounter(ctx, client, f.metrics, want, f.drain)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	applied := after - before
	span := at.Sub(res.start).Seconds()
	fmt.Fprintf(stdout, "ingest: %.0f events applied in %.1fs from the first webhook: %.0f/s", applied, span, applied/span)
	code := 0
	if after < want {
		fmt.Fprintf(stdout, " (still %.0f behind after --drain %s)", want-after, f.drain)
		code = 1
	}
	fmt.Fprintln(stdout)
	return code
}

// loadResult is what sendLoad did.
type loadResult struct {
	start     time.Time
	elapsed   time.Duration
	sent      int64
	errors    int64
	lastErr   error
	statuses  map[int]int64
	latencies []time.Duration
}

func (r *loadResult) accepted() int64 {
	var n int64
	for code, c := range r.statuses {
		if code >= 200 && code < 300 {
			n += c
		}
	}
	return n
}

func (r *loadResult) refused() int64 {
	var n int64
	for code, c := range r.statuses {
		if code < 200 || code >= 300 {
			n += c
		}
	}
	return n
}

func (r *loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return -1
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}

// sendLoad sends webhooks until duration passes or ctx ends: at rate per
// second, paced from the start (a slow answer does not lower the rate
// while a worker is free), or back to back on every worker when rate is 0.
func sendLoad(ctx context.Context, client *http.Client, f loadgenFlags) *loadResult {
	// pacing ends after duration; a request already handed to a worker
	// runs on ctx, so everything counted as sent was sent whole.
	pacing, cancel := context.WithTimeout(ctx, f.duration)
	defer cancel()
	res := &loadResult{start: time.Now(), statuses: map[int]int64{}}
	base := time.Now().UnixMilli() * 1000 // order ids no earlier run used
	jobs := make(chan int64, f.concurrency)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range f.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				t0 := time.Now()
				code, err := sendOrder(ctx, client, f, base+n, n)
				mu.Lock()
				res.record(code, err, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	if f.rate > 0 {
		pace(pacing, jobs, f.rate, res.start)
	} else {
		flood(pacing, jobs)
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(res.start)
	return res
}

// record counts one request's outcome.
func (r *loadResult) record(code int, err error, d time.Duration) {
	r.sent++
	if err != nil {
		r.errors++
		r.lastErr = err
		return
	}
	r.statuses[code]++
	r.latencies = append(r.latencies, d)
}

// pace hands out order numbers at rate a second from start until ctx ends.
func pace(ctx context.Context, jobs chan<- int64, rate float64, start time.Time) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for due := int64(rate*time.Since(start).Seconds()) - n; due > 0; due-- {
			select {
			case jobs <- n:
				n++
			case <-ctx.Done():
				return
			}
		}
	}
}

// flood hands out order numbers as fast as the workers take them until ctx ends.
func flood(ctx context.Context, jobs chan<- int64) {
	for n := int64(0); ctx.Err() == nil; {
		select {
		case jobs <- n:
			n++
		case <-ctx.Done():
		}
	}
}

// sendOrder posts one new orders/create webhook: order id, one line of
// 1 unit of a SKU of the catalogue, signed as Shopify signs.
func sendOrder(ctx context.Context, client *http.Client, f loadgenFlags, id, n int64) (int, error) {
	now := time.Now().UTC()
	sku := fmt.Sprintf("DEMO-%06d", n%int64(f.skus)+1)
	body, err := json.Marshal(map[string]any{
		"id": id, "name": "#L" + strconv.FormatInt(n+1, 10), "updated_at": now.Format(time.RFC3339),
		"created_at": now.Format(time.RFC3339), "cancelled_at": nil, "financial_status": "paid", "location_id": nil,
		"line_items": []any{map[string]any{
			"id": id*10 + 1, "sku": sku, "quantity": 1, "current_quantity": 1, "fulfillable_quantity": 1, "variant_id": nil,
		}},
		"fulfillments": []any{}, "refunds": []any{},
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("X-Shopify-Hmac-Sha256", shopifytest.Sign(f.secret, body))
	h.Set("X-Shopify-Shop-Domain", f.shop)
	h.Set("X-Shopify-Event-Id", fmt.Sprintf("loadgen-%d", id))
	h.Set("X-Shopify-Webhook-Id", fmt.Sprintf("loadgen-delivery-%d", id))
	h.Set("X-Shopify-Triggered-At", now.Format(time.RFC3339Nano))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// scrapeCounter reads url (Prometheus text format) and sums every sample
// of the counter name.
func scrapeCounter(ctx context.Context, client *http.Client, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("metrics %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("metrics %s: status %d", url, resp.StatusCode)
	}
	return sumCounter(resp.Body, name)
}

// sumCounter sums every sample of the counter name in a Prometheus text
// exposition read from r. A sample it cannot read is an error: a wrong
// figure would be worse than none.
func sumCounter(r io.Reader, name string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric whose name starts with name
		}
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("metrics: unterminated labels in %q", line)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Errorf("metrics: bad counter sample %q", line)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	return sum, nil
}

// awaitCounter polls the counter until it reaches want or bound passes,
// and returns its last value and when it last grew.
func awaitCounter(ctx context.Context, client *http.Client, url string, want float64, bound time.Duration) (float64, time.Time, error) {
	deadline := time.Now().Add(bound)
	last, at := math.Inf(-1), time.Now()
	for {
		v, err := scrapeCounter(ctx, client, url, appliedMetric)
		if err != nil {
			return 0, at, err
		}
		if v > last {
			last, at = v, time.Now()
		}
		if v >= want || time.Now().After(deadline) {
			return last, at, nil
		}
		select {
		case <-ctx.Done():
			return last, at, errors.New("interrupted while waiting for the daemon")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func statusText(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d×%d", c, m[c])
	}
	return strings.Join(parts, " ")
}

func rateText(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + "/s"
}

func durText(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}
