package woocommerce

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestReadmeConfig: the README's sample `woocommerce:` block decodes
// strictly into Settings and validates, and every settings key is in the
// README's key table.
func TestReadmeConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	sample, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no yaml sample")
	}
	var doc struct {
		Channels []struct {
			Kind        string         `yaml:"kind"`
			Credentials map[string]any `yaml:"credentials"`
			WooCommerce yaml.Node      `yaml:"woocommerce"`
		} `yaml:"channels"`
	}
	if err := yaml.Unmarshal([]byte(sample), &doc); err != nil {
		t.Fatalf("README sample: %v", err)
	}
	if len(doc.Channels) != 1 || doc.Channels[0].Kind != Kind {
		t.Fatalf("sample channels %+v", doc.Channels)
	}
	ch := doc.Channels[0]
	if _, ok := ch.Credentials["client_id"]; !ok {
		t.Error("the sample sets no credentials.client_id")
	}
	var block bytes.Buffer
	enc := yaml.NewEncoder(&block)
	if err := enc.Encode(&ch.WooCommerce); err != nil {
		t.Fatal(err)
	}
	var s Settings
	dec := yaml.NewDecoder(&block)
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("the sample's woocommerce block: %v", err)
	}
	s.Defaults()
	if ps := s.check(); len(ps) != 0 {
		t.Fatalf("the sample does not validate: %v", ps)
	}
	if s.URL != "https://shop.example.com" || s.Timeout != 2*time.Minute || s.Statuses["shipped"] != ClassShipped {
		t.Fatalf("sample settings %+v", s)
	}
	typ := reflect.TypeOf(Settings{})
	for i := 0; i < typ.NumField(); i++ {
		key := "`woocommerce." + strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0] + "`"
		if !strings.Contains(string(readme), "| "+key+" |") {
			t.Errorf("README's key table has no row for %s", key)
		}
	}
	for _, key := range []string{"`credentials.client_id`", "`credentials.client_secret`", "`webhook.secrets`"} {
		if !strings.Contains(string(readme), "| "+key+" |") {
			t.Errorf("README's key table has no row for %s", key)
		}
	}
}
