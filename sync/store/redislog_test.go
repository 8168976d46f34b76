package store

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// lockedBuffer is a bytes.Buffer safe for go-redis's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGoRedisOwnLinesStayJSON: after SetLogger with a JSON logger (what
// --log-format json builds), a line go-redis itself logs (here: a TTL
// below its 1ms resolution, which it truncates and reports through its
// process-wide logger) comes out as a JSON record, and nothing else is
// written in another format.
func TestGoRedisOwnLinesStayJSON(t *testing.T) {
	var buf lockedBuffer
	SetLogger(zerolog.New(&buf))
	t.Cleanup(func() { SetLogger(zerolog.Nop()) })
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	_ = rdb.Set(context.Background(), "k", "v", 500*time.Microsecond).Err() // refused: no server; the line is logged before the dial
	out := strings.TrimSpace(buf.String())
	if out == "" {
		t.Fatal("go-redis logged nothing: the test no longer exercises its logger")
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if rec["component"] != "redis" {
			t.Errorf("record without component=redis: %v", rec)
		}
		msg, _ := rec["message"].(string)
		found = found || strings.Contains(msg, "truncating to 1ms")
	}
	if !found {
		t.Fatalf("go-redis's truncation notice is not among the records: %s", out)
	}
}
