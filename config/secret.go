package config

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a credential. In YAML it is a string (with ${ENV_VAR} expanded
// like every other string) or, under the key's `_file` variant
// (`access_token_file: /run/secrets/token`), read from a file with the
// trailing newline cut. It never prints its value: String, MarshalText and
// MarshalYAML redact it, so a Secret is safe in logs, errors and dumps.
type Secret struct {
	value  string
	source string // where it came from, for messages: "file /run/...", "inline"
}

// NewSecret makes a Secret from a value held in code (tests, the demo).
func NewSecret(v string) Secret { return Secret{value: v, source: "inline"} }

// Value is the secret itself. Call it only where the secret is used.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret has a non-empty value.
func (s Secret) IsSet() bool { return s.value != "" }

const redacted = "[redacted]"

// String redacts the value.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// MarshalText redacts the value (JSON, zerolog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML redacts the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// secretFileTag marks a scalar that rewriteSecretFiles moved from a
// `key_file` key: its value is a path to read.
const secretFileTag = "!shelfsync-secret-file"

// secretTypeWords is what a Secret's type error says it wants.
const secretTypeWords = "a secret (a string)"

// UnmarshalYAML takes a scalar, or a path marked by rewriteSecretFiles.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		// Worded like yaml.v3's own type errors, so Parse names the key.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into %s", n.Line, n.ShortTag(), secretTypeWords)}}
	}
	if n.Tag == secretFileTag {
		b, err := os.ReadFile(n.Value)
		if err != nil {
			// A TypeError lets yaml.v3 go on and gather the other problems.
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: reading secret file: %v", n.Line, err)}}
		}
		*s = Secret{value: strings.TrimRight(string(b), "\r\n"), source: "file " + n.Value}
		return nil
	}
	*s = Secret{value: n.Value, source: "inline"}
	return nil
}
