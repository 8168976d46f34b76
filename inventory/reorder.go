package inventory

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reorder is one location's reorder setting of a SKU. The SKU's signals
// compare its available stock summed over locations with the sum of its
// locations' points (and report the sum of their quantities).
type Reorder struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
	Point    int64  `json:"reorder_point"`
	Qty      *int64 `json:"reorder_qty,omitempty"` // nil: none
	Line     int    `json:"-"`                     // the file's line (ParseReorderCSV)
	// Default, in an effective setting (EffectiveReorder), names the
	// default the point comes from (its location or "*"); "" for the
	// SKU's own point.
	Default string `json:"default,omitempty"`
}

// ReorderSetting is a SKU's reorder settings and signal state.
type ReorderSetting struct {
	SKU       string    `json:"sku"`
	Point     int64     `json:"reorder_point"`         // sum over locations
	Qty       *int64    `json:"reorder_qty,omitempty"` // sum of those given
	State     string    `json:"state"`                 // "", "low" or "out"
	Locations []Reorder `json:"locations"`
}

// SetReorder sets one location's reorder point (and quantity) of a SKU,
// journals the change with source, and evaluates the SKU's signal state at
// once. It returns the location's previous setting, nil if none.
func (l *Ledger) SetReorder(ctx context.Context, r Reorder, source string) (*Reorder, error) {
	if err := checkReorder(r); err != nil {
		return nil, fmt.Errorf("set reorder point: %w", err)
	}
	q := ""
	if r.Qty != nil {
		q = strconv.FormatInt(*r.Qty, 10)
	}
	return l.runReorder(ctx, r.SKU, r.Location, strconv.FormatInt(r.Point, 10), q, source)
}

// RemoveReorder removes one location's reorder setting; a SKU with none
// left has no signals (its state is forgotten).
func (l *Ledger) RemoveReorder(ctx context.Context, sku, location, source string) (*Reorder, error) {
	if err := checkSKU(sku); err != nil {
		return nil, fmt.Errorf("remove reorder point: %w", err)
	}
	if err := checkLocation("location", location); err != nil {
		return nil, fmt.Errorf("remove reorder point: %w", err)
	}
	return l.runReorder(ctx, sku, location, "", "", source)
}

func checkReorder(r Reorder) error {
	if err := checkSKU(r.SKU); err != nil {
		return err
	}
	if err := checkLocation("location", r.Location); err != nil {
		return err
	}
	if err := checkQuantity("reorder point", r.Point); err != nil {
		return err
	}
	if r.Qty != nil {
		return checkQuantity("reorder quantity", *r.Qty)
	}
	return nil
}

func (l *Ledger) runReorder(ctx context.Context, sku, loc, point, qty, source string) (*Reorder, error) {
	if point != "" {
		if err := l.configureSignals(ctx); err != nil {
			return nil, fmt.Errorf("reorder point of %s at %s: %w", sku, loc, err)
		}
	}
	rkey, ekey, rj := l.signalKeys(sku)
	keys := []string{l.keys(sku).stock, rkey, ekey, rj}
	old, err := l.reorder.Run(ctx, l.rdb, keys, loc, point, qty, l.nowMS(), source, l.maxLen(), l.defsArg(ctx)).Text()
	if err != nil {
		return nil, fmt.Errorf("reorder point of %s at %s: %w", sku, loc, err)
	}
	if old == "unknown_sku" {
		return nil, fmt.Errorf("reorder point of %s: %w", sku, ErrUnknownSKU)
	}
	// The script may have appended an event (a SKU already below its new
	// point, a point removed from a low SKU): a reorder change is rare, so
	// the SKU is marked for the sweeper every time.
	if !l.opts.NoSignals {
		if err := l.markSignals(ctx, []string{sku}); err != nil {
			return nil, err
		}
	}
	if old == "" {
		return nil, nil
	}
	prev, err := decodeReorder(sku, loc, old)
	if err != nil {
		return nil, err
	}
	return &prev, nil
}

func decodeReorder(sku, loc, v string) (Reorder, error) {
	ps, qs, ok := strings.Cut(v, ",")
	p, err := strconv.ParseInt(ps, 10, 64)
	if !ok || err != nil {
		return Reorder{}, fmt.Errorf("reorder setting of %s at %s: corrupt %q", sku, loc, v)
	}
	r := Reorder{SKU: sku, Location: loc, Point: p}
	if qs != "" {
		q, err := strconv.ParseInt(qs, 10, 64)
		if err != nil {
			return Reorder{}, fmt.Errorf("reorder setting of %s at %s: corrupt %q", sku, loc, v)
		}
		r.Qty = &q
	}
	return r, nil
}

// ReorderOf reads a SKU's reorder settings; ok is false when it has none.
func (l *Ledger) ReorderOf(ctx context.Context, sku string) (ReorderSetting, bool, error) {
	rkey, _, _ := l.signalKeys(sku)
	m, err := l.rdb.HGetAll(ctx, rkey).Result()
	if err != nil {
		return ReorderSetting{}, false, fmt.Errorf("reading reorder points of %s: %w", sku, err)
	}
	return decodeReorderHash(sku, m)
}

func decodeReorderHash(sku string, m map[string]string) (ReorderSetting, bool, error) {
	if _, ok := m["P"]; !ok {
		// No own point; a state may be a default's (EffectiveReorder).
		return ReorderSetting{SKU: sku, State: m["st"]}, false, nil
	}
	s := ReorderSetting{SKU: sku, State: m["st"]}
	var err error
	if s.Point, err = strconv.ParseInt(m["P"], 10, 64); err != nil {
		return s, false, fmt.Errorf("reorder point of %s: corrupt %q", sku, m["P"])
	}
	if qs, ok := m["Q"]; ok {
		q, err := strconv.ParseInt(qs, 10, 64)
		if err != nil {
			return s, false, fmt.Errorf("reorder quantity of %s: corrupt %q", sku, qs)
		}
		s.Qty = &q
	}
	for f, v := range m {
		if loc, ok := strings.CutPrefix(f, "p:"); ok {
			r, err := decodeReorder(sku, loc, v)
			if err != nil {
				return s, false, err
			}
			s.Locations = append(s.Locations, r)
		}
	}
	sort.Slice(s.Locations, func(i, j int) bool { return s.Locations[i].Location < s.Locations[j].Location })
	return s, true, nil
}

// ReorderChange is one journaled change of a reorder setting.
type ReorderChange struct {
	Time     time.Time `json:"time"`
	Location string    `json:"location"`
	Old      string    `json:"old"` // "point,qty" or "" (none)
	New      string    `json:"new"`
	Source   string    `json:"source"`
}

// ReorderHistory returns the SKU's newest n reorder changes, oldest first.
func (l *Ledger) ReorderHistory(ctx context.Context, sku string, n int64) ([]ReorderChange, error) {
	_, _, rj := l.signalKeys(sku)
	msgs, err := l.rdb.XRevRangeN(ctx, rj, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading reorder journal of %s: %w", sku, err)
	}
	return decodeReorderChanges(msgs), nil
}

func decodeReorderChanges(msgs []redis.XMessage) []ReorderChange {
	out := make([]ReorderChange, len(msgs))
	for i, m := range msgs {
		c := ReorderChange{}
		c.Location, _ = m.Values["location"].(string)
		c.Old, _ = m.Values["old"].(string)
		c.New, _ = m.Values["new"].(string)
		c.Source, _ = m.Values["source"].(string)
		ts, _ := m.Values["t"].(string)
		ms, _ := strconv.ParseInt(ts, 10, 64)
		c.Time = time.UnixMilli(ms)
		out[len(msgs)-1-i] = c
	}
	return out
}

// ReorderLineError is one bad row of a reorder file.
type ReorderLineError struct {
	Line int
	Key  string // the column (or "header")
	Err  error
}

func (e ReorderLineError) Error() string { return fmt.Sprintf("line %d: %s: %v", e.Line, e.Key, e.Err) }

// ParseReorderCSV reads a reorder file (header sku,location,reorder_point
// and optionally reorder_qty; an empty reorder_qty is none) and checks
// every row: SKU and location well formed, the location one of locations,
// point and quantity non-negative integers. It returns every bad row, each
// with its line; the caller applies nothing unless there are none.
func ParseReorderCSV(r io.Reader, locations []string) ([]Reorder, []ReorderLineError) {
	known := make(map[string]bool, len(locations))
	for _, loc := range locations {
		known[loc] = true
	}
	var rows []Reorder
	errs := readReorderCSV(r, []string{"sku", "location", "reorder_point", "reorder_qty"}, 3,
		func(rec []string, line int, bad func(key string, err error)) {
			re := Reorder{SKU: strings.TrimSpace(rec[0]), Location: strings.TrimSpace(rec[1]), Line: line}
			ok := true
			fail := func(key string, err error) { ok = false; bad(key, err) }
			if err := checkSKU(re.SKU); err != nil {
				fail("sku", err)
			}
			if err := checkLocation("location", re.Location); err != nil {
				fail("location", err)
			} else if !known[re.Location] {
				fail("location", fmt.Errorf("unknown location %q (not in config's locations)", re.Location))
			}
			re.Point, re.Qty = reorderFigures(rec[2:], fail)
			if ok {
				rows = append(rows, re)
			}
		})
	return rows, errs
}

// readReorderCSV reads a reorder file whose header is want, or its first
// min columns (a leading BOM is dropped, case and spaces ignored), and
// calls row with every record of the header's width, its line and a
// function reporting one bad field of it. It returns every bad header,
// record and field, each with its line.
func readReorderCSV(r io.Reader, want []string, min int, row func(rec []string, line int, bad func(key string, err error))) []ReorderLineError {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return []ReorderLineError{{Line: 1, Key: "header", Err: fmt.Errorf("reading the header: %w", err)}}
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff")
	}
	if !validHeader(head, want, min) {
		return []ReorderLineError{{Line: 1, Key: "header",
			Err: fmt.Errorf("want %s[,%s]", strings.Join(want[:min], ","), strings.Join(want[min:], ","))}}
	}
	var errs []ReorderLineError
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		switch {
		case err != nil:
			errs = append(errs, ReorderLineError{Line: line, Key: "row", Err: err})
		case len(rec) != len(head):
			errs = append(errs, ReorderLineError{Line: line, Key: "row", Err: fmt.Errorf("%d fields, want %d", len(rec), len(head))})
		default:
			row(rec, line, func(key string, err error) { errs = append(errs, ReorderLineError{Line: line, Key: key, Err: err}) })
		}
	}
	return errs
}

// validHeader says h is want, or its first min columns.
func validHeader(h, want []string, min int) bool {
	if len(h) < min || len(h) > len(want) {
		return false
	}
	for i, c := range h {
		if strings.TrimSpace(strings.ToLower(c)) != want[i] {
			return false
		}
	}
	return true
}

// reorderFigures reads a row's reorder_point and optional reorder_qty
// (absent or empty: none), reporting a bad one to bad.
func reorderFigures(rec []string, bad func(key string, err error)) (int64, *int64) {
	p, err := parseFigure(rec[0])
	if err != nil {
		bad("reorder_point", err)
	}
	if len(rec) < 2 || strings.TrimSpace(rec[1]) == "" {
		return p, nil
	}
	q, err := parseFigure(rec[1])
	if err != nil {
		bad("reorder_qty", err)
	}
	return p, &q
}

func parseFigure(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if err := checkQuantity("value", n); err != nil {
		return 0, err
	}
	return n, nil
}

// UnknownReorderSKUs returns the rows whose SKU the ledger does not know,
// as line errors (one round trip).
func (l *Ledger) UnknownReorderSKUs(ctx context.Context, rows []Reorder) ([]ReorderLineError, error) {
	seen := map[string]bool{}
	var skus []string
	for _, r := range rows {
		if !seen[r.SKU] {
			seen[r.SKU] = true
			skus = append(skus, r.SKU)
		}
	}
	got, err := l.StockMany(ctx, skus)
	if err != nil {
		return nil, err
	}
	var unknown []ReorderLineError
	for _, r := range rows {
		if _, ok := got[r.SKU]; !ok {
			unknown = append(unknown, ReorderLineError{Line: r.Line, Key: "sku", Err: fmt.Errorf("unknown SKU %q (no stock in the ledger)", r.SKU)})
		}
	}
	return unknown, nil
}
