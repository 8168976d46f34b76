package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shelfsync/shelfsync/internal/redistest"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       string
		check         func(t *testing.T, out string)
	}{
		{level: "info", format: "json", check: func(t *testing.T, out string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &m); err != nil {
				t.Fatalf("not JSON: %q", out)
			}
			if m["message"] != "shown" || m["component"] != "http" || m["level"] != "info" || m["time"] == nil {
				t.Errorf("line %v", m)
			}
			if strings.Contains(out, "hidden") {
				t.Error("a debug line passed level info")
			}
		}},
		{level: "debug", format: "console", check: func(t *testing.T, out string) {
			if !strings.Contains(out, "INF shown component=http") || !strings.Contains(out, "DBG hidden") {
				t.Errorf("console output %q", out)
			}
			if strings.Contains(out, "\x1b[") {
				t.Error("colours written to a non-terminal")
			}
		}},
		{level: "loud", format: "json", wantErr: `log level "loud"`},
		{level: "", format: "json", wantErr: `log level ""`},
		{level: "info", format: "xml", wantErr: `log format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, tt.level, tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sub := log.With().Str("component", "http").Logger()
			sub.Info().Msg("shown")
			sub.Debug().Msg("hidden")
			tt.check(t, buf.String())
		})
	}
}

// duplicateKeys walks one JSON value token by token and lists every key
// an object holds more than once (encoding/json alone keeps the last and
// says nothing).
func duplicateKeys(line []byte) ([]string, error) {
	type frame struct {
		object    bool
		keys      map[string]bool
		expectKey bool
	}
	var (
		stack []*frame
		dups  []string
	)
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return dups, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if top != nil && top.object {
				top.expectKey = true // this object or array is the member's value
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if top.expectKey {
			key := tok.(string)
			if top.keys[key] {
				dups = append(dups, key)
			}
			top.keys[key] = true
		}
		top.expectKey = !top.expectKey
	}
	return dups, nil
}

func TestDuplicateKeysWalk(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`{"a":1,"b":"a","c":{"a":2}}`, nil},
		{`{"component":"engine","component":"ingest"}`, []string{"component"}},
		{`{"a":[{"x":1,"x":2}],"b":{"y":{},"y":[]},"a":3}`, []string{"x", "y", "a"}},
		{`{"s":"\"k\":1,\"k\":2","k":true}`, nil},
	}
	for _, tt := range tests {
		got, err := duplicateKeys([]byte(tt.line))
		if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: %v %v, want %v", tt.line, got, err, tt.want)
		}
	}
}

// checkLogLines fails t for every line of logs that is not one JSON
// object with each key once.
func checkLogLines(t *testing.T, logs string) (lines int) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		lines++
		dups, err := duplicateKeys([]byte(line))
		if err != nil || !strings.HasPrefix(line, "{") {
			t.Errorf("not a JSON log line (%v): %s", err, line)
		}
		if len(dups) > 0 {
			t.Errorf("keys %q more than once in: %s", dups, line)
		}
	}
	return lines
}

// TestDaemonLogKeysOnce runs the daemon with a channel, through a good and
// a bad webhook and the engine taking the event in, at debug level, and
// checks every JSON line it logs holds each key once: the sub-loggers of
// the engine (intake, ingest, push, ...) and of the channels add fields
// their parents already have.
func TestDaemonLogKeysOnce(t *testing.T) {
	_, prefix := redistest.New(t)
	ff := &fakeFactory{}
	d := startDaemon(t, ff.New, "--config", writeConfig(t, prefix, shopChannel), "--log-level", "debug")
	<-ff.get("shop").started
	for _, secret := range []string{"wrong", "hook-secret"} {
		req, _ := http.NewRequest("POST", d.base+"/webhooks/shop", strings.NewReader("order-77"))
		req.Header.Set("X-Test-Secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for deadline := time.Now().Add(hangGuard); ; {
		_, metrics := httpGet(t, d.base+"/metrics")
		if strings.Contains(metrics, `shelfsync_events_dropped_total{channel="shop",kind="order_changed"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event was not handled:\n%s", metrics)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.stderr)
	}
	logs := d.stderr.String()
	checkLogLines(t, logs)
	for _, want := range []string{`"component":"intake"`, `"component":"webhook"`, `"component":"http"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no line with %s: the test saw too little of the daemon:\n%s", want, logs)
		}
	}
}

func TestDedupKeys(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no key twice", `{"level":"info","component":"http","message":"m"}` + "\n", ""},
		{"component twice: the last kept, where it is",
			`{"level":"info","component":"engine","component":"ingest","message":"m"}` + "\n",
			`{"level":"info","component":"ingest","message":"m"}` + "\n"},
		{"three times, and another key twice",
			`{"component":"a","channel":"x","component":"b","channel":"y","component":"c"}`,
			`{"channel":"y","component":"c"}`},
		{"the first member repeated", `{"a":1,"b":2,"a":3}`, `{"b":2,"a":3}`},
		{"nested objects keep their own keys",
			`{"a":{"a":1,"a":2},"b":[{"b":1},{"b":2}]}`, ""},
		{"nested values dropped whole",
			`{"e":{"k":[1,{"x":"}"}]},"e":{"k":2}}`,
			`{"e":{"k":2}}`},
		{"look-alikes in strings",
			`{"msg":"\"component\":\"x\",","component":"a\"b","s":"{[","component":"c"}`,
			`{"msg":"\"component\":\"x\",","s":"{[","component":"c"}`},
		{"literals", `{"n":-1.5e3,"t":true,"f":false,"z":null,"n":0}`, `{"t":true,"f":false,"z":null,"n":0}`},
		{"empty object", `{}`, ""},
		{"not an object", `plain text "a":1,"a":2`, ""},
		{"unterminated string", `{"a":1,"a":"open`, ""},
		{"two objects", `{"a":1}{"a":2}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got := string(dedupKeys([]byte(tt.in))); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestLoggerKeysOnce: a component's sub-logger under another, and an
// event naming a field its logger has, write each key once, the innermost
// value; the console format shows it once too.
func TestLoggerKeysOnce(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, "debug", format)
			if err != nil {
				t.Fatal(err)
			}
			engine := log.With().Str("component", "engine").Logger()
			push := engine.With().Str("component", "push").Str("channel", "shop").Logger()
			push.Info().Str("channel", "shop").Int("n", 1).Msg("pushed")
			engine.Warn().Msg("plain")
			out := buf.String()
			if format == "console" {
				if strings.Count(out, "component=") != 2 || !strings.Contains(out, "component=push") || strings.Count(out, "channel=") != 1 {
					t.Errorf("console output %q", out)
				}
				return
			}
			if n := checkLogLines(t, out); n != 2 {
				t.Fatalf("%d lines:\n%s", n, out)
			}
			var first map[string]any
			json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &first)
			if first["component"] != "push" || first["channel"] != "shop" || first["message"] != "pushed" || first["n"] != 1.0 {
				t.Errorf("line %v", first)
			}
		})
	}
}

// BenchmarkLoggerUniqueKeys is the cost of a JSON log line through the
// key check: dup has a key twice (rewritten), clean has none (passed on).
func BenchmarkLoggerUniqueKeys(b *testing.B) {
	for _, tt := range []struct {
		name string
		dup  bool
	}{{"clean", false}, {"dup", true}} {
		b.Run(tt.name, func(b *testing.B) {
			log, _ := newLogger(io.Discard, "info", "json")
			l := log.With().Str("component", "engine").Logger()
			if tt.dup {
				l = l.With().Str("component", "intake").Logger()
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Info().Str("channel", "shop").Str("id", "1796596298041-0").Int("attempts", 1).Msg("event dead-lettered")
			}
		})
	}
}
