package ingest

import (
	"slices"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
)

// router turns config.Routing into each order's route for the ledger
// (inventory.RouteStep): built once, no I/O per order.
type router struct {
	rules    []string
	split    func(channel string) bool // config.Routing.Splits
	channels map[string][]string       // channel → its list (rule "channel")
	regions  map[string][]string       // "CC-RR" or "CC-" → its list (rule "region")
	cands    map[string][]string       // channel → its locations by priority
}

func newRouter(r config.Routing, cands map[string][]string) *router {
	rt := &router{rules: r.Rules, split: r.Splits, channels: map[string][]string{}, regions: map[string][]string{}, cands: cands}
	for _, c := range r.Channels {
		rt.channels[c.Channel] = c.Locations
	}
	for _, g := range r.Regions {
		rt.regions[g.Country+"-"+g.Region] = g.Locations
	}
	return rt
}

// route is the order's route: nil without rules (the ledger's priority
// choice); a step whose list is empty for this order (no destination, no
// list, none of the channel's locations) is left out. Where the channel's
// lines may be split, a split step follows the rules (before
// most_available, which always places a line whole), and without rules
// follows priority.
func (rt *router) route(o *connectors.Order) []inventory.RouteStep {
	split := rt.split(o.Channel)
	if (len(rt.rules) == 0 && !split) || o.Location != "" {
		return nil
	}
	rules := rt.rules
	if len(rules) == 0 {
		rules = []string{config.RulePriority}
	}
	steps := make([]inventory.RouteStep, 0, len(rules)+1)
	for _, rule := range rules {
		if split && rule == config.RuleMostAvailable {
			steps, split = append(steps, splitStep), false
		}
		switch rule {
		case config.RuleSingleLocation:
			steps = append(steps, inventory.RouteStep{Rule: rule, Kind: inventory.RouteWhole})
		case config.RulePriority:
			steps = append(steps, inventory.RouteStep{Rule: rule, Kind: inventory.RouteFirst})
		case config.RuleMostAvailable:
			steps = append(steps, inventory.RouteStep{Rule: rule, Kind: inventory.RouteMost})
		case config.RuleChannel:
			steps = rt.listStep(steps, rule, o.Channel, rt.channels[o.Channel])
		case config.RuleRegion:
			steps = rt.listStep(steps, rule, o.Channel, rt.regionList(o.ShipTo))
		}
	}
	if split {
		steps = append(steps, splitStep)
	}
	return steps
}

// splitStep splits a line over the channel's locations by priority.
var splitStep = inventory.RouteStep{Rule: config.RuleSplit, Kind: inventory.RouteSplit}

// regionList is the list of the order's destination: its country and
// region's, else its country's.
func (rt *router) regionList(to *connectors.Address) []string {
	if to == nil || to.Country == "" {
		return nil
	}
	if to.Region != "" {
		if l, ok := rt.regions[to.Country+"-"+to.Region]; ok {
			return l
		}
	}
	return rt.regions[to.Country+"-"]
}

// listStep appends a RouteFirst step over list, keeping only the
// channel's own locations; nothing when none is left.
func (rt *router) listStep(steps []inventory.RouteStep, rule, channel string, list []string) []inventory.RouteStep {
	var locs []string
	for _, l := range list {
		if slices.Contains(rt.cands[channel], l) {
			locs = append(locs, l)
		}
	}
	if len(locs) == 0 {
		return steps
	}
	return append(steps, inventory.RouteStep{Rule: rule, Kind: inventory.RouteFirst, Locations: locs})
}

// placed puts on each order line where the ledger holds its stock and the
// rule that put it there (connectors.Line.Location, Route, and a split
// line's parts, Split), for the
// downstream order. A kit line's components may sit at several locations:
// the line shows its first component's.
func placed(orders []*connectors.Order, b lineBatch, x expansion, res []inventory.LineResult) {
	done := make([]bool, len(b.states))
	for k, r := range res {
		i := x.from[k]
		if done[i] || r.Ignored == inventory.IgnoredUnknownSKU || r.Ignored == inventory.IgnoredRefused {
			continue
		}
		done[i] = true
		l := &orders[b.owner[i]].Lines[b.line[i]]
		l.Location, l.Route, l.Split = r.Location, r.Rule, nil
		if len(r.Split) > 0 {
			parts := make([]connectors.LinePart, len(r.Split))
			for k, p := range r.Split {
				parts[k] = connectors.LinePart{Location: p.Location, Units: p.Units}
			}
			l.Split = &parts
		}
	}
}
