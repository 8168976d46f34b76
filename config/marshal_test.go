package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestMarshalReadsBack: Marshal of a loaded config parses back to a
// config that marshals to the same text (nothing lost, nothing changed),
// and the secrets arrive in clear, not redacted.
func TestMarshalReadsBack(t *testing.T) {
	setTestEnv(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	examples, _ := filepath.Glob("../deploy/examples/*.yaml")
	files = append(files, examples...)
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			text, err := Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("marshalled", text)
			if err != nil {
				t.Fatalf("the written config does not load: %v\n%s", err, text)
			}
			again, err := Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(text, again) {
				t.Fatalf("the config changed on the way back:\nfirst:\n%s\nthen:\n%s", text, again)
			}
			if strings.Contains(string(text), redacted) {
				t.Fatalf("a secret was written redacted:\n%s", text)
			}
			if back.HTTP.AdminToken.Value() != cfg.HTTP.AdminToken.Value() {
				t.Fatal("admin token lost")
			}
			for i, ch := range cfg.Channels {
				got := back.Channels[i]
				for _, pair := range [][2]Secret{
					{got.Credentials.AccessToken, ch.Credentials.AccessToken},
					{got.Credentials.ClientSecret, ch.Credentials.ClientSecret},
					{got.Credentials.RefreshToken, ch.Credentials.RefreshToken},
					{got.Webhook.VerificationToken, ch.Webhook.VerificationToken},
				} {
					if pair[0].Value() != pair[1].Value() {
						t.Fatalf("channel %s: a secret changed on the way back", ch.Name)
					}
				}
				if len(got.Webhook.Secrets) != len(ch.Webhook.Secrets) {
					t.Fatalf("channel %s: %d webhook secrets, want %d", ch.Name, len(got.Webhook.Secrets), len(ch.Webhook.Secrets))
				}
				for j := range ch.Webhook.Secrets {
					if got.Webhook.Secrets[j].Value() != ch.Webhook.Secrets[j].Value() {
						t.Fatalf("channel %s: webhook secret %d changed on the way back", ch.Name, j)
					}
				}
			}
		})
	}
}

// TestMarshalRefusesEnvRefs: a value Load would expand cannot be written
// faithfully.
func TestMarshalRefusesEnvRefs(t *testing.T) {
	tests := []struct {
		name    string
		set     func(*Config)
		wantErr bool
	}{
		{"plain", func(*Config) {}, false},
		{"dollar without a name", func(c *Config) { c.Log.Level = "${1}" }, false},
		{"in a setting", func(c *Config) { c.Redis.KeyPrefix = "${HOME}:" }, true},
		{"in a secret", func(c *Config) { c.HTTP.AdminToken = NewSecret("tok${HOME}en") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.set(c)
			_, err := Marshal(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want an error: %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "tok") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}
