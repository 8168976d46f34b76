package inventory

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scriptCall is one script run among the calls of a pipeline.
type scriptCall struct {
	script *redis.Script
	// fn, when set, is the call's code as a Function (function.go): it is
	// called by FCALL while the ledger's functions are on, and script is
	// its script form.
	fn   *function
	keys []string
	args []any
	// sigs are the SKUs whose signal keys the call carries (none: no
	// signals): a run that appended a signal event replies {'!signal',
	// reply} (lib.lua reply), and run marks them in the pending signals
	// index (all of a bulk run's: marking more costs the sweeper an empty
	// read).
	sigs []string
}

// run sends, in one round trip: the push intent for skus (unless Options.NoIntents
// is set), the extra commands, then the script calls, and returns each call's
// reply or error. The intent comes first on the connection, so Redis has
// marked the SKU before any script can change it (on a Cluster, where the
// intent key lives on another node, the mark is a round trip of its own
// before the pipeline). Calls answered NOSCRIPT, and function calls
// refused (fcallRefused), changed nothing; they are sent again, after a
// fresh mark: scripts with their source, functions once their library is
// loaded (or as scripts, when Redis refuses functions).
func (l *Ledger) run(ctx context.Context, skus []string, extra func(redis.Pipeliner), calls []scriptCall) ([]any, []error, error) {
	replies := make([]any, len(calls))
	errs := make([]error, len(calls))
	pending := make([]int, len(calls))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		cmds, waits, err := l.runAttempt(ctx, attempt == 0, skus, extra, calls, pending)
		if err != nil {
			return nil, nil, err
		}
		var refused error
		pending, refused = collectReplies(cmds, pending, replies, errs)
		if err := l.replicated(waits); err != nil {
			return nil, nil, err
		}
		if refused != nil && attempt == 0 {
			if err := l.afterRefusedFCALL(ctx, refused, calls, pending); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, i := range pending {
		errs[i] = fmt.Errorf("script or function still unknown to Redis after loading it")
	}
	if err := l.markSignaled(ctx, calls, replies, errs); err != nil {
		return nil, nil, err
	}
	return replies, errs, nil
}

// markSignaled unwraps the replies of runs that appended a signal event
// and marks their SKUs in the pending signals index, in one round trip
// (none when no run signaled: a crossing is rare). A crash between a run
// and this mark, or a run that failed after its signal (only corrupt data
// can), leaves its events unindexed until a sweeper starts
// (RecoverSignals).
func (l *Ledger) markSignaled(ctx context.Context, calls []scriptCall, replies []any, errs []error) error {
	var skus []string
	for i := range calls {
		if len(calls[i].sigs) == 0 {
			continue
		}
		if a, ok := replies[i].([]any); ok && len(a) == 2 && a[0] == "!signal" {
			replies[i] = a[1]
			skus = append(skus, calls[i].sigs...)
		}
	}
	return l.markSignals(ctx, skus)
}

// runAttempt sends the pending calls in one round trip and returns their
// commands, in the order of pending. The first attempt sends the extra
// commands and each script by its SHA, through the shared wire on a single
// Redis; a second attempt (after NOSCRIPT) sends only the scripts, with
// their source, in a pipeline of its own. The extra commands are not sent
// again: NOSCRIPT is per script, and they were not refused.
func (l *Ledger) runAttempt(ctx context.Context, first bool, skus []string, extra func(redis.Pipeliner), calls []scriptCall, pending []int) ([]*redis.Cmd, []*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(pending))
	fill := func(p redis.Pipeliner) {
		if extra != nil && first {
			extra(p)
		}
		l.queueScripts(ctx, p, calls, pending, cmds, first)
	}
	var markCmd *redis.Cmd
	var waits []*redis.Cmd
	var err error
	switch {
	case first && !l.cluster:
		if markCmd, waits, err = l.sendShared(ctx, skus, fill); err != nil {
			return nil, nil, err
		}
	case l.cluster && l.opts.MinReplicas > 0:
		if err := l.markOnCluster(ctx, skus); err != nil {
			return nil, nil, err
		}
		if waits, err = l.sendPerNode(ctx, fill); err != nil {
			return nil, nil, err
		}
	default:
		if err := l.markOnCluster(ctx, skus); err != nil {
			return nil, nil, err
		}
		markCmd, waits = l.sendOwn(ctx, skus, fill)
	}
	if markCmd != nil {
		if err := markCmd.Err(); err != nil {
			// The scripts behind the mark may have run without it; the
			// caller's retry (every operation is safe to repeat) marks again.
			return nil, nil, fmt.Errorf("marking push intents: %w", err)
		}
	}
	return cmds, waits, nil
}

// waitCmd queues WAIT on p when Options.MinReplicas asks for replicas: it
// counts the replicas that have every write p's connection made.
func (l *Ledger) waitCmd(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
	if l.opts.MinReplicas <= 0 {
		return nil
	}
	return p.Do(ctx, "wait", l.opts.MinReplicas, l.opts.ReplicaTimeout.Milliseconds())
}

// replicated checks the WAITs sent behind a call's writes: ErrNotReplicated
// when any counted fewer replicas than Options.MinReplicas.
func (l *Ledger) replicated(waits []*redis.Cmd) error {
	for _, w := range waits {
		if w == nil {
			continue
		}
		n, err := w.Int64()
		if err != nil {
			return fmt.Errorf("waiting for replicas: %w", err)
		}
		if n < int64(l.opts.MinReplicas) {
			return fmt.Errorf("%w: %d of %d within %s", ErrNotReplicated, n, l.opts.MinReplicas, l.opts.ReplicaTimeout)
		}
	}
	return nil
}

// sendPerNode sends fill's commands on a Cluster as one pipeline per
// primary, each followed by WAIT on the same connection (a Cluster
// client's own pipeline would send a WAIT to any node). Commands are
// routed by their first key; it returns the WAITs.
func (l *Ledger) sendPerNode(ctx context.Context, fill func(redis.Pipeliner)) ([]*redis.Cmd, error) {
	cc := l.rdb.(*redis.ClusterClient)
	rec := cc.Pipeline()
	fill(rec)
	byNode := map[*redis.Client][]redis.Cmder{}
	var order []*redis.Client
	for _, c := range rec.Cmds() {
		node, err := cc.MasterForKey(ctx, firstKey(c))
		if err != nil {
			return nil, fmt.Errorf("finding the primary of %s: %w", firstKey(c), err)
		}
		if _, ok := byNode[node]; !ok {
			order = append(order, node)
		}
		byNode[node] = append(byNode[node], c)
	}
	rec.Discard()
	waits := make([]*redis.Cmd, len(order))
	for i, node := range order {
		_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
			_ = p.BatchProcess(ctx, byNode[node]...)
			waits[i] = l.waitCmd(ctx, p)
			return nil
		})
	}
	return waits, nil
}

// firstKey is a command's first key: after the script (or function) and
// the key count of EVAL, EVALSHA and FCALL, else its first argument.
func firstKey(c redis.Cmder) string {
	args := c.Args()
	name := strings.ToLower(fmt.Sprint(args[0]))
	i := 1
	if name == "eval" || name == "evalsha" || name == "fcall" {
		i = 3
	}
	if i >= len(args) {
		return ""
	}
	return fmt.Sprint(args[i])
}

// queueScripts queues the pending calls on p, into cmds: functions by
// FCALL while the ledger's functions are on, scripts by SHA (EVALSHA), or
// with their source (EVAL) once Redis has answered NOSCRIPT.
func (l *Ledger) queueScripts(ctx context.Context, p redis.Pipeliner, calls []scriptCall, pending []int, cmds []*redis.Cmd, bySHA bool) {
	fns := l.fns.on()
	for j, i := range pending {
		c := &calls[i]
		switch {
		case c.fn != nil && fns:
			cmds[j] = p.FCall(ctx, c.fn.name, c.keys, c.args...)
		case bySHA:
			cmds[j] = c.script.EvalSha(ctx, p, c.keys, c.args...)
		default:
			cmds[j] = c.script.Eval(ctx, p, c.keys, c.args...)
		}
	}
}

// sendShared sends fill's commands through the wire (group commit), behind
// the wire's one mark of every queued call's SKUs, and returns that mark's
// command (nil when the SKUs are not to be marked).
func (l *Ledger) sendShared(ctx context.Context, skus []string, fill func(redis.Pipeliner)) (*redis.Cmd, []*redis.Cmd, error) {
	var mark []string
	if !l.opts.NoIntents {
		mark = skus
	}
	return l.send(ctx, mark, fill)
}

// markOnCluster marks skus in a round trip of its own on a Cluster, where
// the intent key lives on another node than the SKUs' keys, so no pipeline
// can order the mark before the scripts.
func (l *Ledger) markOnCluster(ctx context.Context, skus []string) error {
	if l.opts.NoIntents || !l.cluster || len(skus) == 0 {
		return nil
	}
	if err := l.markIntents(ctx, l.rdb, skus).Err(); err != nil {
		return fmt.Errorf("marking push intents: %w", err)
	}
	return nil
}

// sendOwn sends fill's commands in a pipeline of their own, on a single
// Redis behind a mark of skus, which it returns (nil on a Cluster, marked
// before, or when the SKUs are not to be marked).
func (l *Ledger) sendOwn(ctx context.Context, skus []string, fill func(redis.Pipeliner)) (*redis.Cmd, []*redis.Cmd) {
	var markCmd, wait *redis.Cmd
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if !l.opts.NoIntents && !l.cluster {
			markCmd = l.markIntents(ctx, p, skus)
		}
		fill(p)
		if !l.cluster {
			wait = l.waitCmd(ctx, p)
		}
		return nil
	})
	return markCmd, []*redis.Cmd{wait}
}

// collectReplies stores each pending call's reply or error, and returns the
// calls answered NOSCRIPT or refused as functions (fcallRefused): they
// changed nothing, and are sent again; refused is the first refusal.
func collectReplies(cmds []*redis.Cmd, pending []int, replies []any, errs []error) (again []int, refused error) {
	for j, i := range pending {
		v, err := cmds[j].Result()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, i)
			continue
		}
		if err != nil && fcallRefused(cmds[j]) {
			again = append(again, i)
			if refused == nil {
				refused = err
			}
			continue
		}
		replies[i], errs[i] = v, err
	}
	return again, refused
}

// wire shares pipelines between concurrent calls on a single Redis (group
// commit): a call finding fewer than wireInflight pipelines in flight sends
// its own at once; otherwise it queues, and the next pipeline to go carries
// every queued call: first one intent mark for all their SKUs, then each
// call's commands in its own order (extra commands, scripts), one call
// after another. Redis runs a connection's commands in order, so every
// call's scripts still run after its mark (marking a SKU early costs at
// most a recompute), and each call's commands stay together; what is shared
// is the round trip, the write and read system calls on both sides and the
// mark, which together cost more than a one-line script. Under no
// concurrency nothing waits. (Not on a Cluster, whose pipelines are split by
// node.)
type wire struct {
	mu       sync.Mutex
	queue    []*wireCall
	inflight int
}

// wireInflight is how many shared pipelines may be in flight at once: more
// than one, so Redis has the next one to read while the client handles the
// replies of the last.
const wireInflight = 4

type wireCall struct {
	ctx  context.Context
	mark []string // SKUs to mark for push before the commands
	fill func(redis.Pipeliner)
	done chan struct{}
	// Set before done is closed:
	sent    bool       // fill's commands went out
	markCmd *redis.Cmd // the mark sent for mark, if any
	wait    *redis.Cmd // the WAIT behind the pipeline, if replicas are asked for
}

// send queues fill's commands, behind an intent mark of the SKUs in mark
// (none if empty), and returns once they were sent and answered (their
// results are in the commands fill created) with the mark's command. When
// ctx ends first: a call still queued leaves the queue and returns ctx's
// error (never sent); a call a pipeline has already taken waits for that
// pipeline (bounded by the client's timeouts), which skips it (ctx's error)
// or has sent it (its results, as above).
func (l *Ledger) send(ctx context.Context, mark []string, fill func(redis.Pipeliner)) (*redis.Cmd, []*redis.Cmd, error) {
	w := &l.wire
	c := &wireCall{ctx: ctx, mark: mark, fill: fill, done: make(chan struct{})}
	w.mu.Lock()
	if w.inflight < wireInflight {
		w.inflight++
		batch := append(w.queue, c)
		w.queue = nil
		w.mu.Unlock()
		l.exec(batch)
		// Calls that queued meanwhile go in a pipeline of their own, sent
		// from another goroutine: this caller has its answer.
		if next := w.next(); next != nil {
			go l.loop(next)
		}
	} else {
		w.queue = append(w.queue, c)
		w.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			if w.drop(c) {
				return nil, nil, ctx.Err() // never sent
			}
			// A pipeline has taken the call and sends or skips it: wait,
			// so that nothing fills or answers the call's commands after
			// this returns (the caller reads them).
			<-c.done
		}
	}
	if !c.sent {
		return nil, nil, ctx.Err()
	}
	return c.markCmd, []*redis.Cmd{c.wait}, nil
}

// drop takes c out of the queue; false when a pipeline has taken it.
func (w *wire) drop(c *wireCall) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, q := range w.queue {
		if q == c {
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			return true
		}
	}
	return false
}

// next takes the queue, or gives up the in-flight slot when it is empty.
func (w *wire) next() []*wireCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		w.inflight--
		return nil
	}
	batch := w.queue
	w.queue = nil
	return batch
}

func (l *Ledger) loop(batch []*wireCall) {
	for batch != nil {
		l.exec(batch)
		batch = l.wire.next()
	}
}

// exec sends the calls of batch whose context is still live as one
// pipeline. A call's context only decides whether it is sent; once sent, a
// shared pipeline runs to its end (the client's read and write timeouts
// bound it), as a call that gave up cannot take the others' answers with it.
func (l *Ledger) exec(batch []*wireCall) {
	var pctx context.Context
	var mark []string
	live := 0
	for _, c := range batch {
		if c.ctx.Err() == nil {
			c.sent = true
			live++
			if pctx == nil {
				pctx = c.ctx
			}
			mark = append(mark, c.mark...)
		}
	}
	if live > 0 {
		if live > 1 {
			pctx = context.WithoutCancel(pctx)
		}
		_, _ = l.rdb.Pipelined(pctx, func(p redis.Pipeliner) error {
			var markCmd *redis.Cmd
			if len(mark) > 0 {
				markCmd = l.markIntents(pctx, p, mark)
			}
			for _, c := range batch {
				if c.sent {
					if len(c.mark) > 0 {
						c.markCmd = markCmd
					}
					c.fill(p)
				}
			}
			// One WAIT behind every call of the pipeline: they share the
			// connection, so it confirms all their writes.
			wait := l.waitCmd(pctx, p)
			for _, c := range batch {
				c.wait = wait
			}
			return nil
		})
	}
	for _, c := range batch {
		close(c.done)
	}
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
