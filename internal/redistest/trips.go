package redistest

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Trips is a client hook (rdb.AddHook) that records the commands of each
// round trip, a pipeline being one, for tests of what travels together.
type Trips struct {
	mu    sync.Mutex
	trips [][]redis.Cmder
}

// DialHook passes dials through.
func (t *Trips) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook records a single command as a round trip.
func (t *Trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		t.record([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook records a pipeline as one round trip.
func (t *Trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.record(cmds)
		return next(ctx, cmds)
	}
}

func (t *Trips) record(cmds []redis.Cmder) {
	t.mu.Lock()
	t.trips = append(t.trips, append([]redis.Cmder(nil), cmds...))
	t.mu.Unlock()
}

// Named returns the round trips so far, in order, each command named by
// name (its lower-case name, or what name makes of it).
func (t *Trips) Named(name func(redis.Cmder) string) [][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]string, len(t.trips))
	for i, trip := range t.trips {
		out[i] = make([]string, len(trip))
		for j, c := range trip {
			out[i][j] = name(c)
		}
	}
	return out
}

// Reset forgets the round trips so far.
func (t *Trips) Reset() {
	t.mu.Lock()
	t.trips = nil
	t.mu.Unlock()
}

// Script is a script command's script: the SHA of an EVALSHA, the source
// of an EVAL or the function of an FCALL ("" for any other command).
func Script(c redis.Cmder) string {
	a := c.Args()
	if n := c.Name(); (n == "evalsha" || n == "eval" || n == "fcall") && len(a) > 1 {
		s, _ := a[1].(string)
		return s
	}
	return ""
}

// ScriptKey is a script command's key i (0: its first), "" when it has
// none there.
func ScriptKey(c redis.Cmder, i int) string {
	a := c.Args()
	if Script(c) == "" || len(a) <= 3+i {
		return ""
	}
	if n, err := strconv.Atoi(fmt.Sprint(a[2])); err != nil || i >= n {
		return ""
	}
	k, _ := a[3+i].(string)
	return k
}
