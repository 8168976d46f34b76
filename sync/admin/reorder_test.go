package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/internal/redistest"
	"github.com/shelfsync/shelfsync/inventory"
)

func TestReorderAPI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := l.Receive(context.Background(), inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 20, Reason: "seed"}); err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Reorder: &Reorder{Ledger: l, Locations: []string{"main", "back"}}}, "tok", zerolog.Nop())
	steps := []struct {
		name, method, path, body string
		code                     int
		want                     []string
	}{
		{"none yet", "GET", "/api/v1/stock/A/reorder", "", 200, []string{`"set":false`}},
		{"set", "PUT", "/api/v1/stock/A/reorder", `{"location":"main","reorder_point":5,"reorder_qty":50}`, 200, []string{`"reorder_point":5`, `"reorder_qty":50`, `"state":""`}},
		{"a second location sums", "PUT", "/api/v1/stock/A/reorder", `{"location":"back","reorder_point":20}`, 200, []string{`"reorder_point":25`, `"state":"low"`}},
		{"unknown location", "PUT", "/api/v1/stock/A/reorder", `{"location":"nowhere","reorder_point":1}`, 422, []string{"unknown location"}},
		{"negative", "PUT", "/api/v1/stock/A/reorder", `{"location":"main","reorder_point":-1}`, 400, []string{"must not be negative"}},
		{"not a number", "PUT", "/api/v1/stock/A/reorder", `{"location":"main","reorder_point":"x"}`, 400, []string{"reorder_point"}},
		{"no point", "PUT", "/api/v1/stock/A/reorder", `{"location":"main"}`, 400, []string{"reorder_point is required"}},
		{"unknown SKU", "PUT", "/api/v1/stock/NOPE/reorder", `{"location":"main","reorder_point":1}`, 404, []string{"unknown SKU"}},
		{"remove", "PUT", "/api/v1/stock/A/reorder", `{"location":"back","remove":true}`, 200, []string{`"reorder_point":5`, `"state":""`}},
		{"below reorder: none", "GET", "/api/v1/stock?below=reorder", "", 200, []string{`[]`}},
		{"below what", "GET", "/api/v1/stock?below=x", "", 400, []string{"below=reorder"}},
		{"point above the stock", "PUT", "/api/v1/stock/A/reorder", `{"location":"back","reorder_point":30}`, 200, []string{`"state":"low"`}},
		{"below reorder: A", "GET", "/api/v1/stock?below=reorder", "", 200, []string{`"sku":"A"`, `"available":20`, `"reorder_point":35`, `"reorder_qty":50`, `"days_of_cover_7d":null`}},
		{"get with changes", "GET", "/api/v1/stock/A/reorder", "", 200, []string{`"set":true`, `"changes":[`, `"source":"admin api"`, `"new":"20,"`}},
	}
	for _, s := range steps {
		w := do(h, s.method, s.path, "tok", s.body)
		if w.Code != s.code {
			t.Errorf("%s: %d %s, want %d", s.name, w.Code, w.Body.String(), s.code)
			continue
		}
		for _, want := range s.want {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("%s: answer lacks %s: %s", s.name, want, w.Body.String())
			}
		}
	}
}

// TestReorderDefaultsAPI: a location's default reorder point is set, read
// and removed through the API, a SKU without a point of its own is listed
// below reorder by it, and bad input (unknown location, negative, not a
// number, no point) changes nothing.
func TestReorderDefaultsAPI(t *testing.T) {
	rdb, prefix := redistest.New(t)
	l := inventory.New(rdb, inventory.Options{Prefix: prefix})
	if _, err := l.Receive(context.Background(), inventory.Delta{Key: "r", SKU: "A", Location: "main", Quantity: 20, Reason: "seed"}); err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Reorder: &Reorder{Ledger: l, Locations: []string{"main", "back"}}}, "tok", zerolog.Nop())
	steps := []struct {
		name, method, path, body string
		code                     int
		want                     []string
		reeval                   bool // run the re-evaluation pass first (the sweeper's, once due)
	}{
		{"none yet", "GET", "/api/v1/reorder/defaults", "", 200, []string{`"version":0`, `"defaults":[]`}, false},
		{"unknown location", "PUT", "/api/v1/reorder/defaults/nowhere", `{"reorder_point":1}`, 422, []string{"unknown location"}, false},
		{"negative", "PUT", "/api/v1/reorder/defaults/main", `{"reorder_point":-1}`, 400, []string{"must not be negative"}, false},
		{"not a number", "PUT", "/api/v1/reorder/defaults/main", `{"reorder_point":"x"}`, 400, []string{"reorder_point"}, false},
		{"no point", "PUT", "/api/v1/reorder/defaults/main", `{}`, 400, []string{"reorder_point is required"}, false},
		{"nothing applied", "GET", "/api/v1/reorder/defaults", "", 200, []string{`"version":0`, `"defaults":[]`}, false},
		{"every location", "PUT", "/api/v1/reorder/defaults/*", `{"reorder_point":25,"reorder_qty":40}`, 200, []string{`"version":1`, `"location":"*"`, `"reorder_point":25`, `"reorder_qty":40`, `"reevaluation_due":`}, false},
		{"below reorder by the default", "GET", "/api/v1/stock?below=reorder", "", 200, []string{`"sku":"A"`, `"available":20`, `"reorder_point":25`, `"reorder_qty":40`}, true},
		{"the SKU's effective setting", "GET", "/api/v1/stock/A/reorder", "", 200, []string{`"set":false`, `"effective":{`, `"default":"*"`, `"state":"low"`}, false},
		{"a location's own default", "PUT", "/api/v1/reorder/defaults/main", `{"reorder_point":5}`, 200, []string{`"version":2`, `"location":"main"`}, false},
		{"main's default wins over *", "GET", "/api/v1/stock?below=reorder", "", 200, []string{`[]`}, true},
		{"remove", "DELETE", "/api/v1/reorder/defaults/main", "", 200, []string{`"version":3`}, false},
		{"remove unknown location", "DELETE", "/api/v1/reorder/defaults/nowhere", "", 422, []string{"unknown location"}, false},
		{"get with changes", "GET", "/api/v1/reorder/defaults", "", 200, []string{`"changes":[`, `"source":"admin api"`, `"new":"25,40"`, `"old":"5,"`}, false},
	}
	for _, s := range steps {
		if s.reeval {
			if _, err := l.ReevaluateSignals(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		w := do(h, s.method, s.path, "tok", s.body)
		if w.Code != s.code {
			t.Errorf("%s: %d %s, want %d", s.name, w.Code, w.Body.String(), s.code)
			continue
		}
		for _, want := range s.want {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("%s: answer lacks %s: %s", s.name, want, w.Body.String())
			}
		}
	}
}
