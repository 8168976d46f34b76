package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// unknownKeys walks the YAML tree alongside the Go type of v and reports
// every mapping key that no field is named for, with its line and the keys
// that would have been valid there.
func unknownKeys(root *yaml.Node, v any) []Problem {
	var problems []Problem
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	walkKnown(n, reflect.TypeOf(v), "", &problems)
	return problems
}

var secretType = reflect.TypeOf(Secret{})

func walkKnown(n *yaml.Node, t reflect.Type, path string, problems *[]Problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == secretType:
		return
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		walkKnownStruct(n, t, path, problems)
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			walkKnown(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems)
		}
	}
}

// walkKnownStruct checks the keys of the mapping n against the struct t.
// A channel's mapping also holds its kind's block, walked against the
// kind's settings; a block of another registered kind is not walked
// (decodeKindBlocks reports it).
func walkKnownStruct(n *yaml.Node, t reflect.Type, path string, problems *[]Problem) {
	fields := yamlFields(t)
	var kind reflect.Type // the channel's kind's settings
	known := sortedKeys(fields)
	if t == channelType {
		k := scalarAt(n, "kind")
		if kind = settingsType(k); kind != nil {
			known = append(known, k)
			sort.Strings(known)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if f, ok := fields[k.Value]; ok {
			walkKnown(val, f.Type, p, problems)
			continue
		}
		switch {
		case t != channelType || !isKind(k.Value):
			*problems = append(*problems, Problem{Line: k.Line, Path: p,
				Msg: fmt.Sprintf("unknown key %q (known here: %s)", k.Value, strings.Join(known, ", "))})
		case kind != nil && k.Value == scalarAt(n, "kind"):
			walkKnown(val, kind, p, problems)
		}
	}
}

// scalarAt is the value of the scalar under key in the mapping n ("" if none).
func scalarAt(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := deref(n.Content[i+1]); n.Content[i].Value == key && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// yamlFields maps the YAML keys of the struct t to its fields, as yaml.v3
// names them; the fields of an inlined struct (`yaml:",inline"`) are t's,
// their Index the path from t.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			for k, inner := range yamlFields(f.Type) {
				inner.Index = append([]int{i}, inner.Index...)
				m[k] = inner
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

func sortedKeys(m map[string]reflect.StructField) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf finds the line of the key at path (a.b[2].c) in the tree; 0 when
// the path is not in the file (a default, or a missing key: then the line
// of the nearest enclosing key that is there).
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range splitPath(path) {
		switch {
		case part.index >= 0:
			if n.Kind != yaml.SequenceNode || part.index >= len(n.Content) {
				return line
			}
			n = n.Content[part.index]
			line = n.Line
		default:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part.key {
					line = n.Content[i].Line
					n = n.Content[i+1]
					found = true
					break
				}
			}
			if !found {
				return line
			}
		}
	}
	return line
}

type pathPart struct {
	key   string
	index int
}

func splitPath(path string) []pathPart {
	var parts []pathPart
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			continue
		}
		name, rest, _ := strings.Cut(seg, "[")
		if name != "" {
			parts = append(parts, pathPart{key: name, index: -1})
		}
		for rest != "" {
			var idx int
			num, after, _ := strings.Cut(rest, "]")
			fmt.Sscanf(num, "%d", &idx)
			parts = append(parts, pathPart{index: idx})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return parts
}

// eachValue calls fn for every value node under root with its path and
// line: the values of mapping keys and the items of lists, outermost
// first. An alias is passed as the node it names (what yaml.v3 decodes,
// whose line its errors give), with the alias's own path and line.
func eachValue(root *yaml.Node, fn func(n *yaml.Node, path string, line int)) {
	visit := func(n *yaml.Node, path string) {
		line := n.Line
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		fn(n, path, line)
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				visit(v, p)
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				visit(c, p)
				walk(c, p)
			}
		}
	}
	walk(root, "")
}

// pathAt names the key whose value sits at line (the line yaml.v3 gives
// for a value it could not decode), so the message names the key too. m
// is yamlTypeMsg's match of the message (nil when it has none): the
// node's kind, the value it quotes and the Go type it was decoded into
// pick one node when several share the line (a flow mapping, an anchor
// and its aliases). "" when no single key fits; at is the line of the
// value found (an alias's own, where yaml.v3 gives its anchor's).
// sensitive reports that any node the message could be about is under a
// sensitive key, so its value must not be quoted.
func pathAt(root *yaml.Node, line int, m []string) (path string, at int, sensitive bool) {
	if line == 0 {
		return "", 0, false
	}
	var hits []valueHit
	eachValue(root, func(n *yaml.Node, p string, at int) {
		if n.Line == line {
			hits = append(hits, valueHit{p, n, at})
		}
	})
	if m != nil {
		hits = hitsOfKind(hits, m)
	}
	for _, h := range hits {
		sensitive = sensitive || sensitivePath(h.path)
	}
	if m != nil && len(hits) > 1 {
		hits = hitsOfType(hits, m[3])
	}
	switch {
	case len(hits) == 0:
		return "", line, sensitive
	case m == nil:
		// Errors not in yaml.v3's words (a secret file not read): the
		// scalar itself, innermost.
		h := hits[len(hits)-1]
		return h.path, h.at, sensitive
	}
	// Several left: the outermost, which holds the others.
	return hits[0].path, hits[0].at, sensitive
}

// valueHit is a value node pathAt may mean: its path, the node, its line.
type valueHit struct {
	path string
	n    *yaml.Node
	at   int
}

// hitsOfKind keeps the hits whose node is of the kind the message m
// names, and for a scalar the value it quotes.
func hitsOfKind(hits []valueHit, m []string) []valueHit {
	want := yaml.ScalarNode
	switch m[1] {
	case "!!map":
		want = yaml.MappingNode
	case "!!seq":
		want = yaml.SequenceNode
	}
	var kept []valueHit
	for _, h := range hits {
		if h.n.Kind == want && (want != yaml.ScalarNode || m[2] == "" || quotedAs(h.n.Value, m[2])) {
			kept = append(kept, h)
		}
	}
	return kept
}

// hitsOfType keeps the hits whose key decodes into the Go type goType
// (as yaml.v3 names it), or all of them when none does.
func hitsOfType(hits []valueHit, goType string) []valueHit {
	var typed []valueHit
	for _, h := range hits {
		if t := goTypeAt(h.path); t != nil && (t.String() == goType || t == secretType && goType == secretTypeWords) {
			typed = append(typed, h)
		}
	}
	if len(typed) == 0 {
		return hits
	}
	return typed
}

// quotedAs reports whether q is how yaml.v3 quotes the value v in a type
// error: whole, or its first 7 bytes and "..." when longer than 10.
func quotedAs(v, q string) bool {
	return v == q || len(v) > 10 && v[:7]+"..." == q
}

// goTypeAt is the Go type the value at path decodes into (pointers taken
// off), nil when the path is not in the schema.
func goTypeAt(path string) reflect.Type {
	t := reflect.TypeOf(Config{})
	for _, p := range splitPath(path) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case p.index >= 0:
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t = t.Elem()
		case t.Kind() == reflect.Struct:
			t = fieldType(t, p.key)
			if t == nil {
				return nil
			}
		case t.Kind() == reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType is the type of the struct t's field keyed key, nil if none;
// under a channel, a registered kind's key is its settings' type.
func fieldType(t reflect.Type, key string) reflect.Type {
	if f, ok := yamlFields(t)[key]; ok {
		return f.Type
	}
	if t == channelType {
		return settingsType(key)
	}
	return nil
}
