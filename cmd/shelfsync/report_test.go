package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
	reports "github.com/shelfsync/shelfsync/inventory/report"
)

// TestReportCLI: orders placed through the ledger (now), then each report
// and format, and bad input: exit 2 naming the accepted values.
func TestReportCLI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	for _, sku := range []string{"K1", "K2"} {
		if _, err := l.Receive(ctx, inventory.Delta{Key: "r", SKU: sku, Location: "w1", Quantity: 20}); err != nil {
			t.Fatal(err)
		}
	}
	v := time.Now().UnixMilli()
	lines := []inventory.LineState{
		{Channel: "shop", OrderID: "1", LineID: "a", SKU: "K1", Location: "w1", Ordered: 3, Version: v},
		{Channel: "shop", OrderID: "1", LineID: "b", SKU: "K2", Location: "w1", Ordered: 1, Version: v},
		{Channel: "ebay", OrderID: "9", LineID: "a", SKU: "K1", Location: "w1", Ordered: 2, Version: v},
		{Channel: "ebay", OrderID: "9", LineID: "a", SKU: "K1", Location: "w1", Ordered: 2, Cancelled: 2, Version: v + 1},
	}
	if _, err := l.ApplyLines(ctx, lines); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--redis", redistest.Addr(), "--prefix", prefix}
	with := func(args ...string) []string { return append(append([]string{"report"}, args...), conn...) }
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"by channel, csv", with("sales", "--format", "csv"), 0, []string{
			"channel,orders,units,cancelled_orders,cancelled_units,returned_orders,returned_units,net_units\n",
			"ebay,1,2,1,2,0,0,0\n", "shop,1,4,0,0,0,0,4\n", "total,2,6,1,2,0,0,4\n"}, nil},
		{"by sku, table", with("sales", "--since", "1d", "--by", "sku"), 0, []string{"2 SKUs moved", "NET UNITS", "K2"}, nil},
		{"stock csv", with("stock"), 0, []string{"sku,location,on_hand,reserved,available,reorder_point", "K1,w1,20,3,17,,,3,3,", "K2,w1,20,1,19,,,1,1,"}, nil},
		{"stock table", with("stock", "--format", "table"), 0, []string{"ON HAND", "K1", "-"}, nil},
		{"bad period", with("sales", "--since", "last week"), 2, nil, []string{`since "last week" is not a period`, "7d, 30d, 24h, 2w"}},
		{"bad grouping", with("sales", "--by", "week"), 2, nil, []string{`by "week"`, "channel, sku, day"}},
		{"bad format", with("stock", "--format", "xlsx"), 2, nil, []string{`format "xlsx"`, "table, csv, json"}},
		{"unknown subcommand", with("orders"), 2, nil, []string{`unknown subcommand "orders"`}},
		{"Redis down", []string{"report", "sales", "--redis", "127.0.0.1:1"}, 1, nil, []string{"does not answer"}},
	}
	for _, s := range steps {
		code, out, errOut := runCLI(s.args...)
		if code != s.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", s.name, code, s.code, out, errOut)
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
	}
	code, out, errOut := runCLI(with("sales", "--by", "day", "--format", "json")...)
	var s reports.Sales
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
		t.Fatalf("json: exit %d %s %s", code, out, errOut)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if s.By != reports.ByDay || len(s.Rows) != 1 || s.Rows[0].Key != today || s.Total.Orders != 2 || s.Total.NetUnits != 4 {
		t.Fatalf("json report %+v", s)
	}
}
