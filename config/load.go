package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
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
// Every problem found is reported at once in an *Error.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, b)
}

// Parse is Load on bytes already read; name labels the messages.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			return nil, &Error{File: name, Problems: []Problem{{Msg: "the file is empty"}}}
		}
		return nil, &Error{File: name, Problems: []Problem{{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	var problems []Problem
	problems = append(problems, expandEnv(&root)...)
	problems = append(problems, rewriteSecretFiles(&root)...)

	cfg := &Config{}
	problems = append(problems, decodeStrict(&root, cfg)...)
	cfg.applyDefaults()
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
				problems = append(problems, problemFromYAML(m))
			}
		} else {
			problems = append(problems, Problem{Msg: err.Error()})
		}
	}
	return problems
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

var yamlTypeMsg = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

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
			if n.Tag == "" || n.Tag == "!!str" || n.Style != 0 {
				return
			}
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
func rewriteSecretFiles(n *yaml.Node) []Problem {
	var problems []Problem
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			keys := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				keys[n.Content[i].Value] = true
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				base, ok := strings.CutSuffix(k.Value, "_file")
				if !ok || !secretKeys[base] {
					continue
				}
				if keys[base] {
					problems = append(problems, Problem{Line: k.Line, Path: k.Value, Msg: fmt.Sprintf("set %s or %s, not both", base, k.Value)})
					continue
				}
				if v.Kind != yaml.ScalarNode {
					problems = append(problems, Problem{Line: v.Line, Path: k.Value, Msg: "must be a file path"})
					continue
				}
				k.Value = base
				v.Tag = secretFileTag
				v.Style = 0
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return problems
}

// secretKeys are the YAML keys of Secret fields: each also has a `_file` variant.
var secretKeys = map[string]bool{
	"password": true, "admin_token": true, "access_token": true, "client_id": true,
	"client_secret": true, "refresh_token": true, "aws_access_key_id": true,
	"aws_secret_access_key": true, "verification_token": true, "secret": true,
	"secrets": false, // a list: each entry inline; use ${ENV} for rotation
}
