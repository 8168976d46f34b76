package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/inventory"
)

func TestCheckStrictJSON(t *testing.T) {
	cases := []struct {
		name, body string
		err        string // "" = accepted
	}{
		{"object", `{"delta":1,"location":"main"}`, ""},
		{"whitespace around", " \n\t{\"delta\":1}\r\n ", ""},
		{"empty object", `{}`, ""},
		{"nested values", `{"a":{"b":[1,{"c":2},[3]]},"d":null}`, ""},
		{"same key in sibling objects", `{"a":{"k":1},"b":{"k":2}}`, ""},
		{"same key at two levels", `{"k":{"k":1}}`, ""},
		{"second value", `{"delta":1}{"delta":99}`, "unexpected data after the JSON object"},
		{"second value after whitespace", "{\"delta\":1}\n{\"delta\":99}", "unexpected data after the JSON object"},
		{"trailing garbage", `{"delta":1} x`, "unexpected data after the JSON object"},
		{"trailing number", `{"delta":1} 2`, "unexpected data after the JSON object"},
		{"trailing close", `{"delta":1}}`, "unexpected data after the JSON object"},
		{"duplicate key", `{"delta":1,"delta":99}`, `duplicate key "delta"`},
		{"duplicate key, other case", `{"delta":1,"Delta":99}`, `duplicate key "Delta": it names the same field as "delta"`},
		{"duplicate key, Kelvin sign", "{\"key\":\"a\",\"\u212aey\":\"b\"}", "duplicate key"},
		{"duplicate key, escaped", `{"delta":1,"\u0064elta":99}`, `duplicate key "delta"`},
		{"duplicate nested key", `{"a":{"b":1,"b":2}}`, `duplicate key "a.b"`},
		{"duplicate key in an array's object", `{"a":[{"b":1,"b":2}]}`, `duplicate key "a.b"`},
		{"empty", ``, "empty"},
		{"only whitespace", "  \n", "empty"},
		{"array", `[{"delta":1}]`, "must be a JSON object"},
		{"null", `null`, "must be a JSON object"},
		{"number", `1`, "must be a JSON object"},
		{"string", `"x"`, "must be a JSON object"},
		{"not JSON", `delta=1`, "not valid JSON"},
		{"unterminated", `{"delta":1`, "not valid JSON: unexpected end"},
		{"missing value", `{"delta":}`, "not valid JSON"},
		{"trailing comma", `{"delta":1,}`, "not valid JSON"},
		{"too deep", `{"a":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, "nested deeper than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkStrictJSON([]byte(c.body))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("%s: refused: %v", c.body, err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("%s: %v, want an error containing %q", c.body, err, c.err)
			}
		})
	}
}

// TestAdminStrictBodies: every body the admin API decodes is exactly one
// JSON object with known fields, each once; anything else is a 400 that
// says what is wrong, and changes nothing.
func TestAdminStrictBodies(t *testing.T) {
	h, e := newAPI(t)
	ctx := context.Background()
	if _, err := e.Ledger().Receive(ctx, inventory.Delta{Key: "k", SKU: "A", Location: "main", Quantity: 12, Reason: "initial"}); err != nil {
		t.Fatal(err)
	}
	const adjust, count = "/api/v1/stock/A/adjust", "/api/v1/stock/A/main"
	cases := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"adjust, a second value", "POST", adjust, `{"location":"main","delta":1,"reason":"r"}{"delta":99}`, 400, "unexpected data after the JSON object"},
		{"adjust, trailing garbage", "POST", adjust, `{"location":"main","delta":1,"reason":"r"} junk`, 400, "unexpected data after the JSON object"},
		{"adjust, duplicate delta", "POST", adjust, `{"location":"main","delta":1,"delta":99,"reason":"r"}`, 400, `duplicate key \"delta\"`},
		{"adjust, duplicate in another case", "POST", adjust, `{"location":"main","delta":1,"DELTA":99,"reason":"r"}`, 400, `duplicate key \"DELTA\"`},
		{"adjust, duplicate key", "POST", adjust, `{"location":"main","delta":1,"reason":"r","key":"a","key":"b"}`, 400, `duplicate key \"key\"`},
		{"adjust, unknown field", "POST", adjust, `{"location":"main","delta":1,"reasn":"x"}`, 400, `unknown field \"reasn\"`},
		{"adjust, wrong type", "POST", adjust, `{"location":"main","delta":"1","reason":"r"}`, 400, `field \"delta\" must be an integer, got string`},
		{"adjust, fraction", "POST", adjust, `{"location":"main","delta":1.5,"reason":"r"}`, 400, `field \"delta\" must be an integer, got number 1.5`},
		{"adjust, array", "POST", adjust, `[{"location":"main","delta":1,"reason":"r"}]`, 400, "must be a JSON object"},
		{"adjust, null", "POST", adjust, `null`, 400, "must be a JSON object"},
		{"adjust, empty", "POST", adjust, ``, 400, "empty"},
		{"adjust, too large", "POST", adjust, `{"location":"main","delta":1,"reason":"` + strings.Repeat("x", 70000) + `"}`, 413, "larger than 65536 bytes"},
		{"count, a second value", "PUT", count, `{"on_hand":1}{"on_hand":2}`, 400, "unexpected data after the JSON object"},
		{"count, duplicate on_hand", "PUT", count, `{"on_hand":1,"on_hand":2}`, 400, `duplicate key \"on_hand\"`},
		{"count, unknown field", "PUT", count, `{"on_hand":1,"onhand":2}`, 400, `unknown field \"onhand\"`},
		{"count, wrong type", "PUT", count, `{"on_hand":1,"net":"yes"}`, 400, `field \"net\" must be true or false, got string`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(h, c.method, c.path, "tok", c.body)
			if w.Code != c.status || !strings.Contains(w.Body.String(), c.contains) || !strings.Contains(w.Body.String(), "request body: ") {
				t.Fatalf("%s %s: %d %s; want %d containing %q", c.method, c.path, w.Code, w.Body, c.status, c.contains)
			}
		})
	}
	st, err := e.Ledger().Stock(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Locations["main"].OnHand; got != 12 {
		t.Fatalf("on_hand %d after refused bodies, want 12", got)
	}
	if hist, err := e.Ledger().History(ctx, "A", 10); err != nil || len(hist) != 1 {
		t.Fatalf("journal %+v, %v: a refused body must not move stock", hist, err)
	}
	// The strict reading still takes a well-formed body.
	if w := do(h, "POST", adjust, "", "{\"location\":\"main\",\"delta\":1,\"reason\":\"r\"}\n"); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", w.Code)
	}
	if w := do(h, "POST", adjust, "tok", "{\"location\":\"main\",\"delta\":1,\"reason\":\"r\"}\n"); w.Code != 200 || !strings.Contains(w.Body.String(), `"OnHand":13`) {
		t.Fatalf("a well-formed body: %d %s", w.Code, w.Body)
	}
}
