// Package schedule runs each channel's periodic jobs (order polls,
// reconciliations) on their cron schedules (robfig/cron), each under a
// Redis lease so a job runs once at a time across every replica and never
// overlaps itself, and lets the engine trigger a job now (a stale push asks
// for an order poll; the admin API asks for a reconcile).
package schedule

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/sync/lease"
)

// Job is one periodic job of one channel.
type Job struct {
	Channel string
	Kind    string // "poll", "reconcile"
	// Spec is the cron schedule; empty: the job runs only when triggered.
	Spec string
	Run  func(ctx context.Context) error
}

func (j Job) name() string { return j.Kind + ":" + j.Channel }

type entry struct {
	job     Job
	running sync.Mutex    // local non-overlap; the lease covers other replicas
	trigger chan struct{} // capacity 1: triggers coalesce
}

// Scheduler runs jobs.
type Scheduler struct {
	leases  *lease.Manager
	ttl     time.Duration
	log     zerolog.Logger
	m       *Metrics
	mu      sync.Mutex
	entries map[string]*entry
}

// New builds a Scheduler. No I/O.
func New(leases *lease.Manager, leaseTTL time.Duration, log zerolog.Logger, m *Metrics) *Scheduler {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Scheduler{leases: leases, ttl: leaseTTL, log: log, m: m, entries: map[string]*entry{}}
}

// Add registers a job. It fails on an invalid schedule or a duplicate.
func (s *Scheduler) Add(j Job) error {
	if j.Spec != "" {
		if _, err := config.CronParser.Parse(j.Spec); err != nil {
			return fmt.Errorf("job %s: schedule %q: %w", j.name(), j.Spec, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[j.name()]; dup {
		return fmt.Errorf("job %s added twice", j.name())
	}
	s.entries[j.name()] = &entry{job: j, trigger: make(chan struct{}, 1)}
	for _, o := range []string{"ok", "error", "skipped"} { // exported at 0 from the start
		s.m.Runs.WithLabelValues(j.Channel, j.Kind, o)
	}
	return nil
}

// Trigger asks for kind's job of channel to run now. Triggers while one is
// pending coalesce. It reports whether such a job exists.
func (s *Scheduler) Trigger(channel, kind string) bool {
	s.mu.Lock()
	e, ok := s.entries[kind+":"+channel]
	s.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case e.trigger <- struct{}{}:
	default:
	}
	return true
}

// Run runs the jobs until ctx ends, then waits for running jobs to end
// (their context is ctx, so they stop promptly).
func (s *Scheduler) Run(ctx context.Context) error {
	c := cron.New(cron.WithParser(config.CronParser), cron.WithLocation(time.UTC))
	var wg sync.WaitGroup
	s.mu.Lock()
	for _, e := range s.entries {
		if e.job.Spec != "" {
			sched, err := config.CronParser.Parse(e.job.Spec)
			if err != nil {
				s.mu.Unlock()
				return fmt.Errorf("scheduling %s: %w", e.job.name(), err)
			}
			c.Schedule(sched, cron.FuncJob(func() { s.runOnce(ctx, e, claimOf(sched)) }))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-e.trigger:
					s.runOnce(ctx, e, nil)
				}
			}
		}()
	}
	s.mu.Unlock()
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	wg.Wait()
	return nil
}

// claimShare is the share of its period a scheduled run claims: replicas
// whose schedules tick at different moments (an "@every" schedule counts
// from each process's start) run a job once per period between them, not
// once each; less than the whole period so that the claimer's own next
// tick, a little early or late, is never refused.
const claimShare = 0.8

// claimOf is the claim of a run of sched ticking now.
func claimOf(sched cron.Schedule) func() time.Duration {
	return func() time.Duration {
		now := time.Now()
		return time.Duration(float64(sched.Next(now).Sub(now)) * claimShare)
	}
}

// runOnce runs e's job under its lease. A scheduled run (claim not nil)
// first claims the schedule's period across the replicas; a triggered run
// (claim nil) is asked for and runs whatever the period.
func (s *Scheduler) runOnce(ctx context.Context, e *entry, claim func() time.Duration) {
	if ctx.Err() != nil || !e.running.TryLock() {
		return
	}
	defer e.running.Unlock()
	j := e.job
	start := time.Now()
	err := lease.ErrHeld
	if ok, cerr := s.claim(ctx, j, claim); cerr != nil {
		err = cerr
	} else if ok {
		err = s.leases.Hold(ctx, j.name(), s.ttl, j.Run)
	}
	switch {
	case errors.Is(err, lease.ErrHeld):
		s.m.Runs.WithLabelValues(j.Channel, j.Kind, "skipped").Inc()
		s.log.Debug().Str("job", j.name()).Msg("job running on another replica; skipped")
		return
	case err != nil && ctx.Err() != nil:
		return
	case err != nil:
		s.m.Runs.WithLabelValues(j.Channel, j.Kind, "error").Inc()
		s.log.Warn().Err(err).Str("job", j.name()).Msg("job failed")
	default:
		s.m.Runs.WithLabelValues(j.Channel, j.Kind, "ok").Inc()
		s.m.LastSuccess.WithLabelValues(j.Channel, j.Kind).SetToCurrentTime()
	}
	s.m.Duration.WithLabelValues(j.Channel, j.Kind).Observe(time.Since(start).Seconds())
}

// claim claims the period of a scheduled run; a triggered run (claim
// nil) needs none.
func (s *Scheduler) claim(ctx context.Context, j Job, claim func() time.Duration) (bool, error) {
	if claim == nil {
		return true, nil
	}
	ok, err := s.leases.ClaimPeriod(ctx, j.name(), claim())
	if err != nil {
		return false, fmt.Errorf("job %s: %w", j.name(), err)
	}
	return ok, nil
}

// Metrics of the scheduled jobs.
type Metrics struct {
	Runs        *prometheus.CounterVec   // channel, task, outcome
	Duration    *prometheus.HistogramVec // channel, task
	LastSuccess *prometheus.GaugeVec     // channel, task
}

// The job's kind (poll, reconcile, ...) is the label "task", not "job":
// Prometheus attaches its own "job" (the scrape job) to every series and
// would store ours as "exported_job", which rules and panels do not match.

// NewMetrics registers the job metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_job_runs_total", Help: "Scheduled job runs by outcome (ok, error, skipped: held by another replica, or a scheduled run whose period another replica ran).",
		}, []string{"channel", "task", "outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shelfsync_job_duration_seconds", Help: "Duration of scheduled job runs.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 10),
		}, []string{"channel", "task"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shelfsync_job_last_success_timestamp_seconds", Help: "When a scheduled job last succeeded on this replica.",
		}, []string{"channel", "task"}),
	}
	if reg != nil {
		reg.MustRegister(m.Runs, m.Duration, m.LastSuccess)
	}
	return m
}
