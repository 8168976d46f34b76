package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/shelfsync/shelfsync/config"
)

func runValidate(t *testing.T, factory connectorFactory, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := validate(context.Background(), args, &stdout, &stderr, factory)
	return code, stdout.String(), stderr.String()
}

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/examples/*.yaml")
	if len(files) < 4 {
		t.Fatalf("%d example configs, want shopify, ebay, amazon and all", len(files))
	}
	want := map[string]string{"all.yaml": "ok: 3 channels\n", "shopify.yaml": "ok: 1 channels\n", "ebay.yaml": "ok: 1 channels\n", "amazon.yaml": "ok: 1 channels\n"}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := runValidate(t, registeredOrFake, "--config", f)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d:\n%s", code, errOut)
			}
			if w, ok := want[filepath.Base(f)]; ok && out != w {
				t.Errorf("stdout %q, want %q", out, w)
			}
		})
	}
}

// configTestEnv is what config/testdata needs in the environment.
func configTestEnv(t *testing.T) map[string]string {
	b, err := os.ReadFile("../../config/testdata/env.json")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Setenv("SHELFSYNC_TEST_NEVER_SET", "")
	os.Unsetenv("SHELFSYNC_TEST_NEVER_SET")
	return env
}

// kindList is the list of registered kinds in a message about a channel's kind.
var kindList = regexp.MustCompile(`(\((?:known: |one of ))[a-z0-9_, ]+\)`)

// TestValidateRejectsBadConfigs: every config/testdata/bad file exits 2
// and prints every expected message.
func TestValidateRejectsBadConfigs(t *testing.T) {
	configTestEnv(t)
	files, _ := filepath.Glob("../../config/testdata/bad/*.yaml")
	if len(files) < 20 {
		t.Fatalf("only %d bad configs", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runValidate(t, registeredOrFake, "--config", f)
			if code != 2 || out != "" {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			// Secret file paths are named as the config's directory makes
			// them: relative to config/ in the .want files.
			errOut = strings.ReplaceAll(errOut, "../../config/", "")
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				// The .want files list the kinds config's tests run with;
				// the binary links every kind in (connectors/all).
				line = kindList.ReplaceAllString(line, "${1}"+strings.Join(config.Kinds(), ", ")+")")
				if !strings.Contains(errOut, line) {
					t.Errorf("output lacks %q:\n%s", line, errOut)
				}
			}
		})
	}
}

func TestValidateGoodConfigs(t *testing.T) {
	configTestEnv(t)
	files, _ := filepath.Glob("../../config/testdata/good/*.yaml")
	for _, f := range files {
		if code, _, errOut := runValidate(t, registeredOrFake, "--config", f); code != 0 {
			t.Errorf("%s: exit %d: %s", f, code, errOut)
		}
	}
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", nil, 2, "--config is required"},
		{"missing file", []string{"--config", "testdata/nope.yaml"}, 2, "testdata/nope.yaml: 1 problem(s)\n  reading config: no such file or directory"},
		{"stray argument", []string{"--config", "x.yaml", "extra"}, 2, `unexpected argument "extra"`},
		{"unknown flag", []string{"--colour"}, 2, "flag provided but not defined: -colour"},
		{"help", []string{"-h"}, 0, "-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runValidate(t, registeredOrFake, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// TestValidateConnectorProblems: what only a connector can judge is
// reported too, every channel's, with exit 2.
func TestValidateConnectorProblems(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	cfg := `locations: [{id: main}]
channels:
  - name: refused
    kind: shopify
    credentials: {access_token: tok}
    webhook: {disabled: true}
    poll: "@every 5m"
    locations: [main]
    shopify: {shop: nowhere, location_ids: {main: "gid://shopify/Location/1"}}
  - name: fine
    kind: shopify
    credentials: {access_token: tok}
    webhook: {disabled: true}
    poll: "@every 5m"
    locations: [main]
    shopify: {shop: a.myshopify.com, location_ids: {main: "gid://shopify/Location/1"}}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runValidate(t, (&fakeFactory{}).New, "--config", path)
	if code != 2 || out != "" {
		t.Fatalf("exit %d stdout %q", code, out)
	}
	want := path + ": 1 problem(s)\n  channel refused: shop: not a myshopify.com domain\n"
	if errOut != want {
		t.Fatalf("stderr %q, want %q", errOut, want)
	}
}

// TestValidateNeverPrintsSecrets runs validate over configs full of
// secrets, good and broken, and searches the output for every value.
func TestValidateNeverPrintsSecrets(t *testing.T) {
	env := configTestEnv(t)
	full, err := os.ReadFile("../../config/testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"shpat_fake_token_from_file", "whsec-file-secret-DO-NOT-LEAK"}
	for _, v := range env {
		if strings.Contains(v, "LEAK") {
			secrets = append(secrets, v)
		}
	}
	variants := map[string]string{
		"good":          string(full),
		"bad values":    strings.NewReplacer("percent: 80", "percent: 180", "pool_size: 24", "pool_size: x", "kind: ebay", "kind: etsy").Replace(string(full)),
		"unknown key":   strings.Replace(string(full), "      access_token:", "      acces_token:", 1),
		"secret a list": strings.Replace(string(full), "password: ${SHELFSYNC_TEST_REDIS_PASSWORD}", "password: [${SHELFSYNC_TEST_REDIS_PASSWORD}]", 1),
	}
	for name, text := range variants {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			abs, _ := filepath.Abs("../../config/testdata/secrets")
			os.Symlink(abs, filepath.Join(dir, "secrets"))
			os.MkdirAll(filepath.Join(dir, "good"), 0o755)
			path := filepath.Join(dir, "good", "c.yaml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runValidate(t, registeredOrFake, "--config", path)
			if (name == "good") != (code == 0) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, s := range secrets {
				if strings.Contains(out+errOut, s) {
					t.Errorf("output holds secret %q:\n%s%s", s, out, errOut)
				}
			}
		})
	}
}

// TestBadConfigOutputHidesSecrets: `validate` and `run` on every
// config/testdata/bad file print problems that never quote a secret: the
// S3CRET markers the files plant (a secrets list given as a string, an
// inline Amazon relay secret of the wrong type, ${ENV} expanding to the
// wrong type, an access token given as a mapping, ...), the environment's
// secrets, nor yaml.v3's cut of a long value (its first 7 bytes and "...").
func TestBadConfigOutputHidesSecrets(t *testing.T) {
	env := configTestEnv(t)
	secrets := []string{"S3CRET", "8675309123"}
	for k, v := range env {
		if strings.Contains(v, "LEAK") || strings.Contains(k, "SECRET") {
			secrets = append(secrets, v)
		}
	}
	files, _ := filepath.Glob("../../config/testdata/bad/*.yaml")
	planted := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("S3CRET")) || bytes.Contains(b, []byte("_SECRET")) {
			planted++
		}
	}
	if planted < 4 {
		t.Fatalf("only %d bad configs plant a secret", planted)
	}
	commands := map[string]func(path string) (int, string){
		"validate": func(path string) (int, string) {
			code, out, errOut := runValidate(t, registeredOrFake, "--config", path)
			return code, out + errOut
		},
		"run": func(path string) (int, string) {
			var stderr syncBuffer
			code := runDaemon(context.Background(), []string{"--config", path}, &stderr, registeredOrFake)
			return code, stderr.String()
		},
	}
	for _, f := range files {
		for name, cmd := range commands {
			t.Run(name+"/"+strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
				code, out := cmd(f)
				if code != 2 {
					t.Fatalf("exit %d:\n%s", code, out)
				}
				for _, s := range secrets {
					if strings.Contains(out, s) || len(s) > 10 && strings.Contains(out, s[:7]+"...") {
						t.Errorf("the output shows secret %q:\n%s", s, out)
					}
				}
			})
		}
	}
}

// TestKubernetesConfigValidates: the config in the Kubernetes ConfigMap
// validates, with its mounted secret paths pointed at the example secrets,
// and the Deployment probes /healthz and /readyz.
func TestKubernetesConfigValidates(t *testing.T) {
	b, err := os.ReadFile("../../deploy/kubernetes/shelfsync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfgText string
	probes := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							LivenessProbe struct {
								HTTPGet struct{ Path string } `yaml:"httpGet"`
							} `yaml:"livenessProbe"`
							ReadinessProbe struct {
								HTTPGet struct{ Path string } `yaml:"httpGet"`
							} `yaml:"readinessProbe"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		switch doc.Kind {
		case "ConfigMap":
			cfgText = doc.Data["shelfsync.yaml"]
		case "Deployment":
			for _, c := range doc.Spec.Template.Spec.Containers {
				probes[c.LivenessProbe.HTTPGet.Path+" "+c.ReadinessProbe.HTTPGet.Path] = true
			}
		}
	}
	if !probes["/healthz /readyz"] {
		t.Errorf("probes %v, want liveness /healthz and readiness /readyz", probes)
	}
	if cfgText == "" {
		t.Fatal("no ConfigMap with shelfsync.yaml")
	}
	secrets, _ := filepath.Abs("../../deploy/examples/secrets")
	path := filepath.Join(t.TempDir(), "shelfsync.yaml")
	os.WriteFile(path, []byte(strings.ReplaceAll(cfgText, "/etc/shelfsync/secrets", secrets)), 0o600)
	if code, out, errOut := runValidate(t, registeredOrFake, "--config", path); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
}
