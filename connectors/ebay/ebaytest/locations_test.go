package ebaytest

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBulkUpdateDistributions: availabilityDistributions in a bulk
// update name enabled inventory locations of the seller, each once, with
// a quantity of 0 or more, beside the ship-to quantity; a disabled
// location's quantity can not change; an accepted update replaces the
// item's list, one without distributions keeps it, and the item (bulk
// get) shows them.
func TestBulkUpdateDistributions(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddListing("A", 5, 0)
	for _, k := range []string{"WH-1", "WH-2", "SHUT"} {
		s.AddLocation(k)
	}
	s.SetDistributions("A", map[string]int64{"SHUT": 2})
	s.DisableLocation("SHUT")
	user := userToken(t, s)
	req := func(shipTo string) string {
		return `{"requests":[{"sku":"A","shipToLocationAvailability":` + shipTo + `}]}`
	}
	long := strings.Repeat("k", 37)
	tests := []struct {
		name, shipTo string
		wantStatus   int
		wantDists    map[string]int64 // after the call
	}{
		{"unknown location", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"NOPE","quantity":3}]}`, 400, map[string]int64{"SHUT": 2}},
		{"key too long", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"` + long + `","quantity":3}]}`, 400, map[string]int64{"SHUT": 2}},
		{"key twice", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"WH-1","quantity":1},{"merchantLocationKey":"WH-1","quantity":2}]}`, 400, map[string]int64{"SHUT": 2}},
		{"negative", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"WH-1","quantity":-1}]}`, 400, map[string]int64{"SHUT": 2}},
		{"no quantity", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"WH-1"}]}`, 400, map[string]int64{"SHUT": 2}},
		{"no key", `{"quantity":3,"availabilityDistributions":[{"quantity":3}]}`, 400, map[string]int64{"SHUT": 2}},
		{"no ship-to quantity", `{"availabilityDistributions":[{"merchantLocationKey":"WH-1","quantity":3}]}`, 400, map[string]int64{"SHUT": 2}},
		{"disabled location changed", `{"quantity":3,"availabilityDistributions":[{"merchantLocationKey":"SHUT","quantity":3}]}`, 400, map[string]int64{"SHUT": 2}},
		{"disabled location kept", `{"quantity":6,"availabilityDistributions":[{"merchantLocationKey":"SHUT","quantity":2},{"merchantLocationKey":"WH-1","quantity":4}]}`, 200,
			map[string]int64{"SHUT": 2, "WH-1": 4}},
		{"replaces the list", `{"quantity":7,"availabilityDistributions":[{"merchantLocationKey":"SHUT","quantity":2},{"merchantLocationKey":"WH-2","quantity":5}]}`, 200,
			map[string]int64{"SHUT": 2, "WH-2": 5}},
		{"ship-to quantity alone keeps it", `{"quantity":1}`, 200, map[string]int64{"SHUT": 2, "WH-2": 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw := post(t, s, bulkUpdatePath, user, "application/json", req(tc.shipTo))
			if code != tc.wantStatus {
				t.Fatalf("status %d %s; want %d", code, raw, tc.wantStatus)
			}
			var ans bulkUpdateAnswer
			if err := json.Unmarshal(raw, &ans); err != nil || len(ans.Responses) != 1 {
				t.Fatalf("answer %s: %v", raw, err)
			}
			if e := ans.Responses[0]; tc.wantStatus == 400 && (len(e.Errors) != 1 || e.Errors[0].ErrorID != 25709) {
				t.Fatalf("entry %+v; want error 25709", e)
			}
			for _, k := range []string{"WH-1", "WH-2", "SHUT", "NOPE"} {
				q, ok := s.DistributionAt("A", k)
				if w, want := tc.wantDists[k]; ok != want || q != w {
					t.Errorf("%s at %s = %d, %v; want %d, %v", "A", k, q, ok, w, want)
				}
			}
		})
	}
	code, raw := post(t, s, "/sell/inventory/v1/bulk_get_inventory_item", user, "application/json", bulkGetBody("A"))
	if code != 200 || !strings.Contains(string(raw), `"availabilityDistributions":[{"merchantLocationKey":"SHUT","quantity":2},{"merchantLocationKey":"WH-2","quantity":5}]`) {
		t.Fatalf("bulk get: %d %s", code, raw)
	}
}
