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

// MarshalYAML writes the channel with its kind's settings as the block
// keyed by the kind's name, as Load reads it. Secrets are redacted, as
// everywhere; Marshal puts their values back.
func (ch Channel) MarshalYAML() (any, error) {
	type fields Channel // without this method
	var n yaml.Node
	if err := n.Encode(fields(ch)); err != nil {
		return nil, err
	}
	if ch.Settings == nil || ch.Kind == "" {
		return &n, nil
	}
	var block yaml.Node
	if err := block.Encode(ch.Settings); err != nil {
		return nil, fmt.Errorf("channel %s: its %s settings: %w", ch.Name, ch.Kind, err)
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ch.Kind}, &block)
	return &n, nil
}

// revealSecrets walks v and its encoding n together and writes each
// Secret's value into its scalar.
func revealSecrets(v reflect.Value, n *yaml.Node) {
	switch {
	case v.Type() == secretType:
		n.Kind, n.Tag, n.Style = yaml.ScalarNode, "!!str", yaml.DoubleQuotedStyle
		n.Value = v.Interface().(Secret).Value()
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface:
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
			key := n.Content[i].Value
			if f, ok := fields[key]; ok {
				revealSecrets(v.FieldByIndex(f.Index), n.Content[i+1])
			} else if v.Type() == channelType && key == v.FieldByName("Kind").String() {
				// The kind's block, which MarshalYAML added.
				revealSecrets(v.FieldByName("Settings"), n.Content[i+1])
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
