package outbox

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// call is one run of a script on one partition's keys.
type call struct {
	keys []string
	args []any
}

// runEach runs s once per call, all in one pipeline (one round trip per
// Redis node; one call is a plain run). Each result carries its own error;
// a flushed script cache (NOSCRIPT, after a Redis restart) is loaded and
// the call run again.
func runEach(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []call) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	if len(calls) == 1 {
		cmds[0] = s.Run(ctx, rdb, calls[0].keys, calls[0].args...)
		return cmds
	}
	pipe := rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = s.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command holds its own error
	for i, c := range calls {
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			cmds[i] = s.Run(ctx, rdb, c.keys, c.args...)
		}
	}
	return cmds
}
