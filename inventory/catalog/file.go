package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// CSVHeader is the one header a catalog CSV file has. A mapping row:
// mapping,<channel>,<listing>,<sku>,,<multiplier or empty for 1>; a kit
// takes one row per component: kit,,,<kit sku>,<component>,<quantity>.
var CSVHeader = []string{"kind", "channel", "listing", "sku", "component", "quantity"}

// ParseFile reads a catalog file: CSV when its name ends in .csv, else
// YAML. Every problem found is returned, each with its line; the plan is
// only meaningful when there are none.
func ParseFile(name string, data []byte) (Plan, []Problem) {
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		return ParseCSV(data)
	}
	return ParseYAML(data)
}

// ParseCSV reads a catalog CSV (CSVHeader). Rows of one kit are gathered
// in the order they come; the kit's line is its first row's.
func ParseCSV(data []byte) (Plan, []Problem) {
	// Spreadsheets save CSV with a UTF-8 byte order mark first.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var p Plan
	var probs []Problem
	kits := map[string]int{} // kit sku → index in p.Kits
	if len(bytes.TrimSpace(data)) == 0 {
		return Plan{}, []Problem{{Line: 1, Msg: fmt.Sprintf("empty file: want the CSV header %q", strings.Join(CSVHeader, ","))}}
	}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return Plan{}, append(probs, Problem{Line: line, Msg: fmt.Sprintf("CSV: %v", err)})
		}
		line, _ := r.FieldPos(0)
		if first {
			if strings.Join(rec, ",") != strings.Join(CSVHeader, ",") {
				return Plan{}, []Problem{{Line: line, Msg: fmt.Sprintf("wrong CSV header %q, want %q", strings.Join(rec, ","), strings.Join(CSVHeader, ","))}}
			}
			continue
		}
		if msg := csvRow(&p, kits, rec, line); msg != "" {
			probs = append(probs, Problem{Line: line, Msg: msg})
		}
	}
	return p, probs
}

// csvRow adds one row to the plan, or says what is wrong with it.
func csvRow(p *Plan, kits map[string]int, rec []string, line int) string {
	if len(rec) != len(CSVHeader) {
		return fmt.Sprintf("%d fields, want %d (%s)", len(rec), len(CSVHeader), strings.Join(CSVHeader, ","))
	}
	kind, channel, listing, sku, comp, qs := rec[0], rec[1], rec[2], rec[3], rec[4], strings.TrimSpace(rec[5])
	q := int64(1)
	if qs != "" || kind == "kit" {
		n, err := strconv.ParseInt(qs, 10, 64)
		if err != nil {
			return fmt.Sprintf("quantity %q is not a whole number", qs)
		}
		q = n
	}
	switch kind {
	case "mapping":
		if comp != "" {
			return "a mapping row has no component"
		}
		p.Mappings = append(p.Mappings, Mapping{Channel: channel, Listing: listing, SKU: sku, Multiplier: q, Line: line})
	case "kit":
		if channel != "" || listing != "" {
			return "a kit row has no channel or listing"
		}
		i, ok := kits[sku]
		if !ok {
			i = len(p.Kits)
			kits[sku] = i
			p.Kits = append(p.Kits, Kit{SKU: sku, Line: line})
		}
		p.Kits[i].Components = append(p.Kits[i].Components, Component{SKU: comp, Quantity: q, Line: line})
	default:
		return fmt.Sprintf("kind %q: want mapping or kit", kind)
	}
	return ""
}

// ParseYAML reads a catalog YAML document:
//
//	mappings:
//	  - {channel: shop, listing: 6-PACK, sku: A, multiplier: 6}
//	kits:
//	  - sku: KIT-1
//	    components: [{sku: A, quantity: 2}, {sku: B, quantity: 1}]
//
// Unknown keys, missing keys and values that are not whole numbers are
// problems with their line. multiplier defaults to 1.
func ParseYAML(data []byte) (Plan, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Plan{}, []Problem{{Msg: fmt.Sprintf("YAML: %v", err)}}
	}
	y := &yamlReader{}
	if len(doc.Content) == 0 {
		return Plan{}, nil
	}
	root := doc.Content[0]
	y.fields(root, map[string]func(*yaml.Node){
		"mappings": func(n *yaml.Node) { y.each(n, y.mapping) },
		"kits":     func(n *yaml.Node) { y.each(n, y.kit) },
	})
	return y.plan, y.probs
}

type yamlReader struct {
	plan  Plan
	probs []Problem
}

func (y *yamlReader) add(n *yaml.Node, format string, a ...any) {
	y.probs = append(y.probs, Problem{Line: n.Line, Msg: fmt.Sprintf(format, a...)})
}

// fields calls each key's handler with its value; an unknown key or a
// node that is not a mapping is a problem.
func (y *yamlReader) fields(n *yaml.Node, keys map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		y.add(n, "want a mapping of keys (%s)", strings.Join(sortedKeys(keys), ", "))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := keys[k.Value]
		if !ok {
			y.add(k, "unknown key %q (want %s)", k.Value, strings.Join(sortedKeys(keys), ", "))
			continue
		}
		h(v)
	}
}

func (y *yamlReader) each(n *yaml.Node, item func(*yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		y.add(n, "want a list")
		return
	}
	for _, it := range n.Content {
		item(it)
	}
}

func (y *yamlReader) str(dst *string) func(*yaml.Node) {
	return func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode {
			y.add(n, "want a string")
			return
		}
		*dst = n.Value
	}
}

func (y *yamlReader) num(what string, dst *int64) func(*yaml.Node) {
	return func(n *yaml.Node) {
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || err != nil {
			y.add(n, "%s %q is not a whole number", what, n.Value)
			return
		}
		*dst = v
	}
}

func (y *yamlReader) mapping(n *yaml.Node) {
	m := Mapping{Multiplier: 1, Line: n.Line}
	y.fields(n, map[string]func(*yaml.Node){
		"channel": y.str(&m.Channel), "listing": y.str(&m.Listing), "sku": y.str(&m.SKU),
		"multiplier": y.num("multiplier", &m.Multiplier),
	})
	y.plan.Mappings = append(y.plan.Mappings, m)
}

func (y *yamlReader) kit(n *yaml.Node) {
	k := Kit{Line: n.Line}
	y.fields(n, map[string]func(*yaml.Node){
		"sku": y.str(&k.SKU),
		"components": func(cn *yaml.Node) {
			y.each(cn, func(c *yaml.Node) {
				cp := Component{Line: c.Line}
				y.fields(c, map[string]func(*yaml.Node){"sku": y.str(&cp.SKU), "quantity": y.num("quantity", &cp.Quantity)})
				k.Components = append(k.Components, cp)
			})
		},
	})
	y.plan.Kits = append(y.plan.Kits, k)
}

func sortedKeys(m map[string]func(*yaml.Node)) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// EncodeYAML writes a plan as ParseYAML reads it.
func EncodeYAML(w io.Writer, p Plan) error {
	if p.Mappings == nil {
		p.Mappings = []Mapping{}
	}
	if p.Kits == nil {
		p.Kits = []Kit{}
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encoding the catalog: %w", err)
	}
	return enc.Close()
}

// EncodeCSV writes a plan as ParseCSV reads it.
func EncodeCSV(w io.Writer, p Plan) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	for _, m := range p.Mappings {
		_ = cw.Write([]string{"mapping", m.Channel, m.Listing, m.SKU, "", itoa(m.Multiplier)})
	}
	for _, k := range p.Kits {
		for _, cp := range k.Components {
			_ = cw.Write([]string{"kit", "", "", k.SKU, cp.SKU, itoa(cp.Quantity)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("encoding the catalog: %w", err)
	}
	return nil
}
