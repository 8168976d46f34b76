package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/server"
	"github.com/shelfsync/shelfsync/sync/webhook"
)

// recorder is a Registerer that registers on a real registry and keeps
// every registered metric's name and label names (from its descriptors),
// so a vector that has no series yet is known too.
type recorder struct {
	reg    *prometheus.Registry
	labels map[string]map[string]bool
}

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descConst  = regexp.MustCompile(`constLabels: \{([^}]*)\}`)
	descVar    = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	constLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
)

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		s := d.String()
		name := descName.FindStringSubmatch(s)
		if name == nil {
			continue
		}
		r.add(name[1])
		if m := descConst.FindStringSubmatch(s); m != nil {
			for _, l := range constLabel.FindAllStringSubmatch(m[1], -1) {
				r.labels[name[1]][l[1]] = true
			}
		}
		if m := descVar.FindStringSubmatch(s); m != nil && m[1] != "" {
			for _, l := range strings.Split(m[1], ",") {
				r.labels[name[1]][strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
		}
	}
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

func (r *recorder) add(name string) {
	if r.labels[name] == nil {
		r.labels[name] = map[string]bool{}
	}
}

// fakeChannel can do everything a channel can (poll, fetch, push, read),
// so the engine builds every part of a channel; it is never called.
type fakeChannel struct{}

func (fakeChannel) Kind() string { return "fake" }
func (fakeChannel) PollOrders(context.Context, time.Time, func(context.Context, []connectors.Order) error) (time.Time, error) {
	return time.Time{}, nil
}
func (fakeChannel) FetchOrder(context.Context, string) (*connectors.Order, error) {
	return nil, connectors.ErrNotFound
}
func (fakeChannel) MaxBatch() int { return 1 }
func (fakeChannel) PushQuantities(context.Context, []connectors.QuantityUpdate) ([]connectors.PushResult, error) {
	return nil, nil
}
func (fakeChannel) ReadQuantities(context.Context, []string) ([]connectors.LiveQuantity, error) {
	return nil, nil
}

// liveMetrics builds the daemon's registry the way `shelfsync run` wires
// it (the server with the Go and process collectors, build info and HTTP
// metrics; the channels' shared API metrics; the webhook receiver's; the
// engine's with a channel that can do everything and a downstream
// webhook), answers one /readyz and one /metrics, and returns every
// metric name with its label names. Prometheus's own "up" is added. No
// I/O: nothing is started.
func liveMetrics(t *testing.T) map[string]map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	rec := &recorder{reg: reg, labels: map[string]map[string]bool{}}
	srv, err := server.New(server.Options{Registry: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	api := connectors.NewAPIMetrics(rec)
	connectors.NewHTTPClient(connectors.HTTPOptions{Channel: "shop", Metrics: api})
	if _, err := webhook.NewMetrics(rec); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Locations = []config.Location{{ID: "main", Priority: 1}}
	ch := config.Channel{Name: "shop", Kind: "fake", Locations: []string{"main"}}
	ch.Allocation.Percent = new(float64)
	*ch.Allocation.Percent = 100
	cfg.Channels = []config.Channel{ch}
	cfg.Downstream.Webhook.URL = "http://127.0.0.1:1/orders"
	cfg.Downstream.Webhook.Secret = config.NewSecret("s")
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer rdb.Close()
	if _, err := engine.New(engine.Options{Config: cfg, Redis: rdb, Registry: rec, Logger: zerolog.Nop(),
		Connectors: map[string]connectors.Connector{"shop": fakeChannel{}}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/readyz", "/metrics"} {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		rec.add(mf.GetName())
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				rec.labels[mf.GetName()][l.GetName()] = true
			}
		}
	}
	rec.add("up")
	return rec.labels
}

var (
	// seriesName: a metric name in a query (histogram suffixes are
	// stripped by base), followed by its selector or a range.
	seriesName = regexp.MustCompile(`\b((?:shelfsync|process|go)_[a-z_]+|up)\b\s*(\{[^}]*\})?`)
	matcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	// targetLabels are attached by Prometheus at scrape; le by histograms.
	targetLabels = map[string]bool{"job": true, "instance": true, "le": true}
)

// checkQuery reports what in expr the daemon does not expose: a metric, a
// label a selector matches on, or a label it groups by that none of the
// query's metrics has.
func checkQuery(live map[string]map[string]bool, expr string) []string {
	var problems []string
	used := map[string]bool{}
	for _, m := range seriesName.FindAllStringSubmatch(expr, -1) {
		name := base(m[1])
		labels, ok := live[name]
		if !ok {
			problems = append(problems, "metric "+m[1]+" is not exposed")
			continue
		}
		for l := range labels {
			used[l] = true
		}
		for _, lm := range matcher.FindAllStringSubmatch(m[2], -1) {
			if !labels[lm[1]] && !targetLabels[lm[1]] {
				problems = append(problems, "metric "+name+" has no label "+lm[1])
			}
		}
	}
	for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !used[l] && !targetLabels[l] {
				problems = append(problems, "grouping by "+l+", which none of its metrics has")
			}
		}
	}
	return problems
}

// TestLiveRegistryCheckerCatchesMistakes: the checker the dashboard and
// rule tests rely on refuses what it should.
func TestLiveRegistryCheckerCatchesMistakes(t *testing.T) {
	live := liveMetrics(t)
	tests := []struct {
		expr string
		ok   bool
	}{
		{`sum by (channel, outcome) (rate(shelfsync_push_items_total{instance=~"$instance",channel=~"$channel"}[5m]))`, true},
		{`sum by (channel, result) (rate(shelfsync_push_items_total[5m]))`, false},
		{`shelfsync_push_items_total{result="accepted"}`, false},
		{`shelfsync_shopify_throttled_total`, false},
		{`shelfsync_push_lease_held`, false},
		{`histogram_quantile(0.99, sum by (le) (rate(shelfsync_intake_lag_seconds_bucket[5m])))`, true},
		{`shelfsync_outbox_backlog`, true},                                  // a vector without series yet
		{`shelfsync_webhook_verification_failures_total{reason="x"}`, true}, // ditto
		{`rate(shelfsync_http_requests_total{handler="GET /readyz",code="503"}[5m])`, true},
		{`process_resident_memory_bytes + go_memstats_heap_inuse_bytes`, true},
		{`up{job="shelfsync"} == 0`, true},
		{`time() - shelfsync_job_last_success_timestamp_seconds{task="poll"}`, true},
		{`time() - shelfsync_job_last_success_timestamp_seconds{job="poll"}`, true}, // job is the scrape job's
		{`shelfsync_job_last_success_timestamp_seconds{kind="poll"}`, false},
	}
	for _, tc := range tests {
		if p := checkQuery(live, tc.expr); (len(p) == 0) != tc.ok {
			t.Errorf("%s: problems %v, want ok %v", tc.expr, p, tc.ok)
		}
	}
}
