package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Marshal renders cfg as YAML that Load reads back into the same
// configuration, every setting spelled out (defaults included) and every
// secret in clear text. It is for tools that write the config of a
// daemon they set up (`shelfsync fakes --write-config`): write the result
// to a file only the daemon reads (mode 0600), never to a log. Paths (TLS
// files) are written as cfg holds them.
//
// A value holding "${NAME}" is refused: Load would expand it as an environment
// variable, so the file would not read back as cfg.
func Marshal(cfg *Config) ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	// Secret.MarshalYAML redacted every secret; put the values back.
	revealSecrets(reflect.ValueOf(cfg).Elem(), &root)
	if err := refuseEnvRefs(&root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the config: %w", err)
	}
	return out.Bytes(), nil
}

// revealSecrets walks v and its encoding n together and writes each
// Secret's value into its scalar.
func revealSecrets(v reflect.Value, n *yaml.Node) {
	switch {
	case v.Type() == secretType:
		n.Kind, n.Tag, n.Style = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle
		n.Value = v.Interface().(Secret).Value()
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			revealSecrets(v.Elem(), n)
		}
	case v.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i := range min(v.Len(), len(n.Content)) {
			revealSecrets(v.Index(i), n.Content[i])
		}
	case v.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, ok := fields[n.Content[i].Value]; ok {
				revealSecrets(v.FieldByIndex(f.Index), n.Content[i+1])
			}
		}
	}
}

// refuseEnvRefs reports the first scalar that Load would expand.
func refuseEnvRefs(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && envRef.MatchString(n.Value) {
		return errors.New(`encoding the config: a value holds "${NAME}", which loading would expand`)
	}
	for _, c := range n.Content {
		if err := refuseEnvRefs(c); err != nil {
			return err
		}
	}
	return nil
}
