package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shelfsync/shelfsync/config"
)

// TestWarnings: allocation.percent 0 (with no allocation.min) loads, and is
// a warning naming the channel; a channel that lists something is not.
func TestWarnings(t *testing.T) {
	head := "locations: [{id: main}]\nchannels:\n"
	channel := func(name, alloc string) string {
		return "  - name: " + name + "\n    kind: shopify\n    credentials: {access_token: tok}\n    webhook: {secrets: [s]}\n    locations: [main]\n" +
			"    shopify: {shop: " + name + ".myshopify.com, location_ids: {main: \"1\"}}\n" + alloc
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"percent 0", head + channel("zero", "    allocation: {percent: 0}\n"),
			[]string{`channels[0].allocation.percent: is 0: channel "zero" lists 0 of every SKU (it sells nothing; allocation.min is 0 too); remove the key for the default 100`}},
		{"percent 0 with a min", head + channel("floor", "    allocation: {percent: 0, min: 2, max: 2}\n"), nil},
		{"default percent", head + channel("plain", ""), nil},
		{"percent 50", head + channel("half", "    allocation: {percent: 50}\n"), nil},
		{"second channel", head + channel("plain", "") + channel("zero", "    allocation: {percent: 0}\n"),
			[]string{`channels[1].allocation.percent: is 0: channel "zero" lists 0 of every SKU (it sells nothing; allocation.min is 0 too); remove the key for the default 100`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("t", []byte(tt.yaml))
			if err != nil {
				t.Fatalf("a warning must not fail the load: %v", err)
			}
			var got []string
			for _, w := range cfg.Warnings() {
				got = append(got, w.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestAccountIdentity: the account part only when known, the API URL
// override in lower case without its trailing slash.
func TestAccountIdentity(t *testing.T) {
	tests := []struct {
		account string
		known   bool
		apiURL  string
		want    string
	}{
		{"shop a.myshopify.com", true, "", "shop a.myshopify.com"},
		{"shop ", false, "", ""},
		{"shop ", false, "http://127.0.0.1:9000/", "at http://127.0.0.1:9000"},
		{"seller S in region na", true, "HTTPS://Sandbox.example", "seller S in region na at https://sandbox.example"},
	}
	for _, tt := range tests {
		if got := config.AccountIdentity(tt.account, tt.known, tt.apiURL); got != tt.want {
			t.Errorf("AccountIdentity(%q, %v, %q) = %q, want %q", tt.account, tt.known, tt.apiURL, got, tt.want)
		}
	}
}
