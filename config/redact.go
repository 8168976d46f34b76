package config

import (
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// What a problem says instead of a value it must not quote.
const valueHidden = "(value hidden)"

// sensitiveWords: a key whose name holds one of these (in any case) holds
// a credential, whether or not it is one of shelfsync's Secret fields.
var sensitiveWords = []string{"secret", "token", "password", "passwd", "key", "credential"}

// sensitiveName reports whether the value of the mapping key name is a
// credential: a Secret field of the schema, a registered kind's settings
// included (client_id too), its `_file`
// variant, or any key whose name says secret, token, password or key
// (client_secret, access_token, api_key, ...).
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	if _, ok := schema().secretKeys[strings.TrimSuffix(n, "_file")]; ok {
		return true
	}
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// sensitiveEnv reports whether an environment variable's name says it
// holds a credential: a sensitive word, or a Secret field's key at its
// end (SHOPIFY_CLIENT_ID).
func sensitiveEnv(name string) bool {
	n := strings.ToLower(name)
	if sensitiveName(n) {
		return true
	}
	for k := range schema().secretKeys {
		if strings.HasSuffix(n, k) {
			return true
		}
	}
	return false
}

// sensitivePath reports whether the value at path (a.b[2].c) sits under a
// sensitive key: the key itself, or a list or mapping it holds (a secrets
// list's items, everything under credentials).
func sensitivePath(path string) bool {
	for _, p := range splitPath(path) {
		if p.index < 0 && sensitiveName(p.key) {
			return true
		}
	}
	return false
}

// hiddenValues gathers what no problem may quote: every scalar under a
// sensitive key (as the file gives it, after ${ENV} expansion) except the
// paths of `_file` keys, and the value of every Secret decoded (which
// holds the contents of secret files).
type hiddenValues map[string]bool

// addTree adds the values under sensitive keys of the node tree. Call it
// before rewriteSecretFiles, while `_file` keys still say what they hold.
func (h hiddenValues) addTree(root *yaml.Node) {
	followed := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, sensitive bool)
	walk = func(n *yaml.Node, sensitive bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if sensitive {
				h[n.Value] = true
			}
		case yaml.AliasNode:
			// What a sensitive key takes from an anchor elsewhere is
			// sensitive there too (once: an alias may hold itself).
			if sensitive && n.Alias != nil && !followed[n.Alias] {
				followed[n.Alias] = true
				walk(n.Alias, true)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				// A secret file's path is no secret, and messages name it.
				isPath := strings.HasSuffix(strings.ToLower(k), "_file")
				walk(n.Content[i+1], (sensitive || sensitiveName(k)) && !isPath)
			}
		default: // documents, sequences
			for _, c := range n.Content {
				walk(c, sensitive)
			}
		}
	}
	walk(root, false)
}

// addSecrets adds the value of every Secret in v (a decoded *Config, maybe
// only partly filled).
func (h hiddenValues) addSecrets(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			h.addSecrets(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == secretType {
			if s := v.Interface().(Secret); s.value != "" {
				h[s.value] = true
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				h.addSecrets(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			h.addSecrets(v.Index(i))
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			h.addSecrets(it.Value())
		}
	}
}

// quoted reports whether q is how yaml.v3 quotes a hidden value.
func (h hiddenValues) quoted(q string) bool {
	if q == "" {
		return false
	}
	if h[q] {
		return true
	}
	for v := range h {
		if quotedAs(v, q) {
			return true
		}
	}
	return false
}

// scrub takes every hidden value out of msg: quoted as %q or as yaml.v3
// quotes it (`value`, or its first 7 bytes and "..." when longer than 10),
// and unquoted when it is long enough not to be an ordinary word. It is
// the last guard: the messages are built not to quote such values at all.
func (h hiddenValues) scrub(msg string) string {
	for v := range h {
		if v == "" {
			continue
		}
		forms := []string{strconv.Quote(v), "`" + v + "`"}
		if len(v) > 10 {
			forms = append(forms, "`"+v[:7]+"...`", strconv.Quote(v[:7]+"..."))
		}
		for _, f := range forms {
			msg = strings.ReplaceAll(msg, f, valueHidden)
		}
		if len(v) >= 8 {
			msg = strings.ReplaceAll(msg, v, valueHidden)
		}
	}
	return msg
}

// redactURL hides a URL's user information (user:password@), which
// messages about a malformed URL would otherwise quote.
func redactURL(raw string) string {
	scheme, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	authority := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		authority = rest[:j]
	}
	if k := strings.LastIndex(authority, "@"); k >= 0 {
		return scheme + "(hidden)@" + rest[k+1:]
	}
	return raw
}
