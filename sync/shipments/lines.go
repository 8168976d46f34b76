package shipments

import (
	"context"
	"net/http"
	"sort"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// LineMaps reads how an order's channel lines were translated into ledger
// lines when the order was taken in (inventory/catalog: kits, mapped
// listings with a multiplier).
type LineMaps interface {
	LineMaps(ctx context.Context, channel, orderID string) (map[string]catalog.LineMap, error)
}

// LedgerLine is one ledger line a shipment moves and its units.
type LedgerLine struct {
	LineID   string `json:"line_id"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// ledgerLines is what rec moves on the ledger (records stored before
// Ledger existed: their lines).
func ledgerLines(rec *Record) []LedgerLine {
	if len(rec.Ledger) > 0 {
		return rec.Ledger
	}
	out := make([]LedgerLine, len(rec.Lines))
	for i, l := range rec.Lines {
		out[i] = LedgerLine{LineID: l.LineID, SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}

func (s *Service) lineMaps(ctx context.Context, channel, orderID string) (map[string]catalog.LineMap, error) {
	if s.o.Lines == nil {
		return nil, nil
	}
	return s.o.Lines.LineMaps(ctx, channel, orderID)
}

// channelLine is an order line as the channel has it: its id, its SKU
// (the listing) and the ledger lines it stands for.
type channelLine struct {
	id, sku string
	parts   []catalog.LinePart
}

// orderLines is an order's ledger lines seen as the channel's lines.
type orderLines struct {
	byID   map[string]inventory.LineRecord // ledger line id → record
	lines  map[string]channelLine          // channel line id → line
	ids    []string                        // channel line ids, sorted
	partOf map[string]string               // ledger line id → the channel line it is a part of (translated lines)
}

// indexLines joins the ledger's lines of an order with its translations:
// a translated channel line is its map's parts; every other ledger line is
// a channel line of its own. A map whose parts are not the ledger's lines
// of those SKUs (the catalog changed the listing's meaning between two
// states of the order) is not used.
func indexLines(recs []inventory.LineRecord, maps map[string]catalog.LineMap) orderLines {
	ol := orderLines{byID: map[string]inventory.LineRecord{}, lines: map[string]channelLine{}, partOf: map[string]string{}}
	for _, rec := range recs {
		ol.byID[rec.LineID] = rec
	}
	for id, m := range maps {
		if !ol.matches(m) {
			continue
		}
		ol.lines[id] = channelLine{id: id, sku: m.Listing, parts: m.Parts}
		for _, p := range m.Parts {
			ol.partOf[p.LineID] = id
		}
	}
	for _, rec := range recs {
		if _, ok := ol.lines[rec.LineID]; ok || ol.partOf[rec.LineID] != "" {
			continue
		}
		ol.lines[rec.LineID] = channelLine{id: rec.LineID, sku: rec.SKU, parts: []catalog.LinePart{{LineID: rec.LineID, SKU: rec.SKU, Per: 1}}}
	}
	for id := range ol.lines {
		ol.ids = append(ol.ids, id)
	}
	sort.Strings(ol.ids)
	return ol
}

// matches says whether every part of m is a ledger line of its SKU.
func (ol orderLines) matches(m catalog.LineMap) bool {
	if len(m.Parts) == 0 {
		return false
	}
	for _, p := range m.Parts {
		if rec, ok := ol.byID[p.LineID]; !ok || rec.SKU != p.SKU || p.Per <= 0 {
			return false
		}
	}
	return true
}

// open is the units of channel line id still open to ship, in the
// channel's units: the fewest whole channel units its parts have open.
func (ol orderLines) open(id string) int64 {
	best := int64(-1)
	for _, p := range ol.lines[id].parts {
		rec := ol.byID[p.LineID]
		o := (rec.Ordered - rec.Cancelled - max(rec.Shipped, rec.LocalShipped)) / p.Per
		if best < 0 || o < best {
			best = o
		}
	}
	return max(best, 0)
}

// resolve maps each request line to the channel's line (by its id, or the
// lines of a channel SKU with units open, in line id order), merges lines
// named twice, and returns the ledger lines to check and move (a kit's
// components, a pack's units) and the channel lines to confirm.
func (ol orderLines) resolve(r Request) ([]lineCheck, []connectors.ShipmentLine, error) {
	want := map[string]int64{}
	var order []string
	add := func(id string, q int64) {
		if _, ok := want[id]; !ok {
			order = append(order, id)
		}
		want[id] += q
	}
	for i, l := range r.Lines {
		if l.LineID == "" {
			if err := ol.bySKU(r, i, l, want, add); err != nil {
				return nil, nil, err
			}
			continue
		}
		if _, ok := ol.lines[l.LineID]; !ok {
			if whole := ol.partOf[l.LineID]; whole != "" {
				return nil, nil, refuse(http.StatusBadRequest, "lines[%d]: line %q is a part of the channel's line %q (a kit or a pack): ship that line, in its units", i, l.LineID, whole)
			}
			return nil, nil, refuse(http.StatusNotFound, "lines[%d]: order %s/%s has no line %q", i, r.Channel, r.OrderID, l.LineID)
		}
		add(l.LineID, l.Quantity)
	}
	var checks []lineCheck
	ship := make([]connectors.ShipmentLine, 0, len(order))
	for _, id := range order {
		cl := ol.lines[id]
		ship = append(ship, connectors.ShipmentLine{LineID: id, SKU: cl.sku, Quantity: want[id]})
		for _, p := range cl.parts {
			rec := ol.byID[p.LineID]
			loc := rec.Location
			if r.Location != "" {
				loc = r.Location
			}
			checks = append(checks, lineCheck{line: p.LineID, qty: want[id] * p.Per, shipped: rec.Shipped,
				capacity: rec.Ordered - rec.Cancelled, sku: rec.SKU, location: loc, recordLocation: rec.Location,
				channelLine: id, per: p.Per})
		}
	}
	return checks, ship, nil
}

// bySKU spreads a SKU-named line over the order's channel lines of that
// SKU (the channel's: a pack's or a kit's listing, else the line's own)
// with units open, in line id order; what no line has open goes on the
// last one, so the store's check answers 409 with its open units.
func (ol orderLines) bySKU(r Request, i int, l RequestLine, want map[string]int64, add func(string, int64)) error {
	var of []string
	for _, id := range ol.ids {
		if ol.lines[id].sku == l.SKU {
			of = append(of, id)
		}
	}
	if len(of) == 0 {
		return refuse(http.StatusNotFound, "lines[%d]: order %s/%s has no line of SKU %q", i, r.Channel, r.OrderID, l.SKU)
	}
	left := l.Quantity
	for k, id := range of {
		take := min(max(ol.open(id)-want[id], 0), left)
		if k == len(of)-1 {
			take = left
		}
		if take > 0 {
			add(id, take)
			left -= take
		}
	}
	return nil
}

// channelOpen turns the store script's open units per ledger line into
// open units per channel line, in the channel's units.
func channelOpen(open map[string]int64, checks []lineCheck) map[string]int64 {
	out := map[string]int64{}
	for _, c := range checks {
		n, ok := open[c.line]
		if !ok {
			continue
		}
		n /= c.per
		if o, seen := out[c.channelLine]; !seen || n < o {
			out[c.channelLine] = n
		}
	}
	return out
}
