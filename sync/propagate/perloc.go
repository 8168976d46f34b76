package propagate

import (
	"sort"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// Per-location channels (stock_mode per_location).
//
// The split rule: the channel's allocation rules apply to the channel as
// a whole, as in single mode (ATS: the sum of its locations' available
// stock, threshold, buffer, percent, cap, floor), and that total is
// shared among the locations in proportion to their own available stock
// (a location at or below zero gets none), by largest remainder: each
// location gets floor(total × own / positive sum), and the units left
// over go one each to the locations with the largest remainders (ties:
// the channel's location order). So
//
//   - the figures add up to exactly what single mode lists: the channel
//     sells no more and no less than the allocation rules allow;
//   - no location is given more than it holds (total ≤ positive sum);
//   - without buffer, percent or cap every location lists its own stock,
//     and a sale at one location lowers that location's figure only;
//   - a buffer, percent or cap is taken from the locations in proportion
//     to their stock, so a change at one location may move another's
//     figure by a unit (the remainders shift).

// LocationATS is each of locations' share of the channel's ATS (see the
// split rule above), by location. It is pure.
func LocationATS(available map[string]int64, locations []string, a Allocation) map[string]int64 {
	out := make(map[string]int64, len(locations))
	total := ATS(available, locations, a)
	var positive int64
	for _, loc := range locations {
		out[loc] = 0
		if q := available[loc]; q > 0 {
			positive += q
		}
	}
	if total <= 0 || positive <= 0 {
		return out
	}
	type rem struct {
		loc string
		r   int64
		i   int
	}
	rems := make([]rem, 0, len(locations))
	left := total
	for i, loc := range locations {
		q := available[loc]
		if q <= 0 {
			continue
		}
		// total ≤ positive and q ≤ positive: the product fits for any
		// stock below 3e9 units per location.
		share := total * q / positive
		out[loc] = share
		left -= share
		rems = append(rems, rem{loc: loc, r: total * q % positive, i: i})
	}
	sort.SliceStable(rems, func(x, y int) bool { return rems[x].r > rems[y].r })
	for k := 0; left > 0 && k < len(rems); k++ {
		out[rems[k].loc]++
		left--
	}
	return out
}

// LocationATS is each of the channel's locations' figure for a SKU with
// stock st (per-location channels).
func (c *Channel) LocationATS(st inventory.SKUStock) map[string]int64 {
	return LocationATS(st.Available(), c.Locations, c.Allocation)
}

// locationWants is wants for a per-location channel: every listing once
// per location of the channel, keyed outbox.LocationKey, with that
// location's share of the listing's quantity. A kit at a location is
// built from its components' figures at that location.
func (f *fanout) locationWants(ch *Channel) []outbox.Want {
	var out []outbox.Want
	for _, loc := range ch.Locations {
		ats := func(st inventory.SKUStock) int64 {
			return ch.LocationATS(st)[loc]
		}
		out = append(out, f.wantsBy(ch, ats, func(listing string) string { return outbox.LocationKey(listing, loc) })...)
	}
	return out
}
