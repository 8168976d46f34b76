// Package stockimport reads a file of opening stock (absolute counts per
// SKU and location: CSV with the header sku,location,on_hand[,version],
// or JSON) and applies it to the ledger as versioned counts
// (inventory.Ledger.SetCounts), many per round trip.
//
// A file is checked as a whole before anything is written: every problem
// (a wrong header, a count that is not a whole number or is negative, an
// unknown location, the same SKU and location twice...) is reported with
// its line (JSON: its item), and nothing is applied if there is any.
// Applying the same file again changes nothing: a count whose version is
// not newer than the recorded one is skipped by the ledger.
package stockimport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/shelfsync/shelfsync/inventory"
)

// Options shape a parse.
type Options struct {
	// Locations are the known location ids; nil accepts any.
	Locations map[string]bool
	// Version is given to rows without one (no version column, or an
	// empty cell).
	Version int64
	// Reason is journaled with every count; default "opening stock".
	Reason string
	// MaxProblems bounds the problems reported (default 100); the count
	// of the rest is reported.
	MaxProblems int
}

// Problem is one bad line (CSV, 1-based, the header is line 1) or item
// (JSON: counts[i]).
type Problem struct {
	Line int    `json:"line,omitempty"`
	Item string `json:"item,omitempty"`
	Msg  string `json:"error"`
}

func (p Problem) String() string {
	if p.Item != "" {
		return p.Item + ": " + p.Msg
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Error is a file refused as a whole: nothing was applied.
type Error struct {
	Problems []Problem `json:"problems"`
	// More is how many problems were left out past Options.MaxProblems.
	More int `json:"more,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d problem(s), nothing applied", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

// collector gathers problems and the rows, and finds duplicates.
type collector struct {
	o      Options
	counts []inventory.Count
	first  map[[2]string]string // sku, location -> where first seen
	err    Error
}

func newCollector(o Options) *collector {
	if o.Reason == "" {
		o.Reason = "opening stock"
	}
	if o.MaxProblems <= 0 {
		o.MaxProblems = 100
	}
	return &collector{o: o, first: map[[2]string]string{}}
}

func (c *collector) problem(p Problem) {
	if len(c.err.Problems) >= c.o.MaxProblems {
		c.err.More++
		return
	}
	c.err.Problems = append(c.err.Problems, p)
}

// row checks one row; where names it in a duplicate's message.
func (c *collector) row(at Problem, where, sku, loc, onHand, version string) {
	bad := func(format string, a ...any) {
		at.Msg = fmt.Sprintf(format, a...)
		c.problem(at)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(onHand), 10, 64)
	if err != nil {
		bad("on_hand %q is not a whole number", onHand)
		return
	}
	if n < 0 {
		bad("on_hand must not be negative, got %d", n)
		return
	}
	v := c.o.Version
	if strings.TrimSpace(version) != "" {
		if v, err = strconv.ParseInt(strings.TrimSpace(version), 10, 64); err != nil {
			bad("version %q is not a whole number", version)
			return
		}
	}
	cnt := inventory.Count{SKU: sku, Location: loc, Quantity: n, Version: v, Reason: c.o.Reason}
	if err := cnt.Check(); err != nil {
		bad("%s", strings.TrimPrefix(err.Error(), inventory.ErrInvalid.Error()+": "))
		return
	}
	if c.o.Locations != nil && !c.o.Locations[loc] {
		bad("unknown location %q", loc)
		return
	}
	key := [2]string{sku, loc}
	if prev, dup := c.first[key]; dup {
		bad("%s at %s again (first at %s)", sku, loc, prev)
		return
	}
	c.first[key] = where
	c.counts = append(c.counts, cnt)
}

func (c *collector) result() ([]inventory.Count, error) {
	if len(c.err.Problems) > 0 {
		return nil, &c.err
	}
	return c.counts, nil
}

// ParseCSV reads a CSV file: the header sku,location,on_hand or
// sku,location,on_hand,version, then one count per line. A byte order
// mark is skipped.
func ParseCSV(r io.Reader, o Options) ([]inventory.Count, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	c := newCollector(o)
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the file is empty")
		}
		return nil, &Error{Problems: []Problem{{Line: 1, Msg: err.Error()}}}
	}
	cols, msg := checkHeader(header)
	if msg != "" {
		return nil, &Error{Problems: []Problem{{Line: 1, Msg: msg}}}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				c.problem(Problem{Line: pe.StartLine, Msg: fmt.Sprintf("%v (at line %d, column %d)", pe.Err, pe.Line, pe.Column)})
				if !errors.Is(pe.Err, csv.ErrFieldCount) {
					break // the reader can not resync after a quoting error
				}
				continue
			}
			return nil, fmt.Errorf("reading the CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != cols {
			c.problem(Problem{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), cols)})
			continue
		}
		version := ""
		if cols == 4 {
			version = rec[3]
		}
		c.row(Problem{Line: line}, "line "+strconv.Itoa(line), rec[0], rec[1], rec[2], version)
	}
	return c.result()
}

// checkHeader returns the number of columns, or what is wrong.
func checkHeader(h []string) (int, string) {
	got := make([]string, len(h))
	for i, f := range h {
		got[i] = strings.ToLower(strings.TrimSpace(f))
	}
	j := strings.Join(got, ",")
	switch j {
	case "sku,location,on_hand":
		return 3, ""
	case "sku,location,on_hand,version":
		return 4, ""
	}
	return 0, fmt.Sprintf("header %q: want sku,location,on_hand or sku,location,on_hand,version", strings.Join(h, ","))
}

// JSONCount is one count of a JSON import.
type JSONCount struct {
	SKU      string `json:"sku"`
	Location string `json:"location"`
	OnHand   *int64 `json:"on_hand"`
	Version  *int64 `json:"version,omitempty"`
}

// ParseJSON reads {"counts":[{"sku","location","on_hand","version"}]}
// (unknown fields refused); problems name their item, counts[i].
func ParseJSON(r io.Reader, o Options) ([]inventory.Count, error) {
	var doc struct {
		Counts []JSONCount `json:"counts"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{Problems: []Problem{{Item: "body", Msg: "not a JSON object {\"counts\":[...]}: " + err.Error()}}}
	}
	if dec.More() {
		return nil, &Error{Problems: []Problem{{Item: "body", Msg: "more than one JSON value"}}}
	}
	c := newCollector(o)
	for i, jc := range doc.Counts {
		item := fmt.Sprintf("counts[%d]", i)
		if jc.OnHand == nil {
			c.problem(Problem{Item: item, Msg: "on_hand is required"})
			continue
		}
		version := ""
		if jc.Version != nil {
			version = strconv.FormatInt(*jc.Version, 10)
		}
		c.row(Problem{Item: item}, item, jc.SKU, jc.Location, strconv.FormatInt(*jc.OnHand, 10), version)
	}
	return c.result()
}

// Summary is what an Apply did.
type Summary struct {
	Rows    int `json:"rows"`
	Applied int `json:"applied"`
	// Stale: a count with the same or a newer version was recorded (the
	// file was applied before): unchanged.
	Stale int `json:"unchanged"`
	// Failed are counts the ledger refused (out of range), by SKU@location.
	Failed []string `json:"failed,omitempty"`
}

// Writer applies counts: the ledger (inventory.Ledger.SetCounts).
type Writer interface {
	SetCounts(ctx context.Context, counts []inventory.Count) ([]inventory.CountOutcome, error)
}

// DefaultChunk is how many counts one round trip carries.
const DefaultChunk = 2000

// Apply writes counts in chunks of chunk (0: DefaultChunk), workers
// chunks at a time (0: 4), ordered by their SKU's Cluster slot
// (inventory.SKUSlot) so that the ledger runs the counts of one slot in
// one script run (SetCounts). progress, if not nil, is called after each
// chunk with the counts done so far. An error (Redis) stops it: what was
// applied stays, and applying the file again completes it (versions make
// the applied part a no-op).
func Apply(ctx context.Context, l Writer, counts []inventory.Count, chunk, workers int, progress func(done int)) (Summary, error) {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	if workers <= 0 {
		workers = 4
	}
	s := Summary{Rows: len(counts)}
	counts = bySlot(counts)
	var (
		mu    sync.Mutex
		first error
		done  int
		wg    sync.WaitGroup
	)
	next := make(chan []inventory.Count)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for part := range next {
				out, err := l.SetCounts(ctx, part)
				mu.Lock()
				s.add(part, out)
				if err != nil && first == nil {
					first = err
				}
				done += len(part)
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	for start := 0; start < len(counts); start += chunk {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- counts[start:min(start+chunk, len(counts))]
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return s, first
}

// bySlot returns a copy of counts ordered by slot, in file order within a
// slot (the order of one SKU's counts is kept).
func bySlot(counts []inventory.Count) []inventory.Count {
	slots := make([]int32, len(counts))
	idx := make([]int, len(counts))
	for i, c := range counts {
		slots[i] = int32(inventory.SKUSlot(c.SKU))
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return slots[idx[a]] < slots[idx[b]] })
	out := make([]inventory.Count, len(counts))
	for j, i := range idx {
		out[j] = counts[i]
	}
	return out
}

func (s *Summary) add(part []inventory.Count, out []inventory.CountOutcome) {
	for i, o := range out {
		switch {
		case o.Err != nil:
			s.Failed = append(s.Failed, part[i].SKU+"@"+part[i].Location)
		case o.Applied:
			s.Applied++
		default:
			s.Stale++
		}
	}
}

// Count is the ledger's count, as ParseCSV and ParseJSON return it.
type Count = inventory.Count
