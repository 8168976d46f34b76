package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// Routing rules: LineResult.Rule and JournalEntry.Rule name the one that
// chose a line's location.
const (
	RuleChannel  = "channel"  // the channel said where the order ships from (LineState.Location)
	RulePriority = "priority" // no route given: the first candidate with enough available
	RuleFallback = "fallback" // no step found a location: the first candidate
	RuleSplit    = "split"    // the rule of a RouteSplit step (ingest's name for it)
)

// RouteKind is how a routing step picks among its locations.
type RouteKind byte

// Routing step kinds.
const (
	// RouteFirst takes the first location with enough available for the line.
	RouteFirst RouteKind = 'f'
	// RouteMost takes the location with the most available (ties: the
	// first), whether or not it is enough.
	RouteMost RouteKind = 'm'
	// RouteWhole takes the first location where every line of the order
	// in the same ApplyLines batch fits: this line, the order's other
	// lines not recorded yet (their units, summed per SKU), and none of
	// its lines recorded at another location. In Cluster mode the step
	// passes when another line's SKU is in another hash slot (the script
	// can not read it).
	RouteWhole RouteKind = 's'
	// RouteSplit, for a line with units to reserve, takes what is
	// available at each of its locations in order until the line is
	// covered, and records the line split across them (LineResult.Split);
	// what no location covers goes to the last part taken, an oversell
	// counted there. It passes when no location has any available; one
	// part is no split (the line takes that location). Only where config
	// allows splitting (README "Splitting a line").
	RouteSplit RouteKind = 'p'
)

// RouteStep is one rule of a line's route: the steps are tried in order
// inside the ledger's script, the first that finds a location takes it; a
// step that finds none passes to the next.
type RouteStep struct {
	Rule      string // the rule's name, reported with the choice
	Kind      RouteKind
	Locations []string // nil: the line's Candidates
}

// maxRouteSteps bounds a route (the reply numbers the step).
const maxRouteSteps = 64

// validateRoute checks a line's route without I/O.
func validateRoute(steps []RouteStep) error {
	if len(steps) > maxRouteSteps {
		return fmt.Errorf("%w: a route has at most %d steps, got %d", ErrInvalid, maxRouteSteps, len(steps))
	}
	for _, st := range steps {
		if st.Rule == "" || strings.ContainsAny(st.Rule, ",;:\x1f") {
			return fmt.Errorf("%w: route rule name %q must be non-empty and hold none of , ; : 0x1f", ErrInvalid, st.Rule)
		}
		switch st.Kind {
		case RouteFirst, RouteMost, RouteWhole, RouteSplit:
		default:
			return fmt.Errorf("%w: route step %s: unknown kind %q", ErrInvalid, st.Rule, st.Kind)
		}
		for _, l := range st.Locations {
			if err := checkLocation("route location", l); err != nil {
				return err
			}
		}
	}
	return nil
}

// stepGiven is ruleOf's step when the line is at the location it gave.
const stepGiven = -2

// ruleOf names the rule of a line's result: the channel's location
// (stepGiven), the step the script reported (0: none found one), or ""
// when the line kept the location it was recorded at (-1).
func ruleOf(s *LineState, step int) string {
	switch {
	case step == stepGiven:
		return RuleChannel
	case step < 0:
		return ""
	case step == 0:
		return RuleFallback
	case len(s.Route) == 0:
		return RulePriority
	case step <= len(s.Route):
		return s.Route[step-1].Rule
	}
	return ""
}

// cutStep cuts "@<step>" off the front of rest: the routing step that
// chose a new line's location; -1 when rest does not start with it.
func cutStep(rest string) (step int, after string, ok bool) {
	if !strings.HasPrefix(rest, "@") {
		return -1, rest, true
	}
	end := strings.IndexAny(rest, ";*") // a split's parts follow the step
	if end < 0 {
		return 0, "", false
	}
	n, err := strconv.Atoi(rest[1:end])
	if err != nil || n < 0 || n > maxRouteSteps {
		return 0, "", false
	}
	return n, rest[end:], true
}

// routeKeys are the extra keys of one SKU's script run: other SKUs'
// stock and line record hashes that RouteWhole steps read, by their
// KEYS index (1-based, after the run's own keys).
type routeKeys struct {
	keys []string
	idx  map[string]int // SKU -> KEYS index of its stock hash (lines: +1)
	base int            // number of the run's own keys
}

// add returns the KEYS indexes of sku's stock and line hashes, adding them.
func (r *routeKeys) add(l *Ledger, sku string) int {
	if i, ok := r.idx[sku]; ok {
		return i
	}
	if r.idx == nil {
		r.idx = map[string]int{}
	}
	k := l.keys(sku)
	i := r.base + len(r.keys) + 1
	r.keys = append(r.keys, k.stock, k.lines)
	r.idx[sku] = i
	return i
}

// orderLines maps each order (channel, order id) of a batch to the
// indexes of its lines, when any line of the batch has a RouteWhole step.
func orderLines(lines []LineState) map[string][]int {
	var m map[string][]int
	for i := range lines {
		if !hasWhole(lines[i].Route) || lines[i].Location != "" {
			continue
		}
		if m == nil {
			m = map[string][]int{}
			for j := range lines {
				k := lines[j].Channel + string(fieldSep) + lines[j].OrderID
				m[k] = append(m[k], j)
			}
		}
		break
	}
	return m
}

func hasWhole(steps []RouteStep) bool {
	for _, st := range steps {
		if st.Kind == RouteWhole {
			return true
		}
	}
	return false
}

// appendRoute appends a line's routing arguments as line.lua's route reads
// them (after their count, which the caller puts first): the candidates,
// then each step. A RouteWhole step lists the order's other lines of the
// batch (order: indexes of the order's lines) with the KEYS indexes of
// their SKUs' hashes; in Cluster mode, when one of them is in another
// slot, the step goes as 'x' and passes.
func (l *Ledger) appendRoute(args []any, lines []LineState, i int, order []int, rk *routeKeys) []any {
	s := &lines[i]
	args = append(args, len(s.Candidates))
	for _, c := range s.Candidates {
		args = append(args, c)
	}
	for _, st := range s.Route {
		kind := st.Kind
		if kind == RouteWhole && !l.sameSlot(lines, i, order) {
			kind = 'x'
		}
		args = append(args, string(rune(kind))+st.Rule, len(st.Locations))
		for _, loc := range st.Locations {
			args = append(args, loc)
		}
		if kind == RouteWhole {
			args = l.appendOthers(args, lines, i, order, rk)
		}
	}
	return args
}

// appendOthers appends the order's other lines for a RouteWhole step.
func (l *Ledger) appendOthers(args []any, lines []LineState, i int, order []int, rk *routeKeys) []any {
	s := &lines[i]
	args = append(args, len(order)-1)
	for _, j := range order {
		if j == i {
			continue
		}
		o := &lines[j]
		sk := 1
		if o.SKU != s.SKU {
			sk = rk.add(l, o.SKU)
		}
		args = append(args, sk, sk+1, lineField(o.Channel, o.OrderID, o.LineID), o.Ordered-o.Shipped-o.Cancelled)
	}
	return args
}

// sameSlot reports whether every line of the order has its keys in line
// i's Cluster slot (always, off Cluster).
func (l *Ledger) sameSlot(lines []LineState, i int, order []int) bool {
	if !l.cluster {
		return true
	}
	slot := keySlot(keySKU(lines[i].SKU))
	for _, j := range order {
		if keySlot(keySKU(lines[j].SKU)) != slot {
			return false
		}
	}
	return true
}

// keySlot is Redis Cluster's slot of a hash tag: CRC16/XMODEM mod 16384.
func keySlot(tag string) int {
	var crc uint16
	for k := 0; k < len(tag); k++ {
		crc ^= uint16(tag[k]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// SplitPart is one location's part of a split line: the units it took
// when the line was split (the last part also takes ordered units added
// later, and what no location covered).
type SplitPart struct {
	Location string `json:"location"`
	Units    int64  `json:"units"`
}

// cutSplit cuts "*<parts>|<part>..." off the front of rest, each part
// "<byte length>:<location>=<units>;" as line.lua writes them (in the
// record after the six figures, in a reply after the location).
func cutSplit(rest string) ([]SplitPart, string, bool) {
	head, after, ok := strings.Cut(rest, "|")
	k, err := strconv.Atoi(head)
	if !ok || err != nil || k < 2 || k > len(after) {
		return nil, "", false
	}
	parts := make([]SplitPart, 0, k)
	for ; k > 0; k-- {
		var p SplitPart
		if p, after, ok = cutPart(after); !ok {
			return nil, "", false
		}
		parts = append(parts, p)
	}
	return parts, after, true
}

// cutPart cuts one "<byte length>:<location>=<units>;" off rest.
func cutPart(rest string) (SplitPart, string, bool) {
	colon := strings.IndexByte(rest, ':')
	if colon < 1 {
		return SplitPart{}, "", false
	}
	n, err := strconv.Atoi(rest[:colon])
	if err != nil || n <= 0 || n > len(rest)-colon-2 || rest[colon+1+n] != '=' {
		return SplitPart{}, "", false
	}
	loc := rest[colon+1 : colon+1+n]
	us, after, ok := strings.Cut(rest[colon+2+n:], ";")
	u, err := parseStoredInt(us)
	if !ok || err != nil || u < 0 {
		return SplitPart{}, "", false
	}
	return SplitPart{Location: loc, Units: u}, after, true
}

// decodeParts decodes a split record's parts (its location field).
func decodeParts(v string) ([]SplitPart, bool) {
	var parts []SplitPart
	for v != "" {
		p, rest, ok := cutPart(v)
		if !ok {
			return nil, false
		}
		parts, v = append(parts, p), rest
	}
	return parts, len(parts) >= 2
}

// Shares spreads a line's figures over the locations it is at, as
// line.lua does: one location takes them all; a split line's ordered
// units fill its parts in order up to what each took (the last takes the
// rest), shipped units (and of them the restocked ones) come from the
// first parts first, cancelled units off the last parts first. Per
// location: the line's effect on on hand (restocked - shipped) and what it
// reserves.
func (r LineRecord) Shares() map[string]Level {
	if len(r.Split) == 0 {
		return map[string]Level{r.Location: {OnHand: r.Restocked - r.Shipped, Reserved: r.Reserved}}
	}
	q, s, c, rs := r.Ordered, r.Shipped, r.Cancelled, r.Restocked
	out := make(map[string]Level, len(r.Split))
	left := make([]int64, len(r.Split))
	for k, p := range r.Split {
		x := q
		if k < len(r.Split)-1 {
			x = min(x, p.Units)
		}
		q -= x
		y := min(x, s)
		s -= y
		z := min(y, rs)
		rs -= z
		lv := out[p.Location]
		lv.OnHand += z - y
		out[p.Location] = lv
		left[k] = x - y
	}
	for k := len(r.Split) - 1; k >= 0; k-- {
		z := min(left[k], c)
		c -= z
		lv := out[r.Split[k].Location]
		lv.Reserved += left[k] - z
		out[r.Split[k].Location] = lv
	}
	return out
}
