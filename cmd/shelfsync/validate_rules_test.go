package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateRules: a channel that would never see a sale and two
// channels on one shop are errors (exit 2, naming the channels);
// allocation.percent 0 is a warning on stderr with exit 0.
func TestValidateRules(t *testing.T) {
	shop := func(name, domain, extra string) string {
		return "  - name: " + name + "\n    kind: shopify\n    credentials: {access_token: tok}\n    locations: [main]\n" +
			"    shopify: {shop: " + domain + ", location_ids: {main: \"1\"}}\n" + extra
	}
	const hooks = "    webhook: {secrets: [s]}\n"
	tests := []struct {
		name      string
		channels  string
		code      int
		stdout    string
		stderrHas []string
	}{
		{"never sees a sale", shop("deaf", "a.myshopify.com", "    webhook: {disabled: true}\n"), 2, "",
			[]string{"channels[0].poll: is required with webhook.disabled"}},
		{"polls instead", shop("polled", "a.myshopify.com", "    webhook: {disabled: true}\n    poll: \"@every 2m\"\n"), 0, "ok: 1 channels\n", nil},
		{"same shop twice", shop("first", "a.myshopify.com", hooks) + shop("second", "a.myshopify.com", hooks), 2, "",
			[]string{`channel "second" is on the same shopify account as channels[0] ("first"): shop a.myshopify.com`}},
		{"two shops", shop("first", "a.myshopify.com", hooks) + shop("second", "b.myshopify.com", hooks), 0, "ok: 2 channels\n", nil},
		{"percent 0 warns", shop("hidden", "a.myshopify.com", hooks+"    allocation: {percent: 0}\n"), 0, "ok: 1 channels\n",
			[]string{`warning: channels[0].allocation.percent: is 0: channel "hidden" lists 0 of every SKU`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte("locations: [{id: main}]\nchannels:\n"+tt.channels), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runValidate(t, registeredOrFake, "--config", path)
			if code != tt.code || out != tt.stdout {
				t.Fatalf("exit %d stdout %q stderr %q; want %d and %q", code, out, errOut, tt.code, tt.stdout)
			}
			for _, want := range tt.stderrHas {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q lacks %q", errOut, want)
				}
			}
			if len(tt.stderrHas) == 0 && errOut != "" {
				t.Errorf("stderr %q, want nothing", errOut)
			}
		})
	}
}
