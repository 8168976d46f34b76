package config

import (
	"strings"
	"testing"
)

// TestStockMode: stock_mode defaults to single; per_location is taken;
// anything else, zero_unmapped_locations without per_location, and a
// per_location channel's location id that would break its outbox keys
// (an "@", a leading "!") are refused with their key.
func TestStockMode(t *testing.T) {
	cases := []struct {
		name, channel, loc string
		mode               string
		zero               bool
		problem            string
	}{
		{name: "default single", mode: StockSingle},
		{name: "per_location", channel: "    stock_mode: per_location", mode: StockPerLocation},
		{name: "per_location zeroing", channel: "    stock_mode: per_location\n    zero_unmapped_locations: true", mode: StockPerLocation, zero: true},
		{name: "unknown mode", channel: "    stock_mode: sum", problem: "channels[0].stock_mode"},
		{name: "zeroing needs per_location", channel: "    zero_unmapped_locations: true", problem: "channels[0].zero_unmapped_locations"},
		{name: "@ in a per_location location", channel: "    stock_mode: per_location", loc: "main@eu", problem: "channels[0].locations[0]"},
		{name: "! leading a per_location location", channel: "    stock_mode: per_location", loc: "!main", problem: "channels[0].locations[0]"},
		{name: "@ is fine in single mode", loc: "main@eu", mode: StockSingle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := onboardingYAML("  workers: 2", tc.channel)
			if tc.loc != "" {
				y = strings.ReplaceAll(y, "main", `"`+tc.loc+`"`)
			}
			cfg, err := Parse("stockmode.yaml", []byte(y))
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Fatalf("err = %v, want one naming %s", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ch := cfg.Channels[0]
			if ch.StockMode != tc.mode || ch.ZeroUnmappedLocations != tc.zero || ch.PerLocation() != (tc.mode == StockPerLocation) {
				t.Errorf("stock_mode %q zero %v, want %q %v", ch.StockMode, ch.ZeroUnmappedLocations, tc.mode, tc.zero)
			}
		})
	}
}
