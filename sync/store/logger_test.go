package store

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestGoRedisLogLinesComeOutAsJSON: a line go-redis logs goes through
// zerolog, so --log-format json stays JSON on every line.
func TestGoRedisLogLinesComeOutAsJSON(t *testing.T) {
	var buf bytes.Buffer
	SetLogger(zerolog.New(&buf))
	// What go-redis's pool calls on a failed reconnect (through the logger
	// redis.SetLogger installed).
	redisLogger{log: zerolog.New(&buf).With().Str("component", "redis").Logger()}.
		Printf(context.Background(), "redis: %s:%d: connection pool: %s\n", "127.0.0.1", 6379, "timeout")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if rec["component"] != "redis" || rec["level"] != "warn" || rec["message"] != "redis: 127.0.0.1:6379: connection pool: timeout" {
		t.Fatalf("record %v", rec)
	}
}
