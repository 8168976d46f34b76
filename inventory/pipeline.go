package inventory

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// scriptCall is one script run among the calls of a pipeline.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
}

// run sends, in one round trip: the push intent for skus (when Options.Intents
// is set), the extra commands, then the script calls, and returns each call's
// reply or error. The intent comes first on the connection, so Redis has
// marked the SKU before any script can change it (on a Cluster, where the
// intent key lives on another node, the mark is a round trip of its own
// before the pipeline). Calls answered NOSCRIPT changed nothing; they are
// sent again with their source, after a fresh mark.
func (l *Ledger) run(ctx context.Context, skus []string, extra func(redis.Pipeliner), calls []scriptCall) ([]any, []error, error) {
	replies := make([]any, len(calls))
	errs := make([]error, len(calls))
	pending := make([]int, len(calls))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		if l.opts.Intents && l.cluster {
			if err := l.markIntents(ctx, l.rdb, skus).Err(); err != nil {
				return nil, nil, fmt.Errorf("marking push intents: %w", err)
			}
		}
		cmds := make([]*redis.Cmd, len(pending))
		var markCmd *redis.Cmd
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			if l.opts.Intents && !l.cluster {
				markCmd = l.markIntents(ctx, p, skus)
			}
			if extra != nil && attempt == 0 {
				extra(p)
			}
			for j, i := range pending {
				c := calls[i]
				if attempt == 0 {
					cmds[j] = c.script.EvalSha(ctx, p, c.keys, c.args...)
				} else {
					cmds[j] = c.script.Eval(ctx, p, c.keys, c.args...)
				}
			}
			return nil
		})
		if markCmd != nil {
			if err := markCmd.Err(); err != nil {
				// The scripts behind the mark may have run without it; the
				// caller's retry (every operation is safe to repeat) marks again.
				return nil, nil, fmt.Errorf("marking push intents: %w", err)
			}
		}
		var again []int
		for j, i := range pending {
			v, err := cmds[j].Result()
			if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				again = append(again, i)
				continue
			}
			replies[i], errs[i] = v, err
		}
		pending = again
	}
	for _, i := range pending {
		errs[i] = fmt.Errorf("script still unknown to Redis after loading it")
	}
	return replies, errs, nil
}

// markIntents is sent with EVAL, never EVALSHA: a NOSCRIPT on the mark would
// let the ledger scripts after it run unmarked. The script is tiny.
func (l *Ledger) markIntents(ctx context.Context, c redis.Scripter, skus []string) *redis.Cmd {
	zset, seq := l.intentKeys()
	args := make([]any, len(skus))
	for i, s := range skus {
		args[i] = s
	}
	return l.mark.Eval(ctx, c, []string{zset, seq}, args...)
}

// replyArray checks a script reply is an array of n elements.
func replyArray(v any, n int) ([]any, error) {
	a, ok := v.([]any)
	if !ok || len(a) != n {
		return nil, fmt.Errorf("unexpected script reply %v", v)
	}
	return a, nil
}

func replyString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("unexpected script reply element %v", v)
	}
	return s, nil
}

func replyInt(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("unexpected script reply element %v", v)
	}
	return n, nil
}
