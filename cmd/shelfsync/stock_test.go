package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestStockCLI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	conn := []string{"--redis", redistest.Addr(), "--prefix", prefix}
	with := func(args ...string) []string { return append(append([]string{"stock"}, args...), conn...) }

	steps := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		stderr   []string
		noStdout bool
	}{
		{"get unknown SKU", with("get", "SKU-1"), 1, nil, []string{"unknown SKU"}, true},
		{"history unknown SKU", with("history", "SKU-1"), 1, nil, []string{"unknown SKU"}, true},
		{"set", with("set", "SKU-1", "--location", "A", "--on-hand", "40", "--version", "10"), 0, []string{"SKU-1 @ A: on_hand 40, reserved 0, available 40"}, nil, false},
		{"older set is not applied", with("set", "SKU-1", "--location", "A", "--on-hand", "7", "--version", "9"), 0, []string{"on_hand 40", "not applied"}, nil, false},
		{"flags before the SKU", append([]string{"stock", "adjust", "--location", "A", "--delta", "-3", "--reason", "damaged", "--key", "k1", "SKU-1"}, conn...), 0, []string{"on_hand 37", "key k1"}, nil, false},
		{"repeated key", with("adjust", "SKU-1", "--location", "A", "--delta", "-3", "--reason", "damaged", "--key", "k1"), 0, []string{"on_hand 37", "already applied"}, nil, false},
		{"key reused with another delta", with("adjust", "SKU-1", "--location", "A", "--delta", "-4", "--reason", "damaged", "--key", "k1"), 1, nil, []string{"--key k1 was already used for a different request of SKU-1", "nothing changed"}, true},
		{"key reused with another reason", with("adjust", "SKU-1", "--location", "A", "--delta", "-3", "--reason", "lost", "--key", "k1"), 1, nil, []string{"different request"}, true},
		{"key reused at another location", with("adjust", "SKU-1", "--location", "B", "--delta", "-3", "--reason", "damaged", "--key", "k1"), 1, nil, []string{"different request"}, true},
		{"SKU ..", with("set", "..", "--location", "A", "--on-hand", "1"), 2, nil, []string{`sku ".." is not allowed`}, true},
		{"location .", with("adjust", "SKU-1", "--location", ".", "--delta", "1", "--reason", "found"), 2, nil, []string{`location "." is not allowed`}, true},
		{"adjust below zero", with("adjust", "SKU-1", "--location", "A", "--delta", "-99", "--reason", "lost"), 1, nil, []string{"insufficient stock"}, true},
		{"get", with("get", "SKU-1"), 0, []string{"LOCATION", "A         37       0         37"}, nil, false},
		{"history", with("history", "SKU-1", "-n", "5"), 0, []string{"count", "0 -> 40", "adjust", "40 -> 37", "damaged", "k1"}, nil, false},
		{"verify all", with("verify"), 0, []string{"ok: no inconsistencies"}, nil, false},
		{"verify named", with("verify", "SKU-1"), 0, []string{"ok"}, nil, false},
		{"verify unknown", with("verify", "NOPE"), 1, nil, []string{"unknown SKU"}, true},
		{"bad number", with("set", "SKU-1", "--location", "A", "--on-hand", "forty"), 2, nil, []string{"invalid value \"forty\""}, true},
		{"negative on-hand", with("set", "SKU-1", "--location", "A", "--on-hand", "-1"), 2, nil, []string{"--on-hand"}, true},
		{"missing location", with("set", "SKU-1", "--on-hand", "1"), 2, nil, []string{"--location is required"}, true},
		{"zero delta", with("adjust", "SKU-1", "--location", "A", "--delta", "0", "--reason", "x"), 2, nil, []string{"--delta"}, true},
		{"missing reason", with("adjust", "SKU-1", "--location", "A", "--delta", "1"), 2, nil, []string{"--reason is required"}, true},
		{"no SKU", with("get"), 2, nil, []string{"exactly one SKU"}, true},
		{"two SKUs", with("get", "A", "B"), 2, nil, []string{"exactly one SKU"}, true},
		{"bad -n", with("history", "SKU-1", "-n", "0"), 2, nil, []string{"-n must be positive"}, true},
		{"unknown subcommand", []string{"stock", "frobnicate"}, 2, nil, []string{"unknown subcommand"}, true},
		{"no subcommand", []string{"stock"}, 2, nil, []string{"usage: shelfsync stock"}, true},
		{"help", []string{"stock", "help"}, 0, []string{"usage: shelfsync stock"}, nil, false},
		{"Redis down", []string{"stock", "get", "SKU-1", "--redis", "127.0.0.1:1", "--prefix", prefix}, 1, nil, []string{"Redis at 127.0.0.1:1 does not answer"}, true},
		{"missing config file", []string{"stock", "get", "SKU-1", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 2, nil, []string{"none.yaml"}, true},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != s.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, out, errOut)
			continue
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, w, out)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", s.name, w, errOut)
			}
		}
		if s.noStdout && out != "" {
			t.Errorf("%s: failure printed to stdout: %s", s.name, out)
		}
	}

	// --json is machine-readable and matches the ledger.
	code, out, errOut := runCLI(with("get", "SKU-1", "--json")...)
	if code != 0 {
		t.Fatalf("get --json: %d %s", code, errOut)
	}
	var got struct {
		SKU       string `json:"sku"`
		Locations map[string]struct {
			OnHand    int64 `json:"on_hand"`
			Reserved  int64 `json:"reserved"`
			Available int64 `json:"available"`
		} `json:"locations"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("get --json: %v\n%s", err, out)
	}
	if got.SKU != "SKU-1" || got.Locations["A"].OnHand != 37 || got.Locations["A"].Available != 37 {
		t.Fatalf("get --json: %+v", got)
	}
	code, out, _ = runCLI(with("history", "SKU-1", "--json")...)
	var hist []struct {
		Op     string `json:"op"`
		Before struct {
			OnHand int64 `json:"on_hand"`
		} `json:"before"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &hist) != nil || len(hist) != 2 || hist[1].Op != "adjust" || hist[1].Before.OnHand != 40 {
		t.Fatalf("history --json: %d %s", code, out)
	}

	// A broken figure makes verify list it and exit 1.
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := l.ApplyLines(context.Background(), []inventory.LineState{{Channel: "c", OrderID: "o", LineID: "1", SKU: "SKU-1", Location: "A", Ordered: 2, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(context.Background(), prefix+"s:{SKU-1}", "A", "37,5").Err(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(with("verify")...)
	if code != 1 || !strings.Contains(out, "reserved differs") || !strings.Contains(errOut, "inconsistencies") {
		t.Fatalf("verify of damaged data: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(with("verify", "--json")...)
	var incs []map[string]string
	if code != 1 || json.Unmarshal([]byte(out), &incs) != nil || len(incs) == 0 || incs[0]["sku"] != "SKU-1" {
		t.Fatalf("verify --json: %d %s", code, out)
	}
}

// TestStockCLIConfig reads the Redis address and key prefix from a config file.
func TestStockCLIConfig(t *testing.T) {
	_, prefix := redistest.New(t)
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	cfg := "redis:\n  addr: " + redistest.Addr() + "\n  key_prefix: \"" + prefix + "\"\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI("stock", "set", "K", "--location", "main", "--on-hand", "3", "--config", path); code != 0 {
		t.Fatalf("set: %d %s %s", code, out, errOut)
	}
	code, out, errOut := runCLI("stock", "get", "K", "--redis", redistest.Addr(), "--prefix", prefix)
	if code != 0 || !strings.Contains(out, "main") {
		t.Fatalf("the config's prefix was not used: %d %s %s", code, out, errOut)
	}
}

// TestStockCLIReachesTheChannels: `stock set` and `stock adjust` run
// beside a live daemon are pushed to the channel by the daemon's intent
// sweeper, as every ledger writer's changes are (no reconcile needed).
func TestStockCLIReachesTheChannels(t *testing.T) {
	_, prefix := redistest.New(t)
	ff := &fakeFactory{}
	d := startDaemon(t, ff.New, "--config", writeConfig(t, prefix, shopChannel))
	fc := ff.get("shop")
	conn := []string{"--redis", redistest.Addr(), "--prefix", prefix}
	waitPushed := func(sku string, want int64) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for {
			if q, ok := fc.lastPushed(sku); ok && q == want {
				return
			}
			if time.Now().After(deadline) {
				q, ok := fc.lastPushed(sku)
				t.Fatalf("%s: last push %d (%v), want %d\n%s", sku, q, ok, want, d.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, _, stderr := runCLI(append([]string{"stock", "set", "CLI-1", "--location", "main", "--on-hand", "12"}, conn...)...); code != 0 {
		t.Fatalf("stock set: %d %s", code, stderr)
	}
	waitPushed("CLI-1", 12)
	if code, _, stderr := runCLI(append([]string{"stock", "adjust", "CLI-1", "--location", "main", "--delta", "-5", "--reason", "damaged"}, conn...)...); code != 0 {
		t.Fatalf("stock adjust: %d %s", code, stderr)
	}
	waitPushed("CLI-1", 7)
}

// TestStockCLIErrorsHideSecrets: a Redis URL's password never reaches the
// output of `stock verify` (or any stock subcommand), whether the URL is
// malformed or Redis does not answer.
func TestStockCLIErrorsHideSecrets(t *testing.T) {
	const pw = "s3cr3t-pw"
	cases := []struct {
		name, addr string
		code       int
		stderr     string
	}{
		{"Redis down", "redis://user:" + pw + "@127.0.0.1:1/0", 1, "Redis at redis://127.0.0.1:1/0 does not answer"},
		{"malformed URL", "redis://user:" + pw + "@127.0.0.1:1/%zz", 2, "not a valid redis URL"},
	}
	for _, c := range cases {
		for _, sub := range [][]string{{"verify"}, {"verify", "SKU-1"}, {"get", "SKU-1"}, {"adjust", "SKU-1", "--location", "A", "--delta", "1", "--reason", "r"}} {
			args := append(append([]string{"stock"}, sub...), "--redis", c.addr, "--prefix", "nothing:")
			code, out, errOut := runCLI(args...)
			if code != c.code || !strings.Contains(errOut, c.stderr) {
				t.Errorf("%s %v: exit %d, stderr %q; want %d containing %q", c.name, sub, code, errOut, c.code, c.stderr)
			}
			if strings.Contains(out+errOut, pw) {
				t.Errorf("%s %v: the password is printed:\n%s%s", c.name, sub, out, errOut)
			}
		}
	}
}
