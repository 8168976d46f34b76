package sim_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
	_ "github.com/shelfsync/shelfsync/connectors/all" // every kind, and through its sim.go its fake
	"github.com/shelfsync/shelfsync/connectors/sim"
)

// TestRegistry: every kind connectors/all links has its simulated channel,
// named after it (the connector's sim.go links its fake), and no channel
// is without its kind; an unknown channel is an error; a second
// registration of a name panics. (The demo's order: TestChannelsByRank.)
func TestRegistry(t *testing.T) {
	got, kinds := sim.Channels(), connectors.Registered()
	if len(kinds) == 0 || !sameSet(got, kinds) {
		t.Fatalf("simulated channels %v, want one per registered kind %v", got, kinds)
	}
	if _, err := sim.Start("etsy", sim.Options{}); err == nil {
		t.Fatal("starting an unknown channel: no error")
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("registering %s twice did not panic", got[0])
		}
	}()
	sim.Register(sim.Registration{Name: got[0], Start: func(sim.Options) sim.Channel { return nil }})
}

// sameSet says whether a and b hold the same names.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestEveryChannelStartsAndConfigures: each registered fake starts, gives a
// channel config that names its kind and holds its settings, and lists
// what it is told to.
func TestEveryChannelStartsAndConfigures(t *testing.T) {
	for _, name := range sim.Channels() {
		t.Run(name, func(t *testing.T) {
			ch, err := sim.Start(name, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ch.Close()
			cfg, err := ch.Config(sim.Env{Name: name, Listen: "127.0.0.1:9", Locations: []string{"warehouse"}})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Kind != name || cfg.Settings == nil {
				t.Fatalf("config kind %q settings %v", cfg.Kind, cfg.Settings)
			}
			ch.List("SIM-1", 7)
			if q, ok := ch.Listed("SIM-1"); !ok || q != 7 {
				t.Fatalf("listed %d %v, want 7", q, ok)
			}
		})
	}
}

// TestPost signs and posts a delivery.
func TestPost(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("X-Sig")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	code, err := sim.Post(context.Background(), srv.Client(), srv.URL+"/webhooks/x", []byte(`{}`), func(h http.Header) { h.Set("X-Sig", "s") })
	if err != nil || code != http.StatusAccepted || got != "s" {
		t.Fatalf("post: %d %v, header %q", code, err, got)
	}
}
