package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	problems = append(problems, expandEnv(&root)...)
	problems = append(problems, rewriteSecretFiles(&root, dir)...)

	cfg := &Config{}
	problems = append(problems, decodeStrict(&root, cfg)...)
	cfg.applyDefaults()
	cfg.resolvePaths(dir)
	// Values are checked even when decoding found problems, so one run
	// reports everything (a value that failed to decode stays unset).
	for _, p := range cfg.validate() {
		p.Line = lineOf(&root, p.Path)
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Error{File: name, Problems: problems}
	}
	return cfg, nil
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

// decodeStrict decodes the node tree into cfg, rejecting unknown keys. yaml.v3
// gathers every type and unknown-field error of the document in one
// *yaml.TypeError, each message already carrying its line.
func decodeStrict(root *yaml.Node, cfg *Config) []Problem {
	// Node.Decode does not reject unknown keys (yaml.v3 honours KnownFields
	// only on a Decoder), so unknownKeys walks the tree against the types.
	var problems []Problem
	problems = append(problems, unknownKeys(root, cfg)...)
	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				p := problemFromYAML(m)
				p.Path = pathAt(root, p.Line, yamlNodeTag.FindStringSubmatch(m))
				problems = append(problems, p)
			}
		} else {
			problems = append(problems, Problem{Msg: err.Error()})
		}
	}
	return problems
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
		return Problem{Line: line, Msg: friendlyType(msg)}
	}
	return Problem{Msg: m}
}

// yamlNodeTag finds the tag and value yaml.v3 names in a type error:
// "cannot unmarshal !!str `abc` into int", "cannot unmarshal !!seq into ...".
var yamlNodeTag = regexp.MustCompile("cannot unmarshal !!(\\w+)(?: `(.*)`)? into")

var yamlTypeMsg = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")

// friendlyType turns yaml.v3's "cannot unmarshal !!str `abc` into int" into
// words an operator reads at a glance.
func friendlyType(msg string) string {
	m := yamlTypeMsg.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := map[string]string{
		"int": "a whole number", "int64": "a whole number", "float64": "a number", "bool": "true or false",
		"string": "a string", "time.Duration": "a duration such as 30s or 5m",
	}[m[3]]
	if want == "" {
		switch {
		case strings.HasPrefix(m[3], "[]"):
			want = "a list"
		case strings.HasPrefix(m[3], "map["), strings.HasPrefix(m[3], "config."):
			want = "a mapping"
		default:
			want = m[3]
		}
	}
	if m[2] == "" && (m[1] == "seq" || m[1] == "map") {
		got := map[string]string{"seq": "a list", "map": "a mapping"}[m[1]]
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	return fmt.Sprintf("%q is not %s", m[2], want)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} in every scalar with the environment's value.
// An unset variable is a problem naming the variable, never a value.
func expandEnv(n *yaml.Node) []Problem {
	var problems []Problem
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
				name := envRef.FindStringSubmatch(ref)[1]
				v, ok := os.LookupEnv(name)
				if !ok {
					problems = append(problems, Problem{Line: n.Line, Msg: fmt.Sprintf("environment variable %s is not set", name)})
				}
				return v
			})
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
				isList, known := secretKeys[base]
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

// secretKeys are the YAML keys of Secret fields, each of which also has a
// `_file` variant; true marks a list of secrets (`secrets_file: [a, b]`).
var secretKeys = map[string]bool{
	"password": false, "admin_token": false, "access_token": false, "client_id": false,
	"client_secret": false, "refresh_token": false, "aws_access_key_id": false,
	"aws_secret_access_key": false, "verification_token": false, "secret": false,
	"secrets": true,
}
