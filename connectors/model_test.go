package connectors

import (
	"strings"
	"testing"
	"time"
)

// TestLineReturnedUnlinked: a line's unlinked returned units are part of
// its returned units: never negative, never more.
func TestLineReturnedUnlinked(t *testing.T) {
	for _, tc := range []struct {
		returned, unlinked int64
		ok                 bool
	}{{0, 0, true}, {2, 0, true}, {2, 1, true}, {2, 2, true}, {2, 3, false}, {0, 1, false}, {2, -1, false}} {
		o := Order{Channel: "shop", OrderID: "1", Status: StatusShipped, UpdatedAt: time.Unix(1, 0),
			Lines: []Line{{LineID: "L", SKU: "A", Quantity: 3, Shipped: 3, Returned: tc.returned, ReturnedUnlinked: tc.unlinked}}}
		err := o.Validate()
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "returned_unlinked")) {
			t.Errorf("returned %d, unlinked %d: %v, want ok %v", tc.returned, tc.unlinked, err, tc.ok)
		}
	}
}
