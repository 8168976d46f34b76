package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
