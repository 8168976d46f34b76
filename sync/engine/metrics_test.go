package engine

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/internal/redistest"
)

// TestFreshEngineExportsChannelSeriesAtZero: before anything happens, a
// new engine's registry already holds every configured channel's counters
// at 0, so the first oversell or parked item after a restart is an
// increase from 0 (what increase() in the alert rules sees), not a new
// series that first appears at 1.
func TestFreshEngineExportsChannelSeriesAtZero(t *testing.T) {
	rdb, prefix := redistest.New(t)
	reg := prometheus.NewRegistry()
	conns := map[string]connectors.Connector{"shop": newMemChannel(), "bay": newMemChannel()}
	if _, err := New(Options{Config: testConfig(prefix, "shop", "bay"), Redis: rdb, Connectors: conns, Registry: reg, Logger: zerolog.Nop()}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// series[name] holds "channel/other label values" of the series at 0
	series := map[string]map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount()); v != 0 {
				t.Errorf("%s %v = %v in a fresh registry", mf.GetName(), m.GetLabel(), v)
			}
			if series[mf.GetName()] == nil {
				series[mf.GetName()] = map[string]bool{}
			}
			series[mf.GetName()][labelValues(m)] = true
		}
	}
	tests := []struct {
		metric string
		labels string // after the channel's name
	}{
		{"shelfsync_oversold_units_total", ""},
		{"shelfsync_oversold_total", ""},
		{"shelfsync_order_lines_parked_total", ""},
		{"shelfsync_push_parked_total", ""},
		{"shelfsync_push_items_total", "/accepted"},
		{"shelfsync_push_items_total", "/unknown_sku"},
		{"shelfsync_ledger_line_updates_total", "/applied"},
		{"shelfsync_ledger_line_updates_total", "/refused"},
		{"shelfsync_events_applied_total", "/order"},
		{"shelfsync_events_failed_total", "/order"},
		{"shelfsync_order_fetches_total", "/error"},
		{"shelfsync_polled_orders_total", ""},
		{"shelfsync_job_runs_total", "/error/poll"},
		{"shelfsync_job_runs_total", "/ok/reconcile"},
		{"shelfsync_propagation_seconds", ""},
	}
	for _, ch := range []string{"shop", "bay"} {
		for _, tc := range tests {
			if !series[tc.metric][ch+tc.labels] {
				t.Errorf("%s{%s%s} is not exported at 0 from the start (has %v)", tc.metric, ch, tc.labels, series[tc.metric])
			}
		}
	}
	if n := len(series["shelfsync_drift_skus"]); n != 0 {
		t.Errorf("drift exported before any reconcile: %v", series["shelfsync_drift_skus"])
	}
}

// labelValues joins a series' label values, channel first, then the others
// in the order of their names, by "/".
func labelValues(m *dto.Metric) string {
	var ch, rest string
	for _, l := range m.GetLabel() {
		if l.GetName() == "channel" {
			ch = l.GetValue()
		} else {
			rest += "/" + l.GetValue()
		}
	}
	return ch + rest
}
