package ebay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/connectors"
)

var update = flag.Bool("update", false, "rewrite the testdata golden files")

// sharedFixturesEnv names the project's shared conformance fixtures
// directory (one folder per channel kind). CI sets it when the shared set
// is checked out; when it is unset only the copies in testdata/ are read.
const sharedFixturesEnv = "SHELFSYNC_FIXTURES"

// vectorsSHA256 is the fixture's hash in the conformance SOURCES.md: the
// local copy must stay verbatim.
const vectorsSHA256 = "05ed1f92299042ef1b4b42ec26085eada42846525a1e245e1550bfabfd7976e3"

func TestVectorsCopyIsVerbatim(t *testing.T) {
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != vectorsSHA256 {
		t.Fatalf("sha256 of %s = %s; want %s (the published file)", vectorsFile, got, vectorsSHA256)
	}
}

// TestNormalizeGolden: every testdata payload (the published eBay
// fixtures are copied there verbatim) normalizes to its golden events (or
// its golden error).
func TestNormalizeGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out := normalizeForGolden(t, data)
			golden := goldenFile(f)
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("Normalize(%s) differs from %s:\n%s", f, golden, out)
			}
		})
	}
	if n < 6 {
		t.Fatalf("only %d payloads found", n)
	}
}

// TestNormalizeSharedFixtures runs every eBay fixture of the shared set
// named by SHELFSYNC_FIXTURES: each must have an identical copy in
// testdata/ (so the default run reads it) and normalize to that copy's
// golden events. Skipped only when the variable is unset.
func TestNormalizeSharedFixtures(t *testing.T) {
	root := os.Getenv(sharedFixturesEnv)
	if root == "" {
		t.Skipf("%s is not set: only the copies in testdata/ are read", sharedFixturesEnv)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("%s=%s is not a directory of conformance fixtures (%v)", sharedFixturesEnv, root, err)
	}
	files, err := filepath.Glob(filepath.Join(root, Kind, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("%s=%s holds no %s/*.json", sharedFixturesEnv, root, Kind)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out := normalizeForGolden(t, data)
			local := filepath.Join("testdata", filepath.Base(f))
			mine, err := os.ReadFile(local)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				t.Fatalf("no copy %s: copy it verbatim (and name its source in testdata/README.md), then run with -update", local)
			case err != nil:
				t.Fatal(err)
			case !bytes.Equal(mine, data):
				t.Fatalf("%s differs from the shared %s: copy it again", local, f)
			}
			want, err := os.ReadFile(goldenFile(local))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("Normalize(%s) differs from %s:\n%s", f, goldenFile(local), out)
			}
		})
	}
}

// goldenFile is the golden file of a testdata payload.
func goldenFile(payload string) string {
	return filepath.Join("testdata", strings.TrimSuffix(filepath.Base(payload), ".json")+".golden.json")
}

// normalizeForGolden normalizes data and renders the events (or the
// reason it was ignored) as the golden files hold them; a refusal fails
// the test, and every order must be consistent.
func normalizeForGolden(t *testing.T, data []byte) []byte {
	t.Helper()
	events, err := connectors.Normalize(Kind, "ebay-test", data)
	got := struct {
		Events  []connectors.Event `json:"events"`
		Ignored string             `json:"ignored,omitempty"`
	}{Events: events}
	switch {
	case errors.Is(err, connectors.ErrIgnored):
		got.Ignored = err.Error()
	case err != nil:
		t.Fatalf("Normalize: %v", err)
	}
	for _, ev := range events {
		if ev.Order != nil {
			if err := ev.Order.Validate(); err != nil {
				t.Errorf("order %s: %v", ev.Order.OrderID, err)
			}
		}
	}
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestOrderMapping pins the status and line rules on the written page.
func TestOrderMapping(t *testing.T) {
	data, err := os.ReadFile("testdata/orders_page.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := Normalize("ebay-test", data)
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ qty, shipped, cancelled int64 }
	want := map[string]struct {
		status connectors.OrderStatus
		lines  []line
	}{
		"14-09021-33817": {connectors.StatusOpen, []line{{2, 0, 0}}},
		"03-09017-51920": {connectors.StatusPartiallyShipped, []line{{1, 1, 0}, {3, 0, 0}}},
		"22-09003-11455": {connectors.StatusShipped, []line{{1, 1, 0}}},
		"08-09012-70331": {connectors.StatusCancelled, []line{{4, 0, 4}}},
		"17-09020-02274": {connectors.StatusOpen, []line{{1, 0, 0}, {2, 0, 0}}},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events; want %d", len(events), len(want))
	}
	for _, ev := range events {
		o := ev.Order
		w, ok := want[o.OrderID]
		if !ok || o.Status != w.status || len(o.Lines) != len(w.lines) {
			t.Errorf("order %s: status %s, %d lines; want %+v", o.OrderID, o.Status, len(o.Lines), w)
			continue
		}
		// shippingStep.shipTo.contactAddress: only 14-09021-33817 has one.
		if to := o.ShipTo; o.OrderID == "14-09021-33817" && (to == nil || *to != connectors.Address{Country: "US", Region: "CA"}) || o.OrderID != "14-09021-33817" && to != nil {
			t.Errorf("order %s ships to %+v", o.OrderID, to)
		}
		for i, l := range o.Lines {
			if (line{l.Quantity, l.Shipped, l.Cancelled}) != w.lines[i] {
				t.Errorf("order %s line %d = %+v; want %+v", o.OrderID, i, l, w.lines[i])
			}
		}
	}
	pending, err := os.ReadFile("testdata/order_pending_payment.json")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Normalize("ebay-test", pending)
	if err != nil || len(ev) != 1 || ev[0].Order.Status != connectors.StatusPending {
		t.Fatalf("pending order = %+v, %v; want pending", ev, err)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct{ name, body string }{
		{"not JSON", `nope`},
		{"unknown shape", `{"foo":1}`},
		{"order without id", `{"orders":[{"orderId":"","lastModifiedDate":"2026-01-01T00:00:00.000Z"}]}`},
		{"bad date", `{"orderId":"1","lastModifiedDate":"yesterday","lineItems":[]}`},
		{"line without quantity", `{"orderId":"1","lastModifiedDate":"2026-01-01T00:00:00.000Z","lineItems":[{"lineItemId":"1","sku":"A"}]}`},
		{"duplicate line ids", `{"orderId":"1","lastModifiedDate":"2026-01-01T00:00:00.000Z","lineItems":[{"lineItemId":"1","sku":"A","quantity":1},{"lineItemId":"1","sku":"B","quantity":1}]}`},
		{"notification without topic", `{"metadata":{},"notification":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ev, err := Normalize("c", []byte(tc.body)); err == nil || errors.Is(err, connectors.ErrIgnored) {
				t.Fatalf("Normalize = %v, %v; want an error", ev, err)
			}
		})
	}
}
