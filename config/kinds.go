package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// KindSettings is what a channel kind adds to the schema: the settings of
// its block, the mapping under the channel keyed by the kind's name (for a
// kind "x", `x: {...}`). A connector registers its type with RegisterKind;
// config knows no kind by name. Load decodes a channel's block strictly into
// a fresh value of the kind's type (unknown keys, wrong types, `_file`
// secrets: as everywhere else), calls Defaults, then Validate, and hands
// the value on in Channel.Settings.
//
// The value must be a pointer to a struct whose fields carry yaml tags;
// Secret fields work as anywhere in the schema.
type KindSettings interface {
	// Defaults fills every unset field with its default. It is
	// idempotent; Load calls it on a channel whose block is absent too.
	Defaults()
	// Validate reports every problem, after Defaults: of the block, and
	// of what the kind requires of the channel's generic keys (which
	// credentials, which webhook settings). Each problem's Path is
	// relative to the channel ("x.location_ids.main",
	// "credentials.access_token"); Load puts "channels[i]." before it and
	// finds its line. ch is the whole channel, defaults applied, Settings
	// included. No I/O. A message never quotes a secret.
	Validate(ch *Channel) []FieldProblem
}

// FieldProblem is one problem a kind's Validate finds: where, relative to
// the channel, and what.
type FieldProblem struct {
	Path string
	Msg  string
}

// FieldProblems gathers a kind's problems in config's own wording; its
// value is what Validate returns.
type FieldProblems []FieldProblem

// Addf adds a problem at path.
func (ps *FieldProblems) Addf(path, format string, args ...any) {
	*ps = append(*ps, FieldProblem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Required adds "is required" at path unless set.
func (ps *FieldProblems) Required(path string, set bool) {
	if !set {
		ps.Addf(path, "is required")
	}
}

// URL adds a problem at path unless raw is empty or an absolute URL with
// one of schemes. The message never quotes a URL's user information.
func (ps *FieldProblems) URL(path, raw string, schemes ...string) {
	if msg := urlProblem(raw, schemes); msg != "" {
		ps.Addf(path, "%s", msg)
	}
}

// KeyDoc documents one key a kind adds or requires, for the README's
// configuration reference: Key is its path relative to the channel
// ("x.shop", "credentials.access_token"), Default its default ("" for
// none, "required" when it must be set), Meaning one line of Markdown.
type KeyDoc struct {
	Key     string
	Default string
	Meaning string
}

// kindName is what a kind may be called: it is a YAML key under the
// channel and a word in messages.
var kindName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

var kindRegistry struct {
	sync.RWMutex
	m map[string]func() KindSettings
	// derived from the schema and the registered types; nil when stale
	schema *schemaIndex
}

// RegisterKind adds a channel kind and the type of its settings (newSettings
// returns a fresh, zero value: a pointer to a struct). It is called once
// per kind from the connector's init (through connectors.Register); it
// panics on an empty, malformed or duplicate kind, a kind named like one
// of the channel's own keys, or a settings value that is not a pointer to
// a struct, because that is a programming error found at start-up.
func RegisterKind(kind string, newSettings func() KindSettings) {
	if !kindName.MatchString(kind) {
		panic(fmt.Sprintf("config: RegisterKind(%q): a kind is lower-case letters, digits and _", kind))
	}
	if _, clash := yamlFields(channelType)[kind]; clash {
		panic(fmt.Sprintf("config: RegisterKind(%q): the channel has a key of that name", kind))
	}
	if newSettings == nil {
		panic(fmt.Sprintf("config: RegisterKind(%q) with no settings", kind))
	}
	if t := reflect.TypeOf(newSettings()); t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: RegisterKind(%q): settings must be a pointer to a struct, got %v", kind, t))
	}
	kindRegistry.Lock()
	defer kindRegistry.Unlock()
	if _, dup := kindRegistry.m[kind]; dup {
		panic(fmt.Sprintf("config: RegisterKind called twice for kind %q", kind))
	}
	if kindRegistry.m == nil {
		kindRegistry.m = map[string]func() KindSettings{}
	}
	kindRegistry.m[kind] = newSettings
	kindRegistry.schema = nil
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	kindRegistry.RLock()
	defer kindRegistry.RUnlock()
	ks := make([]string, 0, len(kindRegistry.m))
	for k := range kindRegistry.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// NewSettings returns a fresh, zero value of kind's settings (no defaults
// applied), nil when kind is not registered.
func NewSettings(kind string) KindSettings {
	kindRegistry.RLock()
	f := kindRegistry.m[kind]
	kindRegistry.RUnlock()
	if f == nil {
		return nil
	}
	return f()
}

// settingsType is the Go type of kind's settings (a pointer), nil when
// kind is not registered.
func settingsType(kind string) reflect.Type {
	s := NewSettings(kind)
	if s == nil {
		return nil
	}
	return reflect.TypeOf(s)
}

// kindList is the registered kinds for a message.
func kindList() string {
	ks := Kinds()
	if len(ks) == 0 {
		return "none is registered"
	}
	return strings.Join(ks, ", ")
}

var channelType = reflect.TypeOf(Channel{})

// schemaIndex is what the loader needs to know of every type in the
// schema, the registered kinds' settings included.
type schemaIndex struct {
	// secretKeys are the YAML keys of Secret fields, each of which also
	// has a `_file` variant; true marks a list of secrets.
	secretKeys map[string]bool
	// structs are the names of the schema's struct types, as yaml.v3's
	// type errors spell them ("config.TLS"), so messages say "a mapping".
	structs map[string]bool
}

// schema returns the index of the schema as registered now.
func schema() *schemaIndex {
	kindRegistry.RLock()
	s := kindRegistry.schema
	kindRegistry.RUnlock()
	if s != nil {
		return s
	}
	s = &schemaIndex{secretKeys: map[string]bool{}, structs: map[string]bool{}}
	seen := map[reflect.Type]bool{}
	s.add(reflect.TypeOf(Config{}), seen)
	for _, k := range Kinds() {
		if t := settingsType(k); t != nil {
			s.add(t, seen)
		}
	}
	kindRegistry.Lock()
	kindRegistry.schema = s
	kindRegistry.Unlock()
	return s
}

func (s *schemaIndex) add(t reflect.Type, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == secretType || seen[t] {
		return
	}
	seen[t] = true
	s.structs[t.String()] = true
	for name, f := range yamlFields(t) {
		switch {
		case f.Type == secretType:
			s.secretKeys[name] = false
		case f.Type.Kind() == reflect.Slice && f.Type.Elem() == secretType:
			s.secretKeys[name] = true
		default:
			s.add(f.Type, seen)
		}
	}
}

// isKind reports whether key names a registered kind.
func isKind(key string) bool {
	return slices.Contains(Kinds(), key)
}
