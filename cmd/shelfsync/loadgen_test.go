//go:build !nosim

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/shelfsync/shelfsync/connectors/shopify/shopifytest"
)

// fakeDaemon checks each webhook as the Shopify receiver does (HMAC over
// the body, topic, a new order id) and counts the accepted ones in
// shelfsync_events_applied_total on /metrics.
type fakeDaemon struct {
	secret string
	mu     sync.Mutex
	ids    map[int64]bool
	bad    int
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.URL.Path == "/metrics" {
		fmt.Fprintf(w, "# TYPE shelfsync_events_applied_total counter\n")
		fmt.Fprintf(w, "shelfsync_events_applied_total_other 99\n")
		fmt.Fprintf(w, "shelfsync_events_applied_total{channel=\"shopify\",kind=\"order\"} %d\n", len(d.ids)+7)
		fmt.Fprintf(w, "shelfsync_events_applied_total{channel=\"ebay\",kind=\"order\"} 3\n")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var o struct {
		ID    int64 `json:"id"`
		Lines []struct {
			SKU string `json:"sku"`
		} `json:"line_items"`
	}
	if r.Header.Get("X-Shopify-Hmac-Sha256") != shopifytest.Sign(d.secret, body) || r.Header.Get("X-Shopify-Topic") != "orders/create" ||
		json.Unmarshal(body, &o) != nil || d.ids[o.ID] || len(o.Lines) != 1 || !strings.HasPrefix(o.Lines[0].SKU, "DEMO-") {
		d.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	d.ids[o.ID] = true
}

func TestLoadgenSendsSignedNewOrdersAndReportsIngest(t *testing.T) {
	d := &fakeDaemon{secret: "s3cret", ids: map[int64]bool{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	var stdout, stderr syncBuffer
	code := dispatch(context.Background(), []string{"loadgen", "--url", srv.URL + "/webhooks/shopify", "--secret", "s3cret",
		"--rate", "200", "--duration", "500ms", "--skus", "5", "--metrics", srv.URL + "/metrics"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr.String())
	}
	d.mu.Lock()
	n, bad := len(d.ids), d.bad
	d.mu.Unlock()
	if bad != 0 || n == 0 {
		t.Fatalf("daemon got %d good and %d bad webhooks", n, bad)
	}
	for _, want := range []string{fmt.Sprintf("sent %d webhooks", n), fmt.Sprintf("200×%d", n), fmt.Sprintf("ingest: %d events applied", n)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadgenExitsOneWhenRefused(t *testing.T) {
	d := &fakeDaemon{secret: "the-daemon's", ids: map[int64]bool{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	var stdout, stderr syncBuffer
	code := dispatch(context.Background(), []string{"loadgen", "--url", srv.URL + "/webhooks/shopify", "--secret", "wrong",
		"--rate", "50", "--duration", "200ms"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "401×") {
		t.Fatalf("exit %d, output %s; want 1 and the 401s reported", code, stdout.String())
	}
}

func TestLoadgenRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--rate", "-1"}, {"--duration", "0s"}, {"--skus", "0"}, {"--concurrency", "0"}, {"--secret", ""}} {
		var stdout, stderr syncBuffer
		if code := dispatch(context.Background(), append([]string{"loadgen"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestSumCounter(t *testing.T) {
	real, err := os.ReadFile("testdata/loadgen_metrics.prom") // a demo's /metrics (go run ./cmd/shelfsync demo, scraped mid-run)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		want    float64
		wantErr bool
	}{
		{name: "a daemon's /metrics", text: string(real), want: 115 + 145 + 148 + 152}, // the shelfsync_events_applied_total samples in the file
		{name: "no samples", text: "# HELP x\n", want: 0},
		{name: "unlabelled sample", text: "shelfsync_events_applied_total 5\n", want: 5},
		{name: "timestamp after the value", text: "shelfsync_events_applied_total{a=\"b\"} 5 1700000000000\n", want: 5},
		{name: "label value with a brace", text: "shelfsync_events_applied_total{a=\"}{\"} 2\n", want: 2},
		{name: "longer name is another metric", text: "shelfsync_events_applied_total_x 9\nshelfsync_events_applied_total 1\n", want: 1},
		{name: "bad value", text: "shelfsync_events_applied_total{} abc\n", wantErr: true},
		{name: "negative counter", text: "shelfsync_events_applied_total -1\n", wantErr: true},
		{name: "no value", text: "shelfsync_events_applied_total{a=\"b\"}\n", wantErr: true},
		{name: "unterminated labels", text: "shelfsync_events_applied_total{a=\"b\" 3\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sumCounter(strings.NewReader(tc.text), appliedMetric)
			if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
				t.Fatalf("sumCounter = %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// FuzzSumCounter: whatever a /metrics URL answers, the reader returns a
// finite non-negative sum or an error, and never panics.
func FuzzSumCounter(f *testing.F) {
	real, err := os.ReadFile("testdata/loadgen_metrics.prom")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(real))
	f.Add("shelfsync_events_applied_total{a=\"}\"} 1e3\n")
	f.Add("shelfsync_events_applied_total +Inf\n")
	f.Fuzz(func(t *testing.T, text string) {
		v, err := sumCounter(strings.NewReader(text), appliedMetric)
		if err == nil && (v < 0 || math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("sum %v without an error", v)
		}
	})
}
