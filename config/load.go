package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a config: where (the key path and the
// line) and what. It never holds a secret's value.
type Problem struct {
	Line int    // 0 when the problem has no single place
	Path string // channels[1].allocation.percent
	Msg  string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found in a config file.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Load reads, decodes strictly, defaults and validates the config at path.
// Every problem found is reported at once in an *Error. Relative paths in
// the file (secret files, TLS files) are taken from the file's directory, so
// a config and the files it names can move together.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		// Still an *Error, so callers print every failure the same way.
		return nil, &Error{File: path, Problems: []Problem{{Msg: fmt.Sprintf("reading config: %v", errors.Unwrap(err))}}}
	}
	return parse(path, filepath.Dir(path), b)
}

// Parse is Load on bytes already read; name labels the messages. Relative
// paths are taken from the working directory.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, "", data)
}

func parse(name, dir string, data []byte) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Problems: []Problem{{Msg: "the file is empty"}}}
		}
		return nil, &Error{File: name, Problems: []Problem{syntaxProblem(err)}}
	}
	if isEmptyDocument(&root) {
		return nil, &Error{File: name, Problems: []Problem{{Msg: "the file is empty"}}}
	}
	var problems []Problem
	// A second document would be silently ignored: say so instead.
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		problems = append(problems, Problem{Line: next.Line, Msg: "more than one YAML document (---): put everything in one"})
	} else if !errors.Is(err, io.EOF) {
		problems = append(problems, syntaxProblem(err))
	}
	// The values no message may quote: what a variable named like a
	// secret gives, wherever it goes, and every value under a sensitive
	// key, gathered as the file says them (after ${ENV}) before `_file`
	// keys are rewritten.
	hidden := hiddenValues{}
	problems = append(problems, expandEnv(&root, hidden)...)
	hidden.addTree(&root)
	problems = append(problems, rewriteSecretFiles(&root, dir)...)

	cfg := &Config{}
	decoded, complete := decodeStrict(&root, cfg, hidden)
	problems = append(problems, decoded...)
	hidden.addSecrets(reflect.ValueOf(cfg))
	cfg.applyDefaults()
	cfg.resolvePaths(dir)
	// Values are checked even when decoding found problems, so one run
	// reports everything (a value that failed to decode stays unset);
	// not when yaml.v3 gave up half-way, leaving any value unset.
	if complete {
		for _, p := range cfg.validate() {
			p.Line = lineOf(&root, p.Path)
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		// The messages are built not to quote a secret; this is the guard
		// for whatever slips through (an anchor, a library's wording).
		for i := range problems {
			problems[i].Msg = hidden.scrub(problems[i].Msg)
		}
		sortProblems(problems)
		return nil, &Error{File: name, Problems: problems}
	}
	return cfg, nil
}

// Check fills the unset settings of a configuration built in code (a
// test, a tool) with their defaults, as Load does, then validates it as
// Load validates a file: every problem at once, in an *Error for File
// "config", each with its key path and no line (there is no file). A
// channel's Settings must be of its kind's type, or nil for the kind's
// defaults.
func (c *Config) Check() error {
	c.applyDefaults()
	problems := c.validate()
	if len(problems) == 0 {
		return nil
	}
	hidden := hiddenValues{}
	hidden.addSecrets(reflect.ValueOf(c))
	for i := range problems {
		problems[i].Msg = hidden.scrub(problems[i].Msg)
	}
	return &Error{File: "config", Problems: problems}
}

// isEmptyDocument: a file of only comments, or a lone "---", or "~".
func isEmptyDocument(root *yaml.Node) bool {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return true
	}
	n := root.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// resolvePaths joins relative TLS file paths to dir, as Load promises;
// secret files were resolved while rewriting them.
func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Redis.TLS.CAFile, &c.Redis.TLS.CertFile, &c.Redis.TLS.KeyFile} {
		*p = resolvePath(dir, *p)
	}
}

func resolvePath(dir, p string) string {
	if p == "" || dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

// decodeStrict decodes the node tree into cfg, rejecting unknown keys, and
// each channel's kind block into the kind's settings. yaml.v3 gathers
// every type and unknown-field error of the document in one
// *yaml.TypeError, each message already carrying its line. complete is
// false when yaml.v3 gave up on the document half-way. No message quotes
// a value that is hidden or sits under a sensitive key.
func decodeStrict(root *yaml.Node, cfg *Config, hidden hiddenValues) (problems []Problem, complete bool) {
	// Node.Decode does not reject unknown keys (yaml.v3 honours KnownFields
	// only on a Decoder), so unknownKeys walks the tree against the types.
	problems = append(problems, unknownKeys(root, cfg)...)
	decoded, complete := decodeNode(root, root, cfg, hidden)
	problems = append(problems, decoded...)
	if !complete {
		return problems, false
	}
	blocks, complete := decodeKindBlocks(root, cfg, hidden)
	return append(problems, blocks...), complete
}

// decodeNode decodes n (a node of the tree root) into v. Type errors
// become problems with their key and line; complete is false when yaml.v3
// gave up half-way.
func decodeNode(root, n *yaml.Node, v any, hidden hiddenValues) (problems []Problem, complete bool) {
	err := n.Decode(v)
	if err == nil {
		return nil, true
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{decodeFailure(root, err)}, false
	}
	for _, m := range te.Errors {
		p := problemFromYAML(m)
		tm := yamlTypeMsg.FindStringSubmatch(p.Msg)
		var sensitive bool
		p.Path, p.Line, sensitive = pathAt(root, p.Line, tm)
		// A value whose key is unknown may be a secret too.
		hide := sensitive || p.Path == "" || tm != nil && hidden.quoted(tm[2])
		p.Msg = friendlyType(tm, p.Msg, hide)
		problems = append(problems, p)
	}
	return problems, true
}

// decodeKindBlocks decodes each channel's block keyed by its kind into a
// fresh value of the kind's settings (Channel.Settings). A block of
// another registered kind is a problem; a channel whose kind is not
// registered keeps nil settings (validation says the kind is unknown).
func decodeKindBlocks(root *yaml.Node, cfg *Config, hidden hiddenValues) (problems []Problem, complete bool) {
	complete = true
	items := channelNodes(root)
	for i := range cfg.Channels {
		if i >= len(items) {
			break
		}
		ch := &cfg.Channels[i]
		m := items[i]
		for j := 0; j+1 < len(m.Content); j += 2 {
			k, v := m.Content[j], m.Content[j+1]
			if !isKind(k.Value) {
				continue
			}
			if k.Value != ch.Kind {
				problems = append(problems, Problem{Line: k.Line, Path: fmt.Sprintf("channels[%d].%s", i, k.Value),
					Msg: fmt.Sprintf("%s settings on a channel of kind %q", k.Value, ch.Kind)})
				continue
			}
			s := NewSettings(ch.Kind)
			decoded, ok := decodeNode(root, v, s, hidden)
			problems = append(problems, decoded...)
			complete = complete && ok
			ch.Settings = s
		}
	}
	return problems, complete
}

// channelNodes are the mappings of the channels list, in the order
// yaml.v3 decodes them into Config.Channels (it drops an item that is
// no mapping, having reported it), aliases followed.
func channelNodes(root *yaml.Node) []*yaml.Node {
	top := deref(root)
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = deref(top.Content[0])
	}
	if top.Kind != yaml.MappingNode {
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "channels" {
			list = deref(top.Content[i+1])
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	var items []*yaml.Node
	for _, it := range list.Content {
		if it = deref(it); it.Kind == yaml.MappingNode {
			items = append(items, it)
		}
	}
	return items
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner). For these it reports the 0-based line where the unfinished
// construct began, and no line at all for the first one; scanner problems
// come 1-based. syntaxProblem evens that out.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive",
	"found duplicate %YAML directive", "found incompatible YAML document",
	"found undefined tag handle",
}

func syntaxProblem(err error) Problem {
	p := problemFromYAML(err.Error())
	if slices.Contains(yamlParserProblems, p.Msg) {
		p.Line++
	}
	p.Msg = "YAML syntax: " + p.Msg
	return p
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

func problemFromYAML(m string) Problem {
	m = strings.TrimPrefix(m, "yaml: ")
	if sm := yamlLine.FindStringSubmatch(m); sm != nil {
		var line int
		fmt.Sscanf(sm[1], "%d", &line)
		msg := sm[2]
		// Secret file errors already say "line N:"; keep one.
		if sm2 := yamlLine.FindStringSubmatch(msg); sm2 != nil {
			msg = sm2[2]
		}
		return Problem{Line: line, Msg: msg}
	}
	return Problem{Msg: m}
}

// yamlTypeMsg takes apart yaml.v3's type errors: the node's tag, the value
// it quotes (only for scalars; cut to 7 bytes and "..." when longer than
// 10) and the Go type: "cannot unmarshal !!str `abc` into int",
// "cannot unmarshal !!seq into []string", "cannot unmarshal !x `v` into ...".
var yamlTypeMsg = regexp.MustCompile("^cannot unmarshal (!\\S*)(?: `(.*)`)? into (.+)$")

// friendlyType turns yaml.v3's "cannot unmarshal !!str `abc` into int" (m,
// its yamlTypeMsg match; nil leaves msg as it is) into words an operator
// reads at a glance. With hide it never quotes the value, only its kind:
// "a string is not a list (value hidden)".
func friendlyType(m []string, msg string, hide bool) string {
	if m == nil {
		return msg
	}
	want := goTypeWords(m[3])
	if m[1] == "!!seq" || m[1] == "!!map" {
		return fmt.Sprintf("got %s, want %s", tagWords(m[1]), want)
	}
	if hide {
		return fmt.Sprintf("%s is not %s %s", tagWords(m[1]), want, valueHidden)
	}
	return fmt.Sprintf("%q is not %s", m[2], want)
}

// goTypeWords names what a Go type wants, in a config author's words.
func goTypeWords(t string) string {
	if w, ok := map[string]string{
		"int": "a whole number", "int64": "a whole number", "float64": "a number", "bool": "true or false",
		"string": "a string", "time.Duration": "a duration such as 30s or 5m",
	}[t]; ok {
		return w
	}
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), schema().structs[t]:
		return "a mapping"
	}
	return t
}

// tagWords names what a YAML node is, by its tag, without its value.
func tagWords(tag string) string {
	if w, ok := map[string]string{
		"!!str": "a string", "!!int": "a whole number", "!!float": "a number", "!!bool": "a boolean",
		"!!null": "an empty value", "!!timestamp": "a timestamp", "!!binary": "binary data",
		"!!seq": "a list", "!!map": "a mapping",
	}[tag]; ok {
		return w
	}
	return "a value tagged " + tag
}

// yamlDecodeMsg is yaml.v3's failure for a scalar its explicit tag does
// not fit (`port: !!int abc`): it ends the decoding, with no line, and
// quotes the whole value.
var yamlDecodeMsg = regexp.MustCompile("^cannot decode (!\\S*) `(.*)` as a (!\\S*)$")

// decodeFailure is the problem of a decoding yaml.v3 gave up on. Where it
// names a value, the problem names its key and line instead, and the value
// only when it is no secret.
func decodeFailure(root *yaml.Node, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlDecodeMsg.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Msg: msg}
	}
	p := Problem{}
	eachValue(root, func(n *yaml.Node, path string, line int) {
		if p.Line == 0 && n.Kind == yaml.ScalarNode && n.ShortTag() == m[3] && n.Value == m[2] {
			p.Line, p.Path = line, path
		}
	})
	want := tagWords(m[3])
	if p.Path == "" || sensitivePath(p.Path) {
		p.Msg = fmt.Sprintf("tagged %s, but the value is not %s %s", m[3], want, valueHidden)
	} else {
		p.Msg = fmt.Sprintf("%q is tagged %s, but is not %s", m[2], m[3], want)
	}
	return p
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} in every scalar with the environment's value,
// ${VAR:-default} with default when VAR is unset or empty, and $$ with a
// literal $ (so a value may hold "${" as text). An unset variable without
// a default is a problem naming the variable, never a value. A variable
// whose name says it is a credential (SHOPIFY_TOKEN,
// AWS_SECRET_ACCESS_KEY, ...) adds its value, and the scalar it fills, to
// hidden: under whatever key it lands, no message may quote it.
func expandEnv(n *yaml.Node, hidden hiddenValues) []Problem {
	var problems []Problem
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$") && envRef.MatchString(n.Value) {
			secret := false
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
				m := envRef.FindStringSubmatch(ref)
				if ref == "$$" {
					return "$"
				}
				name, hasDefault, def := m[1], m[2] != "", m[3]
				v, ok := os.LookupEnv(name)
				switch {
				case hasDefault && v == "":
					v = def
				case !ok:
					problems = append(problems, Problem{Line: n.Line, Msg: fmt.Sprintf("environment variable %s is not set", name)})
				}
				if sensitiveEnv(name) {
					secret = true
					hidden[v] = true
				}
				return v
			})
			if secret {
				hidden[n.Value] = true
			}
			// The scalar was resolved as a string while it still read
			// "${VAR}"; a plain one is resolved again from what it holds
			// now, so `port: ${PORT}` can fill an int. Quoted stays a string.
			if n.Style == 0 {
				n.Tag = ""
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return problems
}

// rewriteSecretFiles turns `key_file: path` into `key: path` marked with
// secretFileTag, so Secret.UnmarshalYAML reads the file. Setting both key
// and key_file is a problem.
func rewriteSecretFiles(root *yaml.Node, dir string) []Problem {
	var problems []Problem
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			keys := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				keys[n.Content[i].Value] = true
			}
			kept := n.Content[:0:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				base, ok := strings.CutSuffix(k.Value, "_file")
				isList, known := schema().secretKeys[base]
				switch {
				case !ok || !known:
				case keys[base]:
					// Reported here; dropping the _file key keeps it from
					// being reported again as unknown.
					problems = append(problems, Problem{Line: k.Line, Path: join(path, k.Value), Msg: fmt.Sprintf("set %s or %s, not both", base, k.Value)})
					continue
				case isList:
					if !markSecretFiles(v, dir, true) {
						problems = append(problems, Problem{Line: v.Line, Path: join(path, k.Value), Msg: "must be a list of file paths"})
						continue
					}
					k.Value = base
				default:
					if !markSecretFiles(v, dir, false) {
						problems = append(problems, Problem{Line: v.Line, Path: join(path, k.Value), Msg: "must be a file path"})
						continue
					}
					k.Value = base
				}
				kept = append(kept, k, v)
				walk(v, join(path, k.Value))
			}
			n.Content = kept
		}
	}
	walk(root, "")
	return problems
}

// markSecretFiles tags v (a path, or with list a list of paths) so that
// Secret.UnmarshalYAML reads the files; false when v has the wrong shape.
func markSecretFiles(v *yaml.Node, dir string, list bool) bool {
	nodes := []*yaml.Node{v}
	if list {
		if v.Kind != yaml.SequenceNode {
			return false
		}
		nodes = v.Content
	}
	for _, n := range nodes {
		if n.Kind != yaml.ScalarNode {
			return false
		}
	}
	for _, n := range nodes {
		n.Value = resolvePath(dir, n.Value)
		n.Tag = secretFileTag
		n.Style = 0
	}
	return true
}
