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
		case RouteFirst, RouteMost, RouteWhole:
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
	end := strings.IndexByte(rest, ';')
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
