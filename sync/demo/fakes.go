package demo

import (
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors/sim"
)

// ChannelNames lists the demo's channels in the order the output shows
// them: every simulated channel registered with connectors/sim (the
// command links them all through connectors/all), one channel of each
// kind, named after it.
func ChannelNames() []string { return sim.Channels() }

// Fakes are the running fake marketplaces, one per simulated channel.
type Fakes struct {
	names      []string
	channels   map[string]sim.Channel
	latency    time.Duration
	amazonPlan AmazonPlan
}

// AmazonPlan is the usage plan the fake Amazon enforces (and announces in
// x-amzn-RateLimit-Limit): `shelfsync demo --amazon-plan`.
type AmazonPlan string

// The Amazon plans of the demo.
const (
	// AmazonPublished is Amazon's published default plan of every
	// operation (amazontest.PublishedLimits): what a new seller gets, and
	// what the connector must work at. The default.
	AmazonPublished AmazonPlan = "published"
	// AmazonRaised is a large seller's raised plan
	// (amazontest.RaisedLimits): for load runs at rates the published
	// plan can not carry.
	AmazonRaised AmazonPlan = "raised"
)

// AmazonPlans lists the plans --amazon-plan takes.
var AmazonPlans = []AmazonPlan{AmazonPublished, AmazonRaised}

// ParseAmazonPlan reads an --amazon-plan value ("" is published).
func ParseAmazonPlan(s string) (AmazonPlan, error) {
	switch p := AmazonPlan(s); p {
	case "":
		return AmazonPublished, nil
	case AmazonPublished, AmazonRaised:
		return p, nil
	}
	return "", fmt.Errorf("unknown Amazon plan %q: want %s or %s", s, AmazonPublished, AmazonRaised)
}

// StartFakes starts every simulated channel's fake, each answering after
// latency, at plan ("" is published) where the fake has plans.
func StartFakes(latency time.Duration, plan AmazonPlan) *Fakes {
	if plan == "" {
		plan = AmazonPublished
	}
	f := &Fakes{names: sim.Channels(), channels: map[string]sim.Channel{}, latency: latency, amazonPlan: plan}
	for _, name := range f.names {
		ch, err := sim.Start(name, sim.Options{Latency: latency, Plan: string(plan)})
		if err != nil {
			panic(err) // listed by sim.Channels: registered
		}
		f.channels[name] = ch
	}
	return f
}

// Keep stops every fake not named in names and leaves the others, in
// their order; an empty names keeps them all. (The demo's --channels: an
// ingest figure measured with the channels of an older run.)
func (f *Fakes) Keep(names []string) error {
	if len(names) == 0 {
		return nil
	}
	keep := map[string]bool{}
	for _, n := range names {
		if f.channels[n] == nil {
			return fmt.Errorf("unknown channel %q: want some of %v", n, f.names)
		}
		keep[n] = true
	}
	var left []string
	for _, n := range f.names {
		if keep[n] {
			left = append(left, n)
			continue
		}
		f.channels[n].Close()
		delete(f.channels, n)
	}
	f.names = left
	return nil
}

// Names are the running simulated channels, in order.
func (f *Fakes) Names() []string { return append([]string(nil), f.names...) }

// Channel is the running simulated channel name (nil if none).
func (f *Fakes) Channel(name string) sim.Channel { return f.channels[name] }

// Drain is the longest a channel can take to push what is waiting when
// the orders stop (every one of skus once, at its fake's plan): 0 unless
// a fake has a rate-limited plan (Amazon: a minute for 270 SKUs at the
// published 5 a second, a second or two at the raised plan).
func (f *Fakes) Drain(skus int) time.Duration {
	var d time.Duration
	for _, ch := range f.channels {
		if dr, ok := ch.(sim.Drainer); ok {
			d = max(d, dr.Drain(skus))
		}
	}
	return d
}

// Latency is the API latency the fakes were started with.
func (f *Fakes) Latency() time.Duration { return f.latency }

// AmazonPlan is the plan the fake Amazon holds.
func (f *Fakes) AmazonPlan() AmazonPlan { return f.amazonPlan }

// Close stops the fakes.
func (f *Fakes) Close() {
	for _, ch := range f.channels {
		ch.Close()
	}
}

// Listed is the quantity channel lists for sku on its fake, and whether
// the listing exists.
func (f *Fakes) Listed(channel, sku string) (int64, bool) {
	if ch := f.channels[channel]; ch != nil {
		return ch.Listed(sku)
	}
	return 0, false
}

// list creates or sets sku's listing on channel's fake.
func (f *Fakes) list(channel, sku string, qty int64) {
	if ch := f.channels[channel]; ch != nil {
		ch.List(sku, qty)
	}
}
