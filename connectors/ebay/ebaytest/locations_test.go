package ebaytest

import (
	"encoding/json"
	"net/url"
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

// TestGetInventoryLocations: getInventoryLocations answers a user token
// with sell.inventory only (401 without or with a bad token, 403 for an
// application token), pages by limit (at least 1, default 100) and
// offset (locations skipped, 0 or more) with next only when a page
// follows and prev only after the first, total, and each location's key
// and ENABLED/DISABLED status.
func TestGetInventoryLocations(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	for _, k := range []string{"C", "A", "B", "D", "E"} {
		s.AddLocation(k)
	}
	s.DisableLocation("B")
	user := userToken(t, s)
	_, app := token(t, s, "test-client-id", "test-client-secret", url.Values{"grant_type": {"client_credentials"}, "scope": {ScopeApp}})
	appTok, _ := app["access_token"].(string)

	type page struct {
		Href, Next, Prev     string
		Limit, Offset, Total int
		Locations            []struct {
			MerchantLocationKey    string `json:"merchantLocationKey"`
			MerchantLocationStatus string `json:"merchantLocationStatus"`
		} `json:"locations"`
	}
	tests := []struct {
		name, query, tok string
		wantStatus       int
		wantKeys         string // key:status, in order
		wantNext         string // the query of next ("" none)
		wantPrev         bool
	}{
		{"no token", "", "", 401, "", "", false},
		{"bad token", "", "nope", 401, "", "", false},
		{"application token", "", appTok, 403, "", "", false},
		{"default page", "", user, 200, "A:ENABLED B:DISABLED C:ENABLED D:ENABLED E:ENABLED", "", false},
		{"first of three", "?limit=2", user, 200, "A:ENABLED B:DISABLED", "limit=2&offset=2", false},
		{"second of three", "?limit=2&offset=2", user, 200, "C:ENABLED D:ENABLED", "limit=2&offset=4", true},
		{"last", "?limit=2&offset=4", user, 200, "E:ENABLED", "", true},
		{"beyond the end", "?limit=2&offset=9", user, 200, "", "", true},
		{"limit 0", "?limit=0", user, 400, "", "", false},
		{"negative limit", "?limit=-1", user, 400, "", "", false},
		{"limit not a number", "?limit=ten", user, 400, "", "", false},
		{"negative offset", "?offset=-1", user, 400, "", "", false},
		{"offset not a number", "?offset=1.5", user, 400, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, s, "/sell/inventory/v1/location"+tc.query, tc.tok)
			if code != tc.wantStatus {
				t.Fatalf("status %d %s; want %d", code, body, tc.wantStatus)
			}
			if code != 200 {
				if code == 400 && !strings.Contains(body, `"errorId":25706`) {
					t.Errorf("400 without error 25706: %s", body)
				}
				return
			}
			var p page
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, l := range p.Locations {
				keys = append(keys, l.MerchantLocationKey+":"+l.MerchantLocationStatus)
			}
			if got := strings.Join(keys, " "); got != tc.wantKeys {
				t.Errorf("locations %q; want %q", got, tc.wantKeys)
			}
			if p.Total != 5 || !strings.Contains(body, `"total":5`) {
				t.Errorf("total %d; want 5", p.Total)
			}
			switch {
			case tc.wantNext == "" && p.Next != "":
				t.Errorf("next %q; want none", p.Next)
			case tc.wantNext != "" && !strings.HasSuffix(p.Next, "/sell/inventory/v1/location?"+tc.wantNext):
				t.Errorf("next %q; want ...?%s", p.Next, tc.wantNext)
			}
			if (p.Prev != "") != tc.wantPrev {
				t.Errorf("prev %q; want one: %v", p.Prev, tc.wantPrev)
			}
		})
	}
	if n := s.Calls("get_inventory_locations"); n != len(tests) {
		t.Errorf("%d calls counted; want %d", n, len(tests))
	}
}

// TestNoLocations: a seller without inventory locations gets total 0 and
// an empty list.
func TestNoLocations(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	code, body := get(t, s, "/sell/inventory/v1/location", userToken(t, s))
	if code != 200 || !strings.Contains(body, `"total":0`) || !strings.Contains(body, `"locations":[]`) || strings.Contains(body, `"next"`) {
		t.Fatalf("%d %s", code, body)
	}
}
