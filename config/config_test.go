package config

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// -update rewrites testdata/bad/*.want from what Load reports now. Review
// the diff before keeping it: the .want files are the specification.
var update = flag.Bool("update", false, "rewrite testdata/bad/*.want")

// Secrets the tests put in the environment (testdata/env.json, shared with
// cmd/shelfsync's validate tests). Each is distinctive, so a test can search
// every message for it.
var testEnv = func() map[string]string {
	b, err := os.ReadFile("testdata/env.json")
	if err != nil {
		panic(err)
	}
	var env map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		panic(err)
	}
	return env
}()

func setTestEnv(t *testing.T) {
	t.Helper()
	for k, v := range testEnv {
		t.Setenv(k, v)
	}
	// Guaranteed unset, whatever the machine has.
	t.Setenv("SHELFSYNC_TEST_NEVER_SET", "")
	os.Unsetenv("SHELFSYNC_TEST_NEVER_SET")
}

func TestGoodConfigs(t *testing.T) {
	setTestEnv(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no good configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestFullConfigValues(t *testing.T) {
	setTestEnv(t)
	cfg, err := Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pct := func(c *Channel) float64 { return *c.Allocation.Percent }
	tests := []struct {
		name      string
		got, want any
	}{
		{"redis addr", cfg.Redis.Addr, "redis://127.0.0.1:6379/0"},
		{"redis password from env", cfg.Redis.Password.Value(), testEnv["SHELFSYNC_TEST_REDIS_PASSWORD"]},
		{"redis read timeout default", cfg.Redis.ReadTimeout, DefaultRedisReadTimeout},
		{"redis dial timeout", cfg.Redis.DialTimeout, 2 * time.Second},
		{"key prefix", cfg.Redis.KeyPrefix, "shop1:"},
		{"admin token from file, newline cut", cfg.HTTP.AdminToken.Value(), "shpat_fake_token_from_file"},
		{"body limit", cfg.HTTP.BodyLimit, int64(2 << 20)},
		{"idle timeout default", cfg.HTTP.IdleTimeout, DefaultIdleTimeout},
		{"journal default", cfg.Ledger.JournalMaxLen, int64(DefaultJournalMaxLen)},
		{"workers", cfg.Sync.Workers, 8},
		{"locations", len(cfg.Locations), 2},
		{"channels", len(cfg.Channels), 3},
		{"shopify token", cfg.Channels[0].Credentials.AccessToken.Value(), testEnv["SHELFSYNC_TEST_SHOPIFY_TOKEN"]},
		{"webhook secrets", len(cfg.Channels[0].Webhook.Secrets), 2},
		{"rotated secret", cfg.Channels[0].Webhook.Secrets[1].Value(), "old-secret"},
		{"percent", pct(&cfg.Channels[0]), 80.0},
		{"channel timeout default", cfg.Channels[0].Timeout, DefaultChannelTimeout},
		{"ebay percent default", pct(&cfg.Channels[1]), DefaultPercent},
		{"secrets from a list of files", []string{cfg.Channels[2].Webhook.Secrets[0].Value(), cfg.Channels[2].Webhook.Secrets[1].Value()},
			[]string{"whsec-file-secret-DO-NOT-LEAK", "shpat_fake_token_from_file"}},
		{"amazon percent zero kept", pct(&cfg.Channels[2]), 0.0},
		{"downstream secret from file", cfg.Downstream.Webhook.Secret.Value(), "whsec-file-secret-DO-NOT-LEAK"},
		{"downstream attempts default", cfg.Downstream.Webhook.MaxAttempts, DefaultDownstreamMaxAttempts},
		{"log format", cfg.Log.Format, "console"},
		{"shutdown timeout", cfg.ShutdownTimeout, 20 * time.Second},
		{"channel by name", cfg.ChannelByName("ebay-us").Name, "ebay-us"},
		{"channel by name missing", cfg.ChannelByName("nope") == nil, true},
		// The kinds' own settings: TestFullConfigKindSettings.
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestEnvFillsTypedValues(t *testing.T) {
	setTestEnv(t)
	cfg, err := Load("testdata/good/env_typed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Redis.PoolSize != 17 || cfg.HTTP.Listen != ":9191" {
		t.Fatalf("pool_size %d listen %q, want 17 and :9191", cfg.Redis.PoolSize, cfg.HTTP.Listen)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("minimal", []byte("log: {level: info}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Fatalf("a config that sets nothing differs from Default():\n%+v\n%+v", cfg, Default())
	}
	d := Default()
	for name, tt := range map[string]struct{ got, want any }{
		"addr":       {d.Redis.Addr, DefaultRedisAddr},
		"prefix":     {d.Redis.KeyPrefix, DefaultKeyPrefix},
		"listen":     {d.HTTP.Listen, DefaultListen},
		"body":       {d.HTTP.BodyLimit, int64(DefaultBodyLimit)},
		"shutdown":   {d.ShutdownTimeout, DefaultShutdownTimeout},
		"level":      {d.Log.Level, DefaultLogLevel},
		"format":     {d.Log.Format, DefaultLogFormat},
		"stream":     {d.Downstream.Stream, DefaultDownstreamStream},
		"push lease": {d.Sync.PushLeaseTTL, DefaultPushLeaseTTL},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", name, tt.got, tt.want)
		}
	}
}

// TestBadConfigs loads every testdata/bad/X.yaml and compares the problems
// reported, one a line, with X.want: exactly, so a missing or an extra
// problem fails as well as a changed message.
func TestBadConfigs(t *testing.T) {
	setTestEnv(t)
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 20 {
		t.Fatalf("only %d bad configs", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg, err := Load(f)
			if err == nil {
				t.Fatalf("Load accepted it: %+v", cfg)
			}
			if cfg != nil {
				t.Error("Load returned a config along with the error")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("error is %T, want *config.Error: %v", err, err)
			}
			if cerr.File != f {
				t.Errorf("error names file %q, want %q", cerr.File, f)
			}
			var got []string
			for _, p := range cerr.Problems {
				got = append(got, p.Error())
			}
			wantFile := strings.TrimSuffix(f, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("no expected messages: %v", err)
			}
			want := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// secretsPlanted are the secrets the bad configs about secrets put in
// their files (or, through ${ENV}, in testdata/env.json). Every marker
// starts with S3CRET, so one search covers the lot.
var secretsPlanted = []struct {
	file    string
	secrets []string
}{
	{"secret_list_as_string", []string{"S3CRET-MARKER-hmac-key", "S3CRETkey9"}},
	{"amazon_relay_secret_wrong_type", []string{"S3CRET-MARKER-relay", "8675309123", "S3CRET-MARKER-item"}},
	{"secret_env_wrong_type", []string{"${SHELFSYNC_TEST_SECRET_LIST}", "${SHELFSYNC_TEST_NUMERIC_SECRET}"}},
	{"access_token_map", []string{"S3CRET-MARKER-token"}},
	{"secret_explicit_tag", []string{"S3CRET-MARKER-tagged"}},
	{"secret_alias", []string{"S3CRET-MARKER-anchor"}},
	{"url_with_password", []string{"S3CRET-MARKER-redis", "S3CRET-MARKER-erp", "S3CRET-MARKER-downstream"}},
	{"env_secret_misplaced", []string{"${SHELFSYNC_TEST_REDIS_PASSWORD}", "${SHELFSYNC_TEST_SHOPIFY_TOKEN}"}},
}

// leaks lists how err's text shows any of secrets: whole, or as yaml.v3
// cuts a value longer than 10 bytes (its first 7 and "..."), and the
// marker prefix S3CRET anywhere.
func leaks(err error, secrets []string) []string {
	var found []string
	text := err.Error()
	for _, s := range append([]string{"S3CRET"}, secrets...) {
		forms := []string{s}
		if len(s) > 10 {
			forms = append(forms, s[:7]+"...")
		}
		for _, f := range forms {
			if strings.Contains(text, f) && !slices.Contains(found, f) {
				found = append(found, f)
			}
		}
	}
	return found
}

// TestBadConfigsNeverQuoteSecrets: no problem of any bad config quotes a
// secret, whatever went wrong with it (a wrong type, a wrong tag, ${ENV}
// expanding to the wrong type, an anchor reused elsewhere, a URL with a
// password): not the markers the files plant, not the environment's
// secrets, not yaml.v3's cut of them.
func TestBadConfigsNeverQuoteSecrets(t *testing.T) {
	setTestEnv(t)
	all := []string{"shpat_fake_token_from_file", "whsec-file-secret-DO-NOT-LEAK"}
	for k, v := range testEnv {
		if strings.Contains(v, "LEAK") || strings.Contains(k, "SECRET") {
			all = append(all, v)
		}
	}
	for _, tt := range secretsPlanted {
		b, err := os.ReadFile("testdata/bad/" + tt.file + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tt.secrets {
			if !strings.Contains(string(b), s) {
				t.Fatalf("%s does not hold %q: this test would prove nothing", tt.file, s)
			}
			if v, ok := strings.CutPrefix(s, "${"); ok {
				s = testEnv[strings.TrimSuffix(v, "}")]
			}
			all = append(all, s)
		}
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			_, err := Load(f)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			if found := leaks(err, all); len(found) > 0 {
				t.Errorf("the problems quote %q:\n%v", found, err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-config.yaml")
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("got %v, want *config.Error", err)
	}
	if want := "testdata/no-such-config.yaml: 1 problem(s)\n  reading config: no such file or directory"; err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}

// TestSecretsNeverInErrors breaks configs full of secrets in every way the
// bad testdata does and checks no message holds a secret's value.
func TestSecretsNeverInErrors(t *testing.T) {
	setTestEnv(t)
	secrets := []string{"shpat_fake_token_from_file", "whsec-file-secret-DO-NOT-LEAK"}
	for k, v := range testEnv {
		if strings.Contains(v, "LEAK") {
			secrets = append(secrets, testEnv[k])
		}
	}
	full, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	breakages := map[string]func(string) string{
		"type error next to secrets": func(s string) string {
			return strings.Replace(s, "pool_size: 24", "pool_size: ten", 1)
		},
		"unknown key next to a secret": func(s string) string {
			return strings.Replace(s, "      access_token:", "      access_tokn:", 1)
		},
		"secret as a list": func(s string) string {
			return strings.Replace(s, "password: ${SHELFSYNC_TEST_REDIS_PASSWORD}", "password: [${SHELFSYNC_TEST_REDIS_PASSWORD}]", 1)
		},
		"secret as a mapping": func(s string) string {
			return strings.Replace(s, "access_token: ${SHELFSYNC_TEST_SHOPIFY_TOKEN}", "access_token: {v: ${SHELFSYNC_TEST_SHOPIFY_TOKEN}}", 1)
		},
		"secret and its file": func(s string) string {
			return strings.Replace(s, "secret_file: ../secrets/webhook.txt", "secret_file: ../secrets/webhook.txt\n    secret: ${SHELFSYNC_TEST_WEBHOOK_SECRET}", 1)
		},
		"bad values everywhere": func(s string) string {
			s = strings.Replace(s, "percent: 80", "percent: 800", 1)
			s = strings.Replace(s, "region: eu\n", "region: mars\n", 1)
			return strings.Replace(s, "kind: ebay", "kind: ebay-motors", 1)
		},
		"syntax error": func(s string) string {
			return strings.Replace(s, "secrets: [\"${SHELFSYNC_TEST_WEBHOOK_SECRET}\", \"old-secret\"]", "secrets: [\"${SHELFSYNC_TEST_WEBHOOK_SECRET}\"", 1)
		},
	}
	for name, breakIt := range breakages {
		t.Run(name, func(t *testing.T) {
			broken := breakIt(string(full))
			if broken == string(full) {
				t.Fatal("the breakage changed nothing")
			}
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "good"), 0o755); err != nil {
				t.Fatal(err)
			}
			abs, _ := filepath.Abs("testdata/secrets")
			if err := os.Symlink(abs, filepath.Join(dir, "secrets")); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "good", "broken.yaml")
			if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("the broken config loaded")
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error holds the secret %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	s := NewSecret("hunter2")
	for _, got := range []string{s.String(), string(must(s.MarshalText())), must(s.MarshalYAML()).(string)} {
		if got != "[redacted]" {
			t.Errorf("got %q, want [redacted]", got)
		}
	}
	if s.Value() != "hunter2" || !s.IsSet() {
		t.Error("Value or IsSet lost the secret")
	}
	if (Secret{}).String() != "" || (Secret{}).IsSet() {
		t.Error("an empty secret must print empty and be unset")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 3, Path: "a.b", Msg: "bad"}, "line 3: a.b: bad"},
		{Problem{Path: "a.b", Msg: "bad"}, "a.b: bad"},
		{Problem{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestEnvDefaultsAndEscape: ${VAR:-default} takes the default when VAR is
// unset or empty, and the variable's value otherwise; $$ is a literal $
// (so a value may hold "${" as text); ${VAR} unset stays an error.
func TestEnvDefaultsAndEscape(t *testing.T) {
	t.Setenv("SHELFSYNC_TEST_SET", "shop:")
	t.Setenv("SHELFSYNC_TEST_EMPTY", "")
	cases := []struct {
		name, prefix, want, problem string
	}{
		{"set variable with a default", "${SHELFSYNC_TEST_SET:-other:}", "shop:", ""},
		{"unset variable with a default", "${SHELFSYNC_TEST_UNSET:-fallback:}", "fallback:", ""},
		{"empty variable with a default", "${SHELFSYNC_TEST_EMPTY:-fallback:}", "fallback:", ""},
		{"an empty default", "x${SHELFSYNC_TEST_UNSET:-}:", "x:", ""},
		{"escaped dollar", "a$$b:", "a$b:", ""},
		{"escaped reference stays text", "$${SHELFSYNC_TEST_SET}:", "${SHELFSYNC_TEST_SET}:", ""},
		{"unset variable without a default", "${SHELFSYNC_TEST_UNSET}", "", "environment variable SHELFSYNC_TEST_UNSET is not set"},
	}
	for _, c := range cases {
		cfg, err := Parse("env", []byte("redis: {key_prefix: \""+c.prefix+"\"}\n"))
		if c.problem != "" {
			if err == nil || !strings.Contains(err.Error(), c.problem) {
				t.Errorf("%s: %v, want %q", c.name, err, c.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if cfg.Redis.KeyPrefix != c.want {
			t.Errorf("%s: key_prefix %q, want %q", c.name, cfg.Redis.KeyPrefix, c.want)
		}
	}
}
