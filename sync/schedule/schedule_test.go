package schedule

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/lease"
)

func TestCronAndTriggerRunTheJobOnceAtATimeAcrossReplicas(t *testing.T) {
	rdb, prefix := redistest.New(t)
	var runs, concurrent, maxConcurrent atomic.Int32
	job := func(ctx context.Context) error {
		n := concurrent.Add(1)
		for {
			m := maxConcurrent.Load()
			if n <= m || maxConcurrent.CompareAndSwap(m, n) {
				break
			}
		}
		runs.Add(1)
		time.Sleep(30 * time.Millisecond)
		concurrent.Add(-1)
		return nil
	}
	var scheds []*Scheduler
	var metrics []*Metrics
	for _, holder := range []string{"r1", "r2"} {
		m := NewMetrics(prometheus.NewRegistry())
		s := New(lease.NewManager(rdb, prefix, holder), 5*time.Second, zerolog.Nop(), m)
		if err := s.Add(Job{Channel: "shop", Kind: "poll", Spec: "@every 1s", Run: job}); err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
		metrics = append(metrics, m)
	}
	if err := scheds[0].Add(Job{Channel: "shop", Kind: "poll", Run: job}); err == nil {
		t.Fatal("duplicate job accepted")
	}
	if err := scheds[0].Add(Job{Channel: "x", Kind: "poll", Spec: "every minute", Run: job}); err == nil {
		t.Fatal("invalid schedule accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	for _, s := range scheds {
		go func() { s.Run(ctx); done <- struct{}{} }()
	}
	// Both replicas trigger at once, repeatedly: the lease lets one run at a time.
	for i := 0; i < 20; i++ {
		scheds[0].Trigger("shop", "poll")
		scheds[1].Trigger("shop", "poll")
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(2200 * time.Millisecond) // two cron ticks
	cancel()
	<-done
	<-done
	if maxConcurrent.Load() != 1 {
		t.Fatalf("job ran %d at once across replicas", maxConcurrent.Load())
	}
	if runs.Load() < 3 {
		t.Fatalf("job ran %d times; want triggers and cron ticks to run it", runs.Load())
	}
	skipped := testutil.ToFloat64(metrics[0].Runs.WithLabelValues("shop", "poll", "skipped")) +
		testutil.ToFloat64(metrics[1].Runs.WithLabelValues("shop", "poll", "skipped"))
	ok := testutil.ToFloat64(metrics[0].Runs.WithLabelValues("shop", "poll", "ok")) +
		testutil.ToFloat64(metrics[1].Runs.WithLabelValues("shop", "poll", "ok"))
	if int32(ok) != runs.Load() || skipped == 0 {
		t.Fatalf("ok %v (runs %d), skipped %v: want every run counted and some skipped", ok, runs.Load(), skipped)
	}
	if scheds[0].Trigger("nope", "poll") {
		t.Fatal("trigger of an unknown job reported success")
	}
}

// TestMetricsAvoidPrometheusTargetLabels: a label named job or instance
// clashes with the labels Prometheus attaches at scrape (ours would become
// exported_job and no rule or panel would match it).
func TestMetricsAvoidPrometheusTargetLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Runs.WithLabelValues("shop", "poll", "ok").Inc()
	m.Duration.WithLabelValues("shop", "poll").Observe(1)
	m.LastSuccess.WithLabelValues("shop", "poll").Set(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 3 {
		t.Fatalf("gathered %d metric families, want 3", len(mfs))
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			var task bool
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case "job", "instance":
					t.Errorf("%s has the label %q, which Prometheus owns", mf.GetName(), lp.GetName())
				case "task":
					task = lp.GetValue() == "poll"
				}
			}
			if !task {
				t.Errorf("%s lacks task=\"poll\"", mf.GetName())
			}
		}
	}
}

// TestScheduledRunsOncePerPeriodAcrossReplicas: two replicas whose
// "@every 2s" schedules tick a second apart (started a second apart) run
// the job once per period between them, not once each; a trigger still
// runs it at once.
func TestScheduledRunsOncePerPeriodAcrossReplicas(t *testing.T) {
	rdb, prefix := redistest.New(t)
	var runs atomic.Int32
	job := func(context.Context) error { runs.Add(1); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 2)
	var scheds []*Scheduler
	var metrics []*Metrics
	for i, holder := range []string{"r1:1", "r2:1"} {
		if i > 0 {
			time.Sleep(time.Second)
		}
		m := NewMetrics(prometheus.NewRegistry())
		s := New(lease.NewManager(rdb, prefix, holder), 5*time.Second, zerolog.Nop(), m)
		if err := s.Add(Job{Channel: "shop", Kind: "poll", Spec: "@every 2s", Run: job}); err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Run(ctx); done <- struct{}{} }()
		scheds, metrics = append(scheds, s), append(metrics, m)
	}
	const window = 8 * time.Second
	time.Sleep(window)
	ticked := runs.Load()
	// Both replicas ticked about 4 times each in the window; between them
	// the job may run once per 0.8 period, plus the run at the window's start.
	if most := int32(window/(1600*time.Millisecond)) + 1; ticked < 2 || ticked > most {
		t.Fatalf("%d scheduled runs in %s over two replicas, want 2 to %d (once per period)", ticked, window, most)
	}
	skipped := testutil.ToFloat64(metrics[0].Runs.WithLabelValues("shop", "poll", "skipped")) +
		testutil.ToFloat64(metrics[1].Runs.WithLabelValues("shop", "poll", "skipped"))
	if skipped == 0 {
		t.Fatal("no tick was skipped: each replica ran every one of its ticks")
	}
	// A period claimed for an hour: no tick runs it, a trigger does.
	if err := rdb.Set(ctx, prefix+"lease:period:poll:shop", "r1:1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // a tick of each replica
	quiet := runs.Load()
	scheds[1].Trigger("shop", "poll")
	for deadline := time.Now().Add(30 * time.Second); runs.Load() == quiet; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a trigger within a claimed period did not run the job")
		}
	}
	time.Sleep(2500 * time.Millisecond)
	if got := runs.Load(); got != quiet+1 {
		t.Fatalf("%d runs in a claimed period, want the triggered one only", got-quiet)
	}
	cancel()
	<-done
	<-done
}
