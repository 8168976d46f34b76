package ingest

import (
	"reflect"
	"testing"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
)

func TestRouterRoute(t *testing.T) {
	chans := []config.Channel{{Name: "shop", Locations: []string{"east", "west"}}, {Name: "ebay", Locations: []string{"east"}}}
	locs := []config.Location{{ID: "east", Priority: 1}, {ID: "west", Priority: 2}}
	all := config.Routing{
		Rules:    []string{"single_location", "region", "channel", "priority", "most_available"},
		Channels: []config.ChannelRoute{{Channel: "shop", Locations: []string{"west", "east"}}},
		Regions: []config.RegionRoute{
			{Country: "US", Region: "CA", Locations: []string{"west"}},
			{Country: "US", Locations: []string{"east", "west"}},
		},
	}
	single := inventory.RouteStep{Rule: "single_location", Kind: inventory.RouteWhole}
	prio := inventory.RouteStep{Rule: "priority", Kind: inventory.RouteFirst}
	most := inventory.RouteStep{Rule: "most_available", Kind: inventory.RouteMost}
	split := inventory.RouteStep{Rule: "split", Kind: inventory.RouteSplit}
	list := func(rule string, l ...string) inventory.RouteStep {
		return inventory.RouteStep{Rule: rule, Kind: inventory.RouteFirst, Locations: l}
	}
	for _, c := range []struct {
		name    string
		routing config.Routing
		order   connectors.Order
		want    []inventory.RouteStep
	}{
		{"no rules: the ledger's priority", config.Routing{}, connectors.Order{Channel: "shop"}, nil},
		{"the channel's location: no route", all, connectors.Order{Channel: "shop", Location: "east"}, nil},
		{"no destination: no region step", all, connectors.Order{Channel: "shop"},
			[]inventory.RouteStep{single, list("channel", "west", "east"), prio, most}},
		{"country and region", all, connectors.Order{Channel: "shop", ShipTo: &connectors.Address{Country: "US", Region: "CA"}},
			[]inventory.RouteStep{single, list("region", "west"), list("channel", "west", "east"), prio, most}},
		{"another region: the country's list", all, connectors.Order{Channel: "shop", ShipTo: &connectors.Address{Country: "US", Region: "NY"}},
			[]inventory.RouteStep{single, list("region", "east", "west"), list("channel", "west", "east"), prio, most}},
		{"an unlisted country: no region step", all, connectors.Order{Channel: "shop", ShipTo: &connectors.Address{Country: "DE"}},
			[]inventory.RouteStep{single, list("channel", "west", "east"), prio, most}},
		{"only the channel's locations; no list of its own", all, connectors.Order{Channel: "ebay", ShipTo: &connectors.Address{Country: "US", Region: "CA"}},
			[]inventory.RouteStep{single, prio, most}},
		{"split on, no rules: priority, then split", config.Routing{Split: true}, connectors.Order{Channel: "ebay"},
			[]inventory.RouteStep{prio, split}},
		{"split on: before most_available (it places every line whole)", withSplit(all, true), connectors.Order{Channel: "ebay"},
			[]inventory.RouteStep{single, prio, split, most}},
		{"split for one channel: another's route has none", withSplit(all, false, "shop"), connectors.Order{Channel: "ebay"},
			[]inventory.RouteStep{single, prio, most}},
		{"split for one channel: its route", config.Routing{Rules: []string{"single_location"}, SplitChannels: []string{"shop"}}, connectors.Order{Channel: "shop"},
			[]inventory.RouteStep{single, split}},
		{"split on, the channel's location: no route", config.Routing{Split: true}, connectors.Order{Channel: "shop", Location: "east"}, nil},
	} {
		rt := newRouter(c.routing, Candidates(chans, locs))
		if got := rt.route(&c.order); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestNewAddress(t *testing.T) {
	for _, c := range []struct {
		country, region string
		want            *connectors.Address
	}{
		{"us", "ca", &connectors.Address{Country: "US", Region: "CA"}},
		{"US", "US-CA", &connectors.Address{Country: "US", Region: "CA"}},
		{" DE ", "", &connectors.Address{Country: "DE"}},
		{"", "CA", nil},
	} {
		if got := connectors.NewAddress(c.country, c.region); !reflect.DeepEqual(got, c.want) {
			t.Errorf("NewAddress(%q, %q) = %+v, want %+v", c.country, c.region, got, c.want)
		}
	}
}

func withSplit(r config.Routing, all bool, channels ...string) config.Routing {
	r.Split, r.SplitChannels = all, channels
	return r
}
