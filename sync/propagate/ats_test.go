package propagate

import (
	"testing"

	"github.com/shelfsync/shelfsync/inventory"
)

func TestATS(t *testing.T) {
	pct := func(p float64) *float64 { return &p }
	locs := []string{"A", "B"}
	cases := []struct {
		name  string
		avail map[string]int64
		locs  []string
		a     Allocation
		want  int64
	}{
		{"sum of the channel's locations", map[string]int64{"A": 3, "B": 4, "C": 100}, locs, Allocation{}, 7},
		{"only the channel's locations", map[string]int64{"C": 100}, locs, Allocation{}, 0},
		{"no locations", map[string]int64{"A": 3}, nil, Allocation{}, 0},
		{"missing location counts zero", map[string]int64{"A": 3}, locs, Allocation{}, 3},
		{"oversold location reduces the sum", map[string]int64{"A": -2, "B": 5}, locs, Allocation{}, 3},
		{"all oversold is zero", map[string]int64{"A": -2, "B": -5}, locs, Allocation{}, 0},
		{"nil percent is 100", map[string]int64{"A": 7}, locs, Allocation{Percent: nil}, 7},
		{"percent 100", map[string]int64{"A": 7}, locs, Allocation{Percent: pct(100)}, 7},
		{"buffer", map[string]int64{"A": 10}, locs, Allocation{Buffer: 3}, 7},
		{"buffer larger than stock", map[string]int64{"A": 2}, locs, Allocation{Buffer: 3}, 0},
		{"buffer equal to stock", map[string]int64{"A": 3}, locs, Allocation{Buffer: 3}, 0},
		{"percent rounds down", map[string]int64{"A": 7}, locs, Allocation{Percent: pct(50)}, 3},
		{"percent exact product", map[string]int64{"A": 10}, locs, Allocation{Percent: pct(70)}, 7},
		{"percent of a float-unfriendly product", map[string]int64{"A": 100}, locs, Allocation{Percent: pct(29)}, 29},
		{"fractional percent", map[string]int64{"A": 1000}, locs, Allocation{Percent: pct(33.3)}, 333},
		{"percent zero", map[string]int64{"A": 10}, locs, Allocation{Percent: pct(0)}, 0},
		{"percent after buffer", map[string]int64{"A": 12}, locs, Allocation{Buffer: 2, Percent: pct(50)}, 5},
		{"max caps", map[string]int64{"A": 50}, locs, Allocation{Max: 20}, 20},
		{"max above stock", map[string]int64{"A": 5}, locs, Allocation{Max: 20}, 5},
		{"max zero is no cap", map[string]int64{"A": 500}, locs, Allocation{Max: 0}, 500},
		{"max after percent", map[string]int64{"A": 100}, locs, Allocation{Percent: pct(50), Max: 30}, 30},
		{"threshold: at it is zero", map[string]int64{"A": 2, "B": 1}, locs, Allocation{OutOfStockThreshold: 3}, 0},
		{"threshold: above it lists", map[string]int64{"A": 2, "B": 2}, locs, Allocation{OutOfStockThreshold: 3}, 4},
		{"threshold beats min", map[string]int64{"A": 2}, locs, Allocation{OutOfStockThreshold: 2, Min: 1}, 0},
		{"min lifts a buffered listing", map[string]int64{"A": 3}, locs, Allocation{Buffer: 5, Min: 2}, 2},
		{"min never above the stock", map[string]int64{"A": 1}, locs, Allocation{Min: 3}, 1},
		{"min only while stock is available", map[string]int64{"A": 0}, locs, Allocation{Min: 3}, 0},
		{"min with oversold stock", map[string]int64{"A": -1}, locs, Allocation{Min: 3}, 0},
		{"min below the computed figure changes nothing", map[string]int64{"A": 10}, locs, Allocation{Min: 3}, 10},
		{"min lifts a percent rounded to zero", map[string]int64{"A": 1}, locs, Allocation{Percent: pct(50), Min: 1}, 1},
		{"min within max", map[string]int64{"A": 100}, locs, Allocation{Percent: pct(1), Min: 5, Max: 5}, 5},
		{"everything", map[string]int64{"A": 60, "B": 45}, locs, Allocation{Buffer: 5, Percent: pct(80), Max: 70, Min: 2, OutOfStockThreshold: 3}, 70},
		{"everything, less stock", map[string]int64{"A": 6, "B": 4}, locs, Allocation{Buffer: 5, Percent: pct(80), Max: 70, Min: 2, OutOfStockThreshold: 3}, 4},
		{"everything, little stock", map[string]int64{"A": 4, "B": 0}, locs, Allocation{Buffer: 5, Percent: pct(80), Max: 70, Min: 2, OutOfStockThreshold: 3}, 2},
		{"everything, at the threshold", map[string]int64{"A": 3, "B": 0}, locs, Allocation{Buffer: 5, Percent: pct(80), Max: 70, Min: 2, OutOfStockThreshold: 3}, 0},
	}
	for _, c := range cases {
		if got := ATS(c.avail, c.locs, c.a); got != c.want {
			t.Errorf("%s: ATS = %d, want %d", c.name, got, c.want)
		}
	}
}

// FuzzATS checks the rules' invariants on any input: never negative, never
// above the available sum, within max, zero at or below the threshold.
func FuzzATS(f *testing.F) {
	f.Add(int64(10), int64(-3), int64(2), 50.0, int64(0), int64(1), int64(0))
	f.Add(int64(1), int64(0), int64(5), 100.0, int64(3), int64(4), int64(1))
	f.Fuzz(func(t *testing.T, a, b, buffer int64, pct float64, maxQ, minQ, threshold int64) {
		if a > inventory.MaxQuantity || a < -inventory.MaxQuantity || b > inventory.MaxQuantity || b < -inventory.MaxQuantity || buffer < 0 || maxQ < 0 || minQ < 0 || threshold < 0 || pct < 0 || pct > 100 || pct != pct || (maxQ > 0 && minQ > maxQ) {
			return // outside what config validation and the ledger admit
		}
		got := ATS(map[string]int64{"A": a, "B": b}, []string{"A", "B"}, Allocation{Buffer: buffer, Percent: &pct, Max: maxQ, Min: minQ, OutOfStockThreshold: threshold})
		sum := a + b
		switch {
		case got < 0:
			t.Fatalf("negative %d", got)
		case sum <= threshold && got != 0:
			t.Fatalf("sum %d at or below threshold %d, listed %d", sum, threshold, got)
		case got > max(sum, 0):
			t.Fatalf("listed %d of %d available", got, sum)
		case maxQ > 0 && got > maxQ:
			t.Fatalf("listed %d above max %d", got, maxQ)
		case sum > threshold && sum > 0 && minQ > 0 && got < minQ && got < sum:
			t.Fatalf("listed %d below min %d with %d available", got, minQ, sum)
		}
	})
}
