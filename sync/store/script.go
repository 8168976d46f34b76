package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// ScriptCall is one run of a script: its keys and arguments.
type ScriptCall struct {
	Keys []string
	Args []any
}

// RunEach runs s once per call, all in one pipeline by EVALSHA (one round
// trip per Redis node; one call is a plain run). Each result carries its
// own error; a call answered NOSCRIPT (a flushed script cache, after a
// Redis restart: it ran nothing) is run again by Run, which loads the
// script.
func RunEach(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []ScriptCall) []*redis.Cmd {
	if len(calls) == 1 {
		return []*redis.Cmd{s.Run(ctx, rdb, calls[0].Keys, calls[0].Args...)}
	}
	pipe := rdb.Pipeline()
	cmds := QueueEach(ctx, pipe, s, calls)
	_, _ = pipe.Exec(ctx) // each command holds its own error
	return Reloaded(ctx, rdb, s, calls, cmds)
}

// QueueEach queues s once per call in pipe, by EVALSHA: RunEach in a
// pipeline the caller sends (with commands of its own). Once it has run,
// Reloaded runs again what found no script.
func QueueEach(ctx context.Context, pipe redis.Pipeliner, s *redis.Script, calls []ScriptCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = s.EvalSha(ctx, pipe, c.Keys, c.Args...)
	}
	return cmds
}

// Reloaded returns cmds, the replies of calls queued by QueueEach, with
// each call answered NOSCRIPT (it ran nothing) run again by Run, which
// loads the script.
func Reloaded(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []ScriptCall, cmds []*redis.Cmd) []*redis.Cmd {
	for i, c := range calls {
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			cmds[i] = s.Run(ctx, rdb, c.Keys, c.Args...)
		}
	}
	return cmds
}
