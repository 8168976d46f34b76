package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/connectors/sim"
	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// TestLinkReportAgainstTheFakes: `shelfsync link` pages through every
// fake's listings (more than one page on each: 205 filler listings) with
// the real connectors, links them through the catalog and the ledger, and
// sets what each shows against what shelfsync would push; it writes
// nothing to the channels.
func TestLinkReportAgainstTheFakes(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	path, fakes := fakesConfig(t, prefix, nil)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for sku, q := range map[string]int64{"SKU-A": 12, "SKU-B": 5, "SKU-C": 4} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "seed", SKU: sku, Location: "main", Quantity: q, Reason: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.New(rdb, prefix)
	plan := catalog.Plan{Kits: []catalog.Kit{{SKU: "KIT", Components: []catalog.Component{{SKU: "SKU-A", Quantity: 1}, {SKU: "SKU-B", Quantity: 1}}}}}
	for name, f := range fakes {
		plan.Mappings = append(plan.Mappings, catalog.Mapping{Channel: name, Listing: "6-PACK", SKU: "SKU-A", Multiplier: 6})
		for sku, q := range map[string]int64{"SKU-A": 3, "6-PACK": 2, "KIT": 5, "STRAY": 1} {
			f.List(sku, q)
		}
		for i := 0; i < 205; i++ {
			f.List(fmt.Sprintf("FILL-%03d", i), 0)
		}
	}
	if _, err := cat.Apply(ctx, plan, "test"); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := linkCmd(ctx, []string{"--config", path, "--json"}, &out, &errb, connectors.New); code != 0 {
		t.Fatalf("exit %d\nstderr %s", code, errb.String())
	}
	var rows []linkRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // status sku via shows would
		"SKU-A":  "linked SKU-A same SKU 3 12",
		"6-PACK": "linked SKU-A mapping ×6 2 2",
		"KIT":    "linked KIT kit 5 5",
		"STRAY":  "unknown   1 -",
		"!SKU-B": "missing SKU-B  - 5",
		"!SKU-C": "missing SKU-C  - 4",
	}
	for _, name := range sim.Channels() {
		got, unknown := map[string]string{}, 0
		for _, r := range rows {
			if r.Channel != name {
				continue
			}
			key := r.Listing
			if r.Status == "missing" {
				key = "!" + r.SKU
			}
			got[key] = fmt.Sprintf("%s %s %s %s %s", r.Status, r.SKU, r.Via, optInt(r.Shows, "-"), optInt(r.WouldPush, "-"))
			if r.Status == "unknown" {
				unknown++
			}
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s %s: %q, want %q", name, k, got[k], w)
			}
		}
		if unknown != 206 || len(got) != 211 {
			for k, v := range got {
				if _, ok := want[k]; !ok && !strings.HasPrefix(k, "FILL-") {
					t.Logf("%s: extra row %s: %s", name, k, v)
				}
			}
			t.Errorf("%s: %d unknown of %d rows, want 206 of 211 (every page read)", name, unknown, len(got))
		}
		if !strings.Contains(errb.String(), "link: "+name+": page 2,") {
			t.Errorf("%s: no progress line of a second page in %s", name, errb.String())
		}
		if q, _ := fakes[name].Listed("SKU-A"); q != 3 {
			t.Errorf("%s lists SKU-A %d after the report, want 3 (untouched)", name, q)
		}
	}
	linkOutputs(t, path, sim.Channels()[0])
}

// linkOutputs: the table, CSV to a file, usage errors.
func linkOutputs(t *testing.T, path, first string) {
	ctx := context.Background()
	csvPath := filepath.Join(t.TempDir(), "link.csv")
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"table of one channel", []string{"--config", path, "--channel", first}, 0,
			[]string{"CHANNEL", "6-PACK", "mapping ×6", "channel " + first + ": 3 linked, 206 unknown, 2 ledger SKUs missing"}},
		{"csv", []string{"--config", path, "--channel", first, "--csv", csvPath}, 0, nil},
		{"unknown channel", []string{"--config", path, "--channel", "nope"}, 2, nil},
		{"no config", nil, 2, nil},
		{"json and csv", []string{"--config", path, "--json", "--csv", "x"}, 2, nil},
		{"an argument", []string{"--config", path, "extra"}, 2, nil},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := linkCmd(ctx, c.args, &out, &errb, connectors.New); code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, c.code, errb.String())
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, out.String())
			}
		}
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 1+211 || strings.Join(recs[0], ",") != "channel,listing,status,sku,via,channel_shows,would_push,location,channel_location,location_state" {
		t.Fatalf("csv: %d records, %v; head %v", len(recs), err, recs[:1])
	}
}

// TestLinkProgress: a bar redrawn in place on a terminal, a line per page
// otherwise.
func TestLinkProgress(t *testing.T) {
	var bar, lines bytes.Buffer
	(&linker{stderr: &bar, bar: true}).progress("shop", 1, 50, 200, false)
	(&linker{stderr: &bar, bar: true}).progress("shop", 2, 200, 200, true)
	if got := bar.String(); !strings.HasPrefix(got, "\rshop") || !strings.Contains(got, "[#######") || !strings.Contains(got, "200 of 200 listings\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("bar: %q", got)
	}
	l := &linker{stderr: &lines}
	l.progress("bay", 1, 25, -1, false)
	l.progress("bay", 1, 25, 25, true)
	if got := lines.String(); got != "link: bay: page 1, 25 listings read\n" {
		t.Errorf("lines: %q", got)
	}
}
