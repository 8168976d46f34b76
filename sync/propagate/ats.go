package propagate

import "math"

// Allocation is a channel's rules for turning available stock into a
// listed quantity. It has config.Allocation's fields in the same order, so
// the engine converts one to the other (propagate.Allocation(cfg)) and
// this package needs no config.
type Allocation struct {
	// Buffer units are held back from the channel.
	Buffer int64
	// Percent of what remains is listed, rounded down; nil is 100.
	Percent *float64
	// Max caps the listed quantity; 0 means no cap.
	Max int64
	// Min is listed at least while any stock is available.
	Min int64
	// OutOfStockThreshold: at or below it, list zero.
	OutOfStockThreshold int64
}

// ATS is the quantity to list on a channel: the available stock of the
// channel's locations, summed (an oversold location's negative figure
// counts: its debt is owed from the others), then
//
//   - zero at or below OutOfStockThreshold (of that sum);
//   - minus Buffer, times Percent (nil = 100) rounded down;
//   - capped by Max (0 = no cap);
//   - at least Min while any stock is available, but never more than is
//     available: Min keeps a listing alive, it does not invent stock;
//   - never negative.
//
// It is pure: no Redis, no clock.
func ATS(available map[string]int64, locations []string, a Allocation) int64 {
	var sum int64
	for _, loc := range locations {
		sum += available[loc]
	}
	if sum <= 0 || sum <= a.OutOfStockThreshold {
		return 0
	}
	q := sum - a.Buffer
	if q < 0 {
		q = 0
	}
	if a.Percent != nil && *a.Percent < 100 {
		pct := *a.Percent
		if pct <= 0 {
			q = 0
		} else {
			// The epsilon keeps 70% of 10 at 7 when the product lands just
			// below an integer in binary floating point.
			q = int64(math.Floor(float64(q)*pct/100 + 1e-9))
		}
	}
	if a.Max > 0 && q > a.Max {
		q = a.Max
	}
	if a.Min > 0 && q < a.Min {
		q = min(a.Min, sum)
		if a.Max > 0 && q > a.Max {
			q = a.Max
		}
	}
	return max(q, 0)
}
