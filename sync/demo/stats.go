package demo

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// ChannelFigures are one channel's figures read from the daemon's metrics.
type ChannelFigures struct {
	// Orders is order line versions that changed the ledger
	// (shelfsync_ledger_line_updates_total, result applied): in the demo,
	// whose orders have one line, each new order and each cancel or refund.
	// Duplicates, stale versions and re-polled orders do not count.
	Orders   float64
	Pushes   float64 // push batches (shelfsync_push_batches_total)
	Items    float64 // pushed items, any result (shelfsync_push_items_total)
	Accepted float64 // pushed items the channel accepted
	APICalls float64 // HTTP requests to the channel's API (shelfsync_channel_api_requests_total)
	Parked   float64 // push items parked now (shelfsync_push_parked_items)
	Backlog  float64 // SKUs waiting in the outbox (shelfsync_outbox_backlog)
	// Shipment confirmations: accepted by the channel
	// (shelfsync_shipments_total, outcome confirmed), parked (refused or
	// given up: shelfsync_shipments_parked) and waiting to be confirmed
	// (shelfsync_shipments_queued; both gauges are read every second).
	ShipConfirmed float64
	ShipParked    float64
	ShipQueued    float64
	// Propagation is the channel's shelfsync_propagation_seconds.
	Propagation Histogram
}

// Figures is one reading of the daemon's registry.
type Figures struct {
	At            time.Time
	Channels      map[string]*ChannelFigures
	OversoldUnits float64
	IntakeBacklog float64
	// Propagation is shelfsync_propagation_seconds over every channel.
	Propagation Histogram
}

// Histogram is a cumulative Prometheus histogram: Counts[i] observations
// at or below Bounds[i].
type Histogram struct {
	Bounds []float64
	Counts []float64
	Total  float64
}

// Gather reads the figures from g (the daemon's registry).
func Gather(g prometheus.Gatherer) (Figures, error) {
	mfs, err := g.Gather()
	if err != nil {
		return Figures{}, fmt.Errorf("gathering metrics: %w", err)
	}
	f := Figures{At: time.Now(), Channels: map[string]*ChannelFigures{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if !f.takeShipments(mf.GetName(), m) {
				f.take(mf.GetName(), m)
			}
		}
	}
	return f, nil
}

// channel is the figures of m's channel label, made when new.
func (f *Figures) channel(m *dto.Metric) *ChannelFigures {
	name := label(m, "channel")
	c, ok := f.Channels[name]
	if !ok {
		c = &ChannelFigures{}
		f.Channels[name] = c
	}
	return c
}

// take adds one metric of the family name to the figures.
func (f *Figures) take(name string, m *dto.Metric) {
	switch name {
	case "shelfsync_ledger_line_updates_total":
		if label(m, "outcome") == "applied" {
			f.channel(m).Orders += m.GetCounter().GetValue()
		}
	case "shelfsync_push_batches_total":
		f.channel(m).Pushes += m.GetCounter().GetValue()
	case "shelfsync_push_items_total":
		c := f.channel(m)
		c.Items += m.GetCounter().GetValue()
		if label(m, "outcome") == "accepted" {
			c.Accepted += m.GetCounter().GetValue()
		}
	case "shelfsync_channel_api_requests_total":
		f.channel(m).APICalls += m.GetCounter().GetValue()
	case "shelfsync_push_parked_items":
		f.channel(m).Parked += m.GetGauge().GetValue()
	case "shelfsync_outbox_backlog":
		f.channel(m).Backlog += m.GetGauge().GetValue()
	case "shelfsync_oversold_units_total":
		f.OversoldUnits += m.GetCounter().GetValue()
	case "shelfsync_intake_backlog":
		f.IntakeBacklog += m.GetGauge().GetValue()
	case "shelfsync_propagation_seconds":
		f.Propagation.add(m.GetHistogram())
		f.channel(m).Propagation.add(m.GetHistogram())
	}
}

// takeShipments adds one metric of the shipments' families; false for
// any other family.
func (f *Figures) takeShipments(name string, m *dto.Metric) bool {
	switch name {
	case "shelfsync_shipments_total":
		if label(m, "outcome") == "confirmed" {
			f.channel(m).ShipConfirmed += m.GetCounter().GetValue()
		}
	case "shelfsync_shipments_parked":
		f.channel(m).ShipParked += m.GetGauge().GetValue()
	case "shelfsync_shipments_queued":
		f.channel(m).ShipQueued += m.GetGauge().GetValue()
	default:
		return false
	}
	return true
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// add merges one channel's histogram into h (the buckets of one metric
// are the same for every channel).
func (h *Histogram) add(m *dto.Histogram) {
	for i, b := range m.GetBucket() {
		if i >= len(h.Bounds) {
			h.Bounds = append(h.Bounds, b.GetUpperBound())
			h.Counts = append(h.Counts, 0)
		}
		h.Counts[i] += float64(b.GetCumulativeCount())
	}
	h.Total += float64(m.GetSampleCount())
}

// Sub is the histogram of the observations made since earlier.
func (h Histogram) Sub(earlier Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts)), Total: h.Total - earlier.Total}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(earlier.Counts) {
			out.Counts[i] -= earlier.Counts[i]
		}
	}
	return out
}

// Quantile estimates the q-quantile as Prometheus's histogram_quantile
// does: linear within the bucket that holds it. Observations above the
// last bound report the last bound. NaN when there are none.
func (h Histogram) Quantile(q float64) float64 {
	if h.Total <= 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.Total
	i := sort.Search(len(h.Counts), func(i int) bool { return h.Counts[i] >= rank })
	if i == len(h.Counts) {
		return h.Bounds[len(h.Bounds)-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.Bounds[i-1], h.Counts[i-1]
	}
	in := h.Counts[i] - below
	if in <= 0 {
		return h.Bounds[i]
	}
	return lower + (h.Bounds[i]-lower)*(rank-below)/in
}

// Total sums a field over the channels.
func (f Figures) Total(field func(*ChannelFigures) float64) float64 {
	var t float64
	for _, c := range f.Channels {
		t += field(c)
	}
	return t
}

// Channel returns name's figures (zero when it has none yet).
func (f Figures) Channel(name string) ChannelFigures {
	if c, ok := f.Channels[name]; ok {
		return *c
	}
	return ChannelFigures{}
}

// formatSeconds renders a latency for the live line: "120ms", "1.4s", "-".
func formatSeconds(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s < 1:
		return fmt.Sprintf("%dms", int(math.Round(s*1000)))
	default:
		return fmt.Sprintf("%.1fs", s)
	}
}
