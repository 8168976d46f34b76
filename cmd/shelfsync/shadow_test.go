package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/sim"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/sync/shadow"
)

// fakesConfig starts every simulated channel's fake and writes a config of
// them under the shared test Redis and prefix; it returns its path and
// the fakes by channel name.
func fakesConfig(t *testing.T, prefix string, mutate func(*config.Config)) (string, map[string]sim.Channel) {
	t.Helper()
	cfg := config.Default()
	cfg.Redis.KeyPrefix = prefix
	cfg.Locations = []config.Location{{ID: "main"}}
	fakes := map[string]sim.Channel{}
	for _, name := range sim.Channels() {
		fake, err := sim.Start(name, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fake.Close)
		ch, err := fake.Config(sim.Env{Name: name, Listen: "127.0.0.1:1", Locations: []string{"main"}})
		if err != nil {
			t.Fatal(err)
		}
		ch.Locations = []string{"main"}
		cfg.Channels = append(cfg.Channels, ch)
		fakes[name] = fake
	}
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	text, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, fakes
}

// TestShadowReportAgainstTheFakes: the report reads each fake's listing
// through the real connector's read role and sets it against the recorded
// would-be push; it writes nothing to the channels.
func TestShadowReportAgainstTheFakes(t *testing.T) {
	rdb, prefix := redistest.New(t)
	path, fakes := fakesConfig(t, prefix, func(c *config.Config) { c.Sync.Mode = config.ModeShadow })
	rec := shadow.New(rdb, prefix, 0)
	for name, f := range fakes {
		f.List("SKU-A", 3)
		f.List("SKU-B", 5)
		if err := rec.Record(context.Background(), name, []shadow.Entry{{SKU: "SKU-A", Quantity: 8, At: time.Now()}, {SKU: "SKU-B", Quantity: 5, At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	names := sim.Channels()
	first, second := names[0], names[1]
	every := []string{"SKU-A                          would push      8  channel shows      3"}
	for _, n := range names {
		every = append(every, "channel "+n+" (shadow): 2 listings recorded, 1 differ")
	}
	cases := []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{"every channel", []string{"report", "--config", path}, 0, every, []string{"not read"}},
		{"one channel", []string{"report", "--config", path, "--channel", second}, 0, []string{"channel " + second}, []string{"channel " + first}},
		{"json", []string{"report", "--config", path, "--channel", first, "--json"}, 0, []string{`"would_push": 8`, `"channel_shows": 3`, `"differing": 1`}, nil},
		{"unknown channel", []string{"report", "--config", path, "--channel", "nope"}, 2, nil, nil},
		{"no config", []string{"report"}, 2, nil, nil},
		{"no subcommand", nil, 2, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := shadowCmd(context.Background(), c.args, &out, &errb, connectors.New)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, c.code, out.String(), errb.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, n := range c.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("output has %q:\n%s", n, out.String())
				}
			}
		})
	}
	for name, f := range fakes {
		if q, _ := f.Listed("SKU-A"); q != 3 {
			t.Errorf("%s lists SKU-A %d after the report, want 3 (untouched)", name, q)
		}
	}
}
