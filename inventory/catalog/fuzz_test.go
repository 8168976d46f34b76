package catalog

import (
	"bytes"
	"reflect"
	"testing"
)

// stripLines drops where items were read, to compare plans.
func stripLines(p Plan) Plan {
	for i := range p.Mappings {
		p.Mappings[i].Line = 0
	}
	for i := range p.Kits {
		p.Kits[i].Line = 0
		for j := range p.Kits[i].Components {
			p.Kits[i].Components[j].Line = 0
		}
	}
	return p
}

// FuzzParseCSV: any input parses without panicking, every problem has a
// line, and a plan read without problems encodes and reads back the same.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("kind,channel,listing,sku,component,quantity\nmapping,shop,6-PACK,A,,6\nkit,,,K,A,2\n"))
	f.Add([]byte("kind,channel,listing,sku,component,quantity\nmapping,shop,\"a,b\",A,,\n"))
	f.Add([]byte("kind,channel\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, probs := ParseCSV(data)
		for _, pr := range probs {
			if pr.Line <= 0 {
				t.Fatalf("problem without a line: %v", pr)
			}
		}
		if len(probs) > 0 {
			return
		}
		var buf bytes.Buffer
		if err := EncodeCSV(&buf, p); err != nil {
			t.Fatal(err)
		}
		q, probs := ParseCSV(buf.Bytes())
		if len(probs) > 0 {
			t.Fatalf("re-reading %q: %v", buf.String(), probs)
		}
		if !reflect.DeepEqual(stripLines(p), stripLines(q)) && (len(p.Mappings)+len(p.Kits) > 0) {
			t.Fatalf("round trip:\n%+v\n%+v", p, q)
		}
	})
}

// FuzzParseYAML: any input parses without panicking.
func FuzzParseYAML(f *testing.F) {
	f.Add([]byte("mappings:\n  - {channel: shop, listing: X, sku: A, multiplier: 2}\nkits:\n  - sku: K\n    components: [{sku: A, quantity: 1}]\n"))
	f.Add([]byte("kits: [{sku: K, components: 3}]"))
	f.Add([]byte("- a\n- b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseYAML(data)
	})
}
