package sim

import (
	"slices"
	"testing"
)

// TestChannelsByRank: Channels lists by rank, then by name, whatever the
// order of registration.
func TestChannelsByRank(t *testing.T) {
	registry.Lock()
	saved := registry.m
	registry.m = nil
	registry.Unlock()
	t.Cleanup(func() {
		registry.Lock()
		registry.m = saved
		registry.Unlock()
	})
	start := func(Options) Channel { return nil }
	for _, r := range []Registration{{Name: "d", Rank: 30}, {Name: "b", Rank: 10}, {Name: "c", Rank: 30}, {Name: "a", Rank: 20}} {
		r.Start = start
		Register(r)
	}
	if got, want := Channels(), []string{"b", "a", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("channels %v, want %v (by rank, then name)", got, want)
	}
}
