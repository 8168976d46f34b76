package config

import (
	"strings"
	"testing"
	"time"
)

// onboardingYAML is a config with one channel whose poll_lookback and
// sync_mode lines are filled in by each case.
func onboardingYAML(syncMode, channelLines string) string {
	return `redis:
  addr: 127.0.0.1:6379
locations:
  - id: main
sync:
` + syncMode + `
channels:
  - name: shop
    kind: shopify
    credentials:
      access_token: tok
    webhook:
      disabled: true
    poll: "@every 1m"
    locations: [main]
    shopify:
      shop: example.myshopify.com
      location_ids:
        main: gid://shopify/Location/1
` + channelLines + "\n"
}

func TestPollLookbackAndSyncMode(t *testing.T) {
	cases := []struct {
		name, sync, channel string
		lookback            time.Duration
		mode                string
		problem             string
	}{
		{name: "defaults", sync: "  workers: 2", lookback: 24 * time.Hour, mode: ModeLive},
		{name: "lookback zero starts from now", sync: "  workers: 2", channel: "    poll_lookback: 0s", lookback: 0, mode: ModeLive},
		{name: "lookback 2h", sync: "  workers: 2", channel: "    poll_lookback: 2h", lookback: 2 * time.Hour, mode: ModeLive},
		{name: "negative lookback", sync: "  workers: 2", channel: "    poll_lookback: -1h", problem: "poll_lookback"},
		{name: "global shadow", sync: "  mode: shadow", lookback: 24 * time.Hour, mode: ModeShadow},
		{name: "channel live overrides global shadow", sync: "  mode: shadow", channel: "    sync_mode: live", lookback: 24 * time.Hour, mode: ModeLive},
		{name: "channel shadow", sync: "  mode: live", channel: "    sync_mode: shadow", lookback: 24 * time.Hour, mode: ModeShadow},
		{name: "bad global mode", sync: "  mode: dry", problem: "sync.mode"},
		{name: "bad channel mode", sync: "  workers: 2", channel: "    sync_mode: dry", problem: "sync_mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("onboarding.yaml", []byte(onboardingYAML(tc.sync, tc.channel)))
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
			if ch.PollLookback == nil || *ch.PollLookback != tc.lookback {
				t.Errorf("poll_lookback = %v, want %v", ch.PollLookback, tc.lookback)
			}
			if got := cfg.ChannelMode(ch); got != tc.mode {
				t.Errorf("mode = %q, want %q", got, tc.mode)
			}
		})
	}
}
