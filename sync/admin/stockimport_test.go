package admin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestStockImportEndpoint: a CSV or JSON body is checked as a whole (422
// naming every bad line, nothing applied), then applied as versioned
// counts; the same body again changes nothing.
func TestStockImportEndpoint(t *testing.T) {
	_, e := newAPI(t)
	h := New(Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(),
		StockImport: &StockImport{Ledger: e.Ledger(), Locations: []string{"main"}}}, "tok", zerolog.Nop())
	post := func(ct, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/stock/import?version=5", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer tok")
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	steps := []struct {
		name, ct, body string
		status         int
		contains       []string
	}{
		{"bad rows: nothing applied", "text/csv", "sku,location,on_hand\nA,main,4\nB,attic,1\nC,main,x\n", 422,
			[]string{`"line":3`, `unknown location \"attic\"`, `"line":4`, `on_hand \"x\" is not a whole number`}},
		{"wrong header", "text/csv; charset=utf-8", "sku,qty\nA,1\n", 422, []string{`"line":1`, "header"}},
		{"csv", "text/csv", "sku,location,on_hand\nA,main,4\nB,main,2\n", 200, []string{`"rows":2`, `"applied":2`}},
		{"csv again: unchanged", "text/csv", "sku,location,on_hand\nA,main,4\nB,main,2\n", 200, []string{`"applied":0`, `"unchanged":2`}},
		{"json with a newer version", "application/json", `{"counts":[{"sku":"A","location":"main","on_hand":9,"version":6}]}`, 200, []string{`"applied":1`}},
		{"json bad item", "application/json", `{"counts":[{"sku":"A","location":"main"}]}`, 422, []string{`"item":"counts[0]"`}},
		{"other content type", "text/plain", "x", 415, []string{"Content-Type"}},
	}
	for _, s := range steps {
		w := post(s.ct, s.body)
		if w.Code != s.status {
			t.Fatalf("%s: %d %s, want %d", s.name, w.Code, w.Body, s.status)
		}
		for _, c := range s.contains {
			if !strings.Contains(w.Body.String(), c) {
				t.Errorf("%s: body %s lacks %s", s.name, w.Body, c)
			}
		}
	}
	ctx := context.Background()
	if _, err := e.Ledger().Stock(ctx, "C"); err == nil {
		t.Error("C exists: a refused file applied a row")
	}
	a, err := e.Ledger().Stock(ctx, "A")
	if err != nil || a.Locations["main"].OnHand != 9 {
		t.Fatalf("A = %+v, %v; want on hand 9", a, err)
	}
	if n, err := e.Ledger().PendingCount(ctx); err != nil || n < 2 {
		t.Fatalf("push intents %d, %v; want A and B marked", n, err)
	}
}
