package shipments

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// translated is order 9's lines as the ledger holds them after the
// catalog translated them: K1 a kit (KIT-AB: 1 A and 2 B) of 2, P1 the
// listing 6-PACK (6 units of A) of 3, A1 a plain line of 4 A.
func translated() ([]inventory.LineRecord, map[string]catalog.LineMap) {
	recs := []inventory.LineRecord{
		{LineID: "K1#A", SKU: "A", Ordered: 2, Reserved: 2, Location: "main"},
		{LineID: "K1#B", SKU: "B", Ordered: 4, Reserved: 4, Location: "main"},
		{LineID: "P1", SKU: "A", Ordered: 18, Reserved: 18, Location: "main"},
		{LineID: "P2", SKU: "A", Ordered: 6, Reserved: 6, Location: "main"},
		{LineID: "A1", SKU: "A", Ordered: 4, Reserved: 4, Location: "main"},
	}
	maps := map[string]catalog.LineMap{}
	for _, st := range []struct {
		line, listing string
		r             catalog.Resolution
	}{
		{"K1", "KIT-AB", catalog.Resolution{Kit: "KIT-AB", Parts: []catalog.Part{{SKU: "A", Per: 1}, {SKU: "B", Per: 2}}}},
		{"P1", "6-PACK", catalog.Resolution{Parts: []catalog.Part{{SKU: "A", Per: 6}}}},
		{"P2", "6-PACK", catalog.Resolution{Parts: []catalog.Part{{SKU: "A", Per: 6}}}},
	} {
		m, ok := catalog.Translation(inventory.LineState{Channel: "shop", OrderID: "9", LineID: st.line, SKU: st.listing}, st.r)
		if !ok {
			panic("not a translation: " + st.line)
		}
		maps[st.line] = m
	}
	return recs, maps
}

// TestResolveChannelLines: a shipment names the channel's lines (by id or
// by the channel's SKU) in the channel's units; it moves the ledger lines
// they stand for (a kit's components, a pack's units) and confirms the
// channel's lines.
func TestResolveChannelLines(t *testing.T) {
	type ledger map[string]int64
	type ship map[string]int64
	cases := []struct {
		name   string
		lines  []RequestLine
		ledger ledger // ledger line → units moved
		ship   ship   // channel line → units confirmed
		status int    // a refusal
	}{
		{name: "kit line by id", lines: []RequestLine{{LineID: "K1", Quantity: 2}}, ledger: ledger{"K1#A": 2, "K1#B": 4}, ship: ship{"K1": 2}},
		{name: "kit line by its listing", lines: []RequestLine{{SKU: "KIT-AB", Quantity: 1}}, ledger: ledger{"K1#A": 1, "K1#B": 2}, ship: ship{"K1": 1}},
		{name: "pack line by id", lines: []RequestLine{{LineID: "P1", Quantity: 2}}, ledger: ledger{"P1": 12}, ship: ship{"P1": 2}},
		{name: "pack listing spread over its lines in id order", lines: []RequestLine{{SKU: "6-PACK", Quantity: 4}},
			ledger: ledger{"P1": 18, "P2": 6}, ship: ship{"P1": 3, "P2": 1}},
		{name: "plain SKU is the plain line only", lines: []RequestLine{{SKU: "A", Quantity: 3}}, ledger: ledger{"A1": 3}, ship: ship{"A1": 3}},
		{name: "a line named twice is merged", lines: []RequestLine{{LineID: "K1", Quantity: 1}, {SKU: "KIT-AB", Quantity: 1}},
			ledger: ledger{"K1#A": 2, "K1#B": 4}, ship: ship{"K1": 2}},
		{name: "more than open by listing goes on the last line", lines: []RequestLine{{SKU: "6-PACK", Quantity: 5}},
			ledger: ledger{"P1": 18, "P2": 12}, ship: ship{"P1": 3, "P2": 2}},
		{name: "a kit component named by its ledger id", lines: []RequestLine{{LineID: "K1#A", Quantity: 1}}, status: http.StatusBadRequest},
		{name: "an unknown line", lines: []RequestLine{{LineID: "K2", Quantity: 1}}, status: http.StatusNotFound},
		{name: "the pack's ledger SKU is no channel SKU of it", lines: []RequestLine{{SKU: "B", Quantity: 1}}, status: http.StatusNotFound},
	}
	recs, maps := translated()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checks, lines, err := indexLines(recs, maps).resolve(Request{Channel: "shop", OrderID: "9", Lines: c.lines})
			var e *Error
			if c.status != 0 {
				if !errors.As(err, &e) || e.Status != c.status {
					t.Fatalf("err %v, want status %d", err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotLedger, gotShip := ledger{}, ship{}
			for _, ch := range checks {
				gotLedger[ch.line] += ch.qty
			}
			for _, l := range lines {
				gotShip[l.LineID] += l.Quantity
			}
			if !reflect.DeepEqual(gotLedger, c.ledger) || !reflect.DeepEqual(gotShip, c.ship) {
				t.Errorf("ledger %v ship %v, want %v and %v", gotLedger, gotShip, c.ledger, c.ship)
			}
		})
	}
}

// TestStaleLineMapIgnored: a map whose parts are not the ledger's lines of
// those SKUs (the listing's meaning changed) is not used: the ledger's
// line is its own channel line.
func TestStaleLineMapIgnored(t *testing.T) {
	recs := []inventory.LineRecord{{LineID: "P1", SKU: "C", Ordered: 5, Reserved: 5, Location: "main"}}
	_, maps := translated()
	checks, lines, err := indexLines(recs, maps).resolve(Request{Lines: []RequestLine{{LineID: "P1", Quantity: 5}}})
	if err != nil || len(checks) != 1 || checks[0].qty != 5 || checks[0].per != 1 || lines[0].SKU != "C" {
		t.Fatalf("checks %+v lines %+v err %v; want P1 as its own line of C", checks, lines, err)
	}
}

// TestChannelOpen: the store's open units per ledger line are answered per
// channel line, in its units (whole kits, whole packs).
func TestChannelOpen(t *testing.T) {
	checks := []lineCheck{{line: "K1#A", channelLine: "K1", per: 1}, {line: "K1#B", channelLine: "K1", per: 2},
		{line: "P1", channelLine: "P1", per: 6}, {line: "A1", channelLine: "A1", per: 1}}
	got := channelOpen(map[string]int64{"K1#A": 2, "K1#B": 3, "P1": 17, "A1": 4}, checks)
	if want := map[string]int64{"K1": 1, "P1": 2, "A1": 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("open %v, want %v", got, want)
	}
}

// lineMaps is a LineMaps over the real catalog's store.
type lineMaps struct{ c *catalog.Catalog }

func (l lineMaps) LineMaps(ctx context.Context, channel, orderID string) (map[string]catalog.LineMap, error) {
	return l.c.LineMaps(ctx, channel, orderID)
}

// TestSubmitKitAndPackLines: order 9 holds a kit line (K1: 2 × KIT-AB, 1
// A and 2 B each) and a pack line (P1: 1 × 6-PACK, 6 A), as ingest
// applies them (the catalog's translation recorded, the ledger's lines
// expanded). A shipment of both channel lines takes the components and
// the pack's units off the shelf and confirms the channel's lines in the
// channel's units; more than open is 409 with the channel lines' open
// units; the repeat is a repeat.
func TestSubmitKitAndPackLines(t *testing.T) {
	conf := &confirmer{answers: []connectors.ShipmentResult{{Status: connectors.ShipmentConfirmed}}}
	e := newEnv(t, conf, nil)
	ctx := context.Background()
	cat := catalog.New(e.rdb, e.prefix)
	e.s.o.Lines = lineMaps{cat}
	raw := []struct {
		st inventory.LineState
		r  catalog.Resolution
	}{
		{inventory.LineState{Channel: "shop", OrderID: "9", LineID: "K1", SKU: "KIT-AB", Location: "main", Ordered: 2, Version: 100},
			catalog.Resolution{Kit: "KIT-AB", Parts: []catalog.Part{{SKU: "A", Per: 1}, {SKU: "B", Per: 2}}}},
		{inventory.LineState{Channel: "shop", OrderID: "9", LineID: "P1", SKU: "6-PACK", Location: "main", Ordered: 1, Version: 100},
			catalog.Resolution{Parts: []catalog.Part{{SKU: "A", Per: 6}}}},
	}
	var states []inventory.LineState
	var maps []catalog.LineMap
	for _, x := range raw {
		m, _ := catalog.Translation(x.st, x.r)
		maps = append(maps, m)
		states = append(states, catalog.ExpandLine(x.st, x.r)...)
	}
	if err := cat.RecordLines(ctx, maps, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.ApplyLines(ctx, states); err != nil {
		t.Fatal(err)
	}
	// Order 1 reserves 3 A and 2 B (newEnv); order 9 2+6 A and 4 B.
	if a, b := e.figures(t, "A"), e.figures(t, "B"); a != [2]int64{10, 11} || b != [2]int64{5, 6} {
		t.Fatalf("before: A %v B %v", a, b)
	}
	r := req("kit-1", RequestLine{LineID: "K1", Quantity: 3})
	r.OrderID = "9"
	_, err := e.s.Submit(ctx, r, "api")
	var se *Error
	if !errors.As(err, &se) || se.Status != http.StatusConflict || !reflect.DeepEqual(se.Open, map[string]int64{"K1": 2}) {
		t.Fatalf("3 kits of 2: %v (%+v), want 409 with K1 open 2", err, se)
	}
	r = req("kit-1", RequestLine{LineID: "K1", Quantity: 2}, RequestLine{SKU: "6-PACK", Quantity: 1})
	r.OrderID = "9"
	for n, isNew := range []bool{true, false} {
		out, err := e.s.Submit(ctx, r, "api")
		if err != nil || out.New != isNew {
			t.Fatalf("submission %d: %+v %v", n, out, err)
		}
	}
	if a, b := e.figures(t, "A"), e.figures(t, "B"); a != [2]int64{2, 3} || b != [2]int64{1, 2} {
		t.Errorf("after: A %v B %v, want A on hand 2 reserved 3 (order 1), B 1 and 2", a, b)
	}
	ids, err := claimScript.Run(ctx, e.rdb, []string{e.s.keys("shop").queue()}, e.clock.Now().UnixMilli(), claimFor.Milliseconds(), 10).StringSlice()
	if err != nil || len(ids) != 1 {
		t.Fatalf("queued %v %v, want the one shipment", ids, err)
	}
	e.s.confirmOne(ctx, e.s.channels["shop"], ids[0], e.clock.Now().Add(claimFor).UnixMilli())
	got := conf.calls()
	want := []connectors.ShipmentLine{{LineID: "K1", SKU: "KIT-AB", Quantity: 2}, {LineID: "P1", SKU: "6-PACK", Quantity: 1}}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Lines, want) {
		t.Fatalf("confirmed %+v, want the channel's lines %+v", got, want)
	}
}
