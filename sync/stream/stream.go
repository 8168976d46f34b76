// Package stream is the one Redis Stream consumer of shelfsync: a consumer
// group reading one stream, used by the intake, the fetch queues and the
// downstream webhook forwarder.
//
// The contract:
//
//   - Run creates the group (from the start of the stream, making the stream
//     if it is missing) and returns an error only if that first creation
//     fails (or Stream or Group is empty). Otherwise it blocks until ctx
//     ends, then waits for the handler calls in flight and returns nil.
//   - Workers (Options.Workers of them) read new entries, up to Count at a
//     time, blocking up to Block per read, and hand each read to the
//     handler as one batch. Handler calls run concurrently (one per worker,
//     plus the reclaimer); the handler returns one error per message.
//   - nil acknowledges the message; unless KeepAcked, the entry is also
//     deleted from the stream (one script: XACK, XDEL, and its attempt count
//     and last reason forgotten). A worker sends a batch's acknowledgement
//     in the pipeline of its next read (Redis runs it before the read
//     blocks), where the client can pipeline a blocking read, else in a
//     round trip before it; at once before it waits after an ErrRetry, and
//     before Run returns.
//   - An error leaves the message pending and counts an attempt. After
//     MaxAttempts counted attempts the message goes to the dead-letter
//     stream with its last error as reason, and is acknowledged (and
//     deleted unless KeepAcked). A reclaimer takes over messages left
//     pending longer than ClaimIdle (a failed attempt, or a worker that
//     died) and hands them to the handler again (XAUTOCLAIM): a failed
//     message is retried about once per ClaimIdle.
//   - An error wrapping ErrRefused (Refuse) is dead-lettered at once: the
//     message can never succeed.
//   - An error wrapping ErrRetry (Retry) is not the message's fault (the
//     system it goes to is down): it counts no attempt and is never
//     dead-lettered. The worker that got it waits (RetryBackoff, doubling up
//     to MaxRetryBackoff) before it takes anything new, then retries its own
//     pending messages in order; only when they all went through does it
//     read new entries again. Such a message is retried for ever.
//   - If Redis lost the group or the stream (a flush, a failover to an
//     empty replica: NOGROUP), the group is made again from the start of
//     the stream, and reading goes on: whatever is still on the stream is
//     delivered (again), nothing is skipped. Other Redis errors are logged
//     and retried with backoff; they never end Run.
//   - An entry deleted from the stream while pending (trimmed by MAXLEN) is
//     acknowledged without calling the handler and reported to Hooks.Gone.
//   - When ctx ends, a message whose handling failed because of it is left
//     pending, without an attempt counted: it is handled again after a
//     restart, by the reclaimer of any process. Handlers must therefore be
//     idempotent: delivery is at least once.
//
// A dead letter is an entry of the dead-letter stream holding the message's
// own fields plus "id" (its id on the stream), "reason", "attempts" and
// "at" (RFC 3339); messages must not use those four field names. Replay
// puts a dead letter's fields back on the stream as a new entry.
//
// Keep the stream, dead-letter, attempts and reasons keys in one Redis
// Cluster hash slot (one hash tag): the scripts touch them together.
//
// A stream spread over partitions (so a Cluster's primaries share its
// work) is a Set: one Consumer per partition, each under its own hash tag
// (PartitionTags: tags whose slots fall in equal slot ranges) with its own
// group, messages placed by PartitionOf a key of theirs; the Set lists and
// replays the dead letters of every partition, sums their backlogs, and
// drains the single stream the partitions replaced.
package stream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/sync/store"
)

// Message is one entry of the stream: its id and its fields (string values
// as Redis returns them).
type Message struct {
	ID     string
	Values map[string]any
}

// Field is the string value of a field ("" when absent).
func (m Message) Field(name string) string {
	s, _ := m.Values[name].(string)
	return s
}

// Handler handles a batch of messages (what one read returned) and says,
// per message, how it went (see the package comment). It must return
// exactly one error slot per message.
type Handler func(ctx context.Context, msgs []Message) []error

// ErrRefused marks an error for a message that can never succeed: it is
// dead-lettered at once with the error as its reason.
var ErrRefused = errors.New("refused")

// Refuse wraps why a message can never succeed (see ErrRefused).
func Refuse(why string) error { return fmt.Errorf("%w: %s", ErrRefused, why) }

// ErrRetry marks an error that is not the message's fault (the receiver is
// down, a dependency failed): the message is retried, for ever, after a
// backoff, without counting an attempt.
var ErrRetry = errors.New("retry later")

// Retry marks err as ErrRetry; errors.Is sees both. Retry(nil) is nil.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return retryError{err}
}

type retryError struct{ err error }

func (e retryError) Error() string        { return e.err.Error() }
func (e retryError) Unwrap() error        { return e.err }
func (e retryError) Is(target error) bool { return target == ErrRetry }

// Hooks are called as things happen, for metrics; any may be nil. They
// must not block.
type Hooks struct {
	// Failed: a failed attempt; the message stays pending and is retried.
	// attempts is the number of counted attempts so far (0 for ErrRetry).
	Failed func(m Message, err error, attempts int64)
	// DeadLettered: the message went to the dead-letter stream.
	DeadLettered func(m Message, reason string, attempts int64)
	// Reclaimed: n messages were taken over from a consumer that left them
	// pending longer than ClaimIdle.
	Reclaimed func(n int)
	// Gone: a pending entry is no longer on the stream (trimmed); it was
	// acknowledged without being handled.
	Gone func(id string)
	// Backlog: the stream's length, read by the reclaimer every tick.
	Backlog func(n int64)
}

// Options configures a Consumer. Stream and Group are required.
type Options struct {
	Stream   string // the stream's key
	Dead     string // dead-letter stream; default Stream + ":dead"
	Attempts string // hash of attempt counts by message id; default Stream + ":attempts"
	Reasons  string // hash of last errors by message id; default Stream + ":reasons"
	Group    string // consumer group
	// Consumer is this process's name in the group; its workers are
	// Consumer-0 … Consumer-(Workers-1), its reclaimer Consumer-reclaim.
	// Default: host name and process id.
	Consumer  string
	Workers   int           // default 1
	Count     int           // messages per read (a handler's batch at most); default 32
	Block     time.Duration // how long a read waits for new entries; default 1s
	ClaimIdle time.Duration // pending this long → reclaimed; default 30s
	// MaxAttempts is how many counted attempts a message gets before it is
	// dead-lettered; default 8; negative: never (only refusals are).
	MaxAttempts int
	// KeepAcked acknowledges handled messages without deleting them: for a
	// stream that other groups read too (trimmed by MAXLEN instead).
	KeepAcked bool
	// RetryBackoff is a worker's first wait after an ErrRetry failure;
	// default 1s. It doubles up to MaxRetryBackoff, default ClaimIdle/2.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	Logger          zerolog.Logger
	// LogFields, if set, adds fields that describe a message to each log
	// line about it (its channel, its kind).
	LogFields func(ev *zerolog.Event, m Message)
	Hooks     Hooks
	// AfterRead, when set, queues commands in the pipeline of each read of
	// new entries, after its XREADGROUP: Redis runs them once the read has
	// its entries (a connection's later commands wait while its read
	// blocks), so they see every write that finished before the entries
	// were read, at no round trip of their own. The function it returns is
	// called with the worker's context once the replies are in (also when
	// the read failed) and gives the context the entries are handled with.
	// Not used on a client other than *redis.Client (a Cluster client
	// splits a pipeline by node and loses that order) nor when the
	// client's read timeout would not cover Block (a blocking read in a
	// pipeline gets the client's read timeout); then, and for the
	// reclaimer's and a retry's reads, the handler gets the worker's
	// context.
	AfterRead func(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context
}

// Consumer reads one stream with one consumer group.
type Consumer struct {
	rdb redis.UniversalClient
	o   Options
	// pipelined: a read of new entries can be made in a pipeline (see
	// ordered); then a worker's acknowledgements ride on its next read.
	pipelined bool
	// afterRead: Options.AfterRead is used (see there).
	afterRead bool
}

// New builds a Consumer; it does no I/O.
func New(rdb redis.UniversalClient, o Options) *Consumer {
	if o.Dead == "" {
		o.Dead = o.Stream + ":dead"
	}
	if o.Attempts == "" {
		o.Attempts = o.Stream + ":attempts"
	}
	if o.Reasons == "" {
		o.Reasons = o.Stream + ":reasons"
	}
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Count <= 0 {
		o.Count = 32
	}
	if o.Block <= 0 {
		o.Block = time.Second
	}
	if o.ClaimIdle <= 0 {
		o.ClaimIdle = 30 * time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	if o.MaxRetryBackoff <= 0 {
		o.MaxRetryBackoff = max(o.ClaimIdle/2, o.RetryBackoff)
	}
	pipelined := ordered(rdb, o.Block)
	return &Consumer{rdb: rdb, o: o, pipelined: pipelined, afterRead: o.AfterRead != nil && pipelined}
}

// ordered reports whether a pipeline of rdb holding a read that blocks up
// to block runs its commands in order on one connection, within the
// client's read timeout (with a second to spare).
func ordered(rdb redis.UniversalClient, block time.Duration) bool {
	c, ok := rdb.(*redis.Client)
	if !ok {
		return false
	}
	rt := c.Options().ReadTimeout
	return rt < 0 || rt >= block+time.Second
}

// Stream is the stream's key.
func (c *Consumer) Stream() string { return c.o.Stream }

// Run handles messages until ctx ends (see the package comment).
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	if c.o.Stream == "" || c.o.Group == "" {
		return errors.New("stream consumer: Stream and Group are required")
	}
	if err := c.createGroup(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < c.o.Workers; i++ {
		name := fmt.Sprintf("%s-%d", c.o.Consumer, i)
		wg.Go(func() { c.work(ctx, name, h) })
	}
	wg.Go(func() { c.reclaim(ctx, c.o.Consumer+"-reclaim", h) })
	wg.Wait()
	return nil
}

func (c *Consumer) createGroup(ctx context.Context) error {
	err := c.rdb.XGroupCreateMkStream(ctx, c.o.Stream, c.o.Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("creating consumer group %s of %s: %w", c.o.Group, c.o.Stream, err)
	}
	return nil
}

// regroup makes the group again after Redis said NOGROUP.
func (c *Consumer) regroup(ctx context.Context, err error) {
	if !redis.HasErrorPrefix(err, "NOGROUP") {
		return
	}
	if cerr := c.createGroup(ctx); cerr != nil {
		c.o.Logger.Error().Err(cerr).Str("stream", c.o.Stream).Msg("recreating a lost consumer group")
		return
	}
	c.o.Logger.Warn().Str("stream", c.o.Stream).Str("group", c.o.Group).
		Msg("consumer group was lost (Redis flushed or failed over); made again from the start of the stream")
}

// read reads new entries (from ">", blocking) or this consumer's own
// pending ones after id from. It returns the context to handle them with
// (Options.AfterRead's, for new entries). acks are handled messages not
// yet acknowledged: their acknowledgement goes first in the read's
// pipeline (Redis runs it before the read blocks), or, where a read is
// not pipelined, in a round trip of its own before it.
func (c *Consumer) read(ctx context.Context, name, from string, acks []string) ([]Message, context.Context, error) {
	block := c.o.Block
	if from != ">" {
		block = -1 // history: no wait
	}
	args := &redis.XReadGroupArgs{
		Group: c.o.Group, Consumer: name, Streams: []string{c.o.Stream, from},
		Count: int64(c.o.Count), Block: block,
	}
	var streams []redis.XStream
	var err error
	hctx := ctx
	if from == ">" && (c.afterRead || (c.pipelined && len(acks) > 0)) {
		// The read is made in a pipeline of its own (which sets its read
		// timeout from Block) and queued, marked not to be retried, in the
		// pipeline that runs: go-redis runs a pipeline again after a
		// timeout or a lost connection (a single blocking read it does
		// not), and the read that failed may already have delivered
		// entries to this consumer, which a second read from ">" would not
		// get again (they would wait for the reclaimer, ClaimIdle). So the
		// error comes back, and work reads its own pending entries next.
		// An acknowledgement that failed with it is made again (acked).
		cmd := c.rdb.Pipeline().XReadGroup(ctx, args)
		pipe := c.rdb.Pipeline()
		ackCalls := c.ackCalls(acks)
		ackCmds := store.QueueEach(ctx, pipe, ackScript, ackCalls)
		_ = pipe.Process(ctx, noRetry{cmd})
		after := func(ctx context.Context) context.Context { return ctx }
		if c.afterRead {
			after = c.o.AfterRead(ctx, pipe)
		}
		_, _ = pipe.Exec(ctx) // each command's error is its own
		c.acked(ctx, ackCalls, ackCmds)
		streams, err = cmd.Result()
		hctx = after(ctx)
	} else {
		c.ack(ctx, acks)
		streams, err = c.rdb.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, hctx, nil
	}
	if err != nil {
		return nil, ctx, err
	}
	var out []Message
	for _, s := range streams {
		for _, m := range s.Messages {
			out = append(out, Message{ID: m.ID, Values: m.Values})
		}
	}
	return out, hctx, nil
}

// noRetry is a command go-redis does not send again after an error: a
// pipeline holding one is not retried.
type noRetry struct{ *redis.XStreamSliceCmd }

func (noRetry) NoRetry() bool { return true }

// work is one worker: new entries, or, after an ErrRetry, its own pending
// ones in order once its backoff has passed; after a read of new entries
// failed, its own pending ones first (the failed read, a timeout or a lost
// connection, may have delivered some to it that no later read from ">"
// gets). What a batch handled is acknowledged with the next read (see
// read), or at once when the worker is to wait or stop.
func (c *Consumer) work(ctx context.Context, name string, h Handler) {
	errBackoff := 100 * time.Millisecond
	retryBackoff := c.o.RetryBackoff
	from := ">" // or the id after which to retry own pending messages
	var acks []string
	defer func() { c.ack(ctx, acks) }()
	for ctx.Err() == nil {
		msgs, hctx, err := c.read(ctx, name, from, acks)
		acks = nil
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.regroup(ctx, err)
			c.o.Logger.Warn().Err(err).Str("stream", c.o.Stream).Msg("reading the stream; retrying")
			_ = wait(ctx, errBackoff)
			errBackoff = min(errBackoff*2, 5*time.Second)
			if from == ">" {
				from = "0"
			}
			continue
		}
		errBackoff = 100 * time.Millisecond
		if from != ">" && len(msgs) == 0 {
			from, retryBackoff = ">", c.o.RetryBackoff // own pending all through
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		done, retry := c.settle(hctx, msgs, h)
		if retry {
			c.ack(ctx, done)
			_ = wait(ctx, retryBackoff)
			retryBackoff = min(retryBackoff*2, c.o.MaxRetryBackoff)
			from = "0"
			continue
		}
		acks = done
		if from != ">" {
			from = msgs[len(msgs)-1].ID
		}
	}
}

// reclaim takes over messages left pending longer than ClaimIdle and
// handles them again.
func (c *Consumer) reclaim(ctx context.Context, name string, h Handler) {
	t := time.NewTicker(max(c.o.ClaimIdle/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.o.Hooks.Backlog != nil {
			if n, err := c.rdb.XLen(ctx, c.o.Stream).Result(); err == nil {
				c.o.Hooks.Backlog(n)
			}
		}
		start := "0-0"
		for ctx.Err() == nil {
			msgs, next, deleted, err := c.rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
				Stream: c.o.Stream, Group: c.o.Group, Consumer: name,
				MinIdle: c.o.ClaimIdle, Start: start, Count: int64(c.o.Count),
			}).Result()
			if err != nil {
				if ctx.Err() == nil {
					c.regroup(ctx, err)
					c.o.Logger.Warn().Err(err).Str("stream", c.o.Stream).Msg("reclaiming pending messages")
				}
				break
			}
			if len(deleted) > 0 {
				// Redis 7 already dropped them from the pending list; forget
				// their attempts.
				c.ack(ctx, deleted)
				c.gone(deleted)
			}
			batch := make([]Message, len(msgs))
			for i, m := range msgs {
				batch[i] = Message{ID: m.ID, Values: m.Values}
			}
			if len(batch) > 0 && c.o.Hooks.Reclaimed != nil {
				c.o.Hooks.Reclaimed(len(batch))
			}
			if len(batch) > 0 && c.handle(ctx, batch, h) {
				break // the receiver is down: the rest waits for the next tick
			}
			if next == "0-0" || (len(msgs) == 0 && len(deleted) == 0) {
				break
			}
			start = next
		}
	}
}

func (c *Consumer) gone(ids []string) {
	for _, id := range ids {
		c.o.Logger.Error().Str("stream", c.o.Stream).Str("id", id).Msg("pending message left the stream (trimmed) before it was handled")
		if c.o.Hooks.Gone != nil {
			c.o.Hooks.Gone(id)
		}
	}
}

// handle hands a batch to h, acknowledges what succeeded and records what
// failed. It reports whether an error was ErrRetry.
func (c *Consumer) handle(ctx context.Context, msgs []Message, h Handler) (retry bool) {
	done, retry := c.settle(ctx, msgs, h)
	c.ack(ctx, done)
	return retry
}

// settle hands a batch to h and records what failed. It returns the ids
// to acknowledge (handled, or trimmed from the stream) and whether an
// error was ErrRetry.
func (c *Consumer) settle(ctx context.Context, msgs []Message, h Handler) (done []string, retry bool) {
	live := make([]Message, 0, len(msgs))
	var gone []string
	for _, m := range msgs {
		if len(m.Values) == 0 {
			gone = append(gone, m.ID)
			continue
		}
		live = append(live, m)
	}
	if len(gone) > 0 {
		c.gone(gone)
		done = append(done, gone...)
	}
	if len(live) > 0 {
		errs := h(ctx, live)
		if len(errs) != len(live) {
			panic(fmt.Sprintf("stream: handler returned %d results for %d messages", len(errs), len(live)))
		}
		for i, err := range errs {
			if err == nil {
				done = append(done, live[i].ID)
				continue
			}
			if errors.Is(err, ErrRetry) && !errors.Is(err, ErrRefused) {
				retry = true
			}
			c.failed(ctx, live[i], err)
		}
	}
	return done, retry
}

// failScript counts an attempt (KEYS: stream, dead, attempts, reasons;
// ARGV: group, id, refused "1"/"0", max attempts (<= 0: no limit),
// reason, at, keep "1"/"0", then the message's field/value pairs) and
// dead-letters the message if it was refused or that was its last
// attempt. Returns the attempts counted, negated when dead-lettered.
var failScript = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
local max = tonumber(ARGV[4])
if ARGV[3] == '1' or (max > 0 and n >= max) then
  local e = {'id', ARGV[2]}
  for i = 8, #ARGV do e[#e+1] = ARGV[i] end
  e[#e+1] = 'reason'; e[#e+1] = ARGV[5]
  e[#e+1] = 'attempts'; e[#e+1] = n
  e[#e+1] = 'at'; e[#e+1] = ARGV[6]
  redis.call('XADD', KEYS[2], '*', unpack(e))
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[7] ~= '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end
  redis.call('HDEL', KEYS[3], ARGV[2])
  redis.call('HDEL', KEYS[4], ARGV[2])
  return -n
end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[5])
return n`)

// failed records a failed attempt (see the package comment).
func (c *Consumer) failed(ctx context.Context, m Message, err error) {
	if ctx.Err() != nil {
		return // shutting down: left pending, handled after a restart
	}
	refused := errors.Is(err, ErrRefused)
	if !refused && errors.Is(err, ErrRetry) {
		c.about(c.o.Logger.Debug(), m).Err(err).Msg("message left pending, to be retried")
		if c.o.Hooks.Failed != nil {
			c.o.Hooks.Failed(m, err, 0)
		}
		return
	}
	args := []any{c.o.Group, m.ID, flag(refused), c.o.MaxAttempts, err.Error(),
		time.Now().UTC().Format(time.RFC3339Nano), flag(c.o.KeepAcked)}
	keys := make([]string, 0, len(m.Values))
	for k := range m.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, k, m.Values[k])
	}
	n, serr := failScript.Run(ctx, c.rdb, []string{c.o.Stream, c.o.Dead, c.o.Attempts, c.o.Reasons}, args...).Int64()
	if serr != nil {
		c.about(c.o.Logger.Error(), m).Err(serr).AnErr("failure", err).
			Msg("recording a failed attempt; the message stays pending")
		return
	}
	if n < 0 {
		if c.o.Hooks.DeadLettered != nil {
			c.o.Hooks.DeadLettered(m, err.Error(), -n)
		}
		c.about(c.o.Logger.Error(), m).Str("reason", err.Error()).Int64("attempts", -n).
			Msg("message dead-lettered")
		return
	}
	if c.o.Hooks.Failed != nil {
		c.o.Hooks.Failed(m, err, n)
	}
	c.about(c.o.Logger.Warn(), m).Err(err).Int64("attempt", n).
		Msg("message failed; it will be retried")
}

// about adds the stream, the message id and LogFields to a log line.
func (c *Consumer) about(ev *zerolog.Event, m Message) *zerolog.Event {
	ev = ev.Str("stream", c.o.Stream).Str("id", m.ID)
	if c.o.LogFields != nil && ev.Enabled() {
		c.o.LogFields(ev, m)
	}
	return ev
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ackScript: KEYS = stream, attempts, reasons; ARGV = group, keep, then
// the ids. A batch's acknowledgement is one run of four commands, whatever
// its size (not four per message).
var ackScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 3))
if ARGV[2] ~= '1' then redis.call('XDEL', KEYS[1], unpack(ARGV, 3)) end
redis.call('HDEL', KEYS[2], unpack(ARGV, 3))
redis.call('HDEL', KEYS[3], unpack(ARGV, 3))
return 1`)

// ackChunk bounds the ids of one ackScript run (Lua's unpack has a limit).
const ackChunk = 1000

// ack acknowledges (and deletes) handled messages: one script run per
// ackChunk ids, all in one round trip.
func (c *Consumer) ack(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	// The acknowledgement must happen even if ctx ended right after handling.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	calls := c.ackCalls(ids)
	pipe := c.rdb.Pipeline()
	cmds := store.QueueEach(actx, pipe, ackScript, calls)
	_, _ = pipe.Exec(actx)
	c.acked(ctx, calls, cmds)
}

// ackCalls are the ackScript runs acknowledging ids, one per ackChunk of
// them.
func (c *Consumer) ackCalls(ids []string) []store.ScriptCall {
	keys := []string{c.o.Stream, c.o.Attempts, c.o.Reasons}
	var calls []store.ScriptCall
	for start := 0; start < len(ids); start += ackChunk {
		chunk := ids[start:min(start+ackChunk, len(ids))]
		a := make([]any, 0, 2+len(chunk))
		a = append(a, c.o.Group, flag(c.o.KeepAcked))
		for _, id := range chunk {
			a = append(a, id)
		}
		calls = append(calls, store.ScriptCall{Keys: keys, Args: a})
	}
	return calls
}

// acked checks the replies of queued acknowledgements. A run that failed
// (the script cache flushed, a lost connection, a context that ended) is
// run again on its own, which loads the script and retries as the client
// does (acknowledging twice is harmless); what still fails is logged:
// those messages stay pending and are handled again after ClaimIdle.
func (c *Consumer) acked(ctx context.Context, calls []store.ScriptCall, cmds []*redis.Cmd) {
	var actx context.Context
	for i, cmd := range cmds {
		if cmd.Err() == nil {
			continue
		}
		if actx == nil {
			var cancel context.CancelFunc
			actx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
		}
		if err := ackScript.Run(actx, c.rdb, calls[i].Keys, calls[i].Args...).Err(); err != nil {
			c.o.Logger.Warn().Err(err).Str("stream", c.o.Stream).Str("id", calls[i].Args[2].(string)).Int("messages", len(calls[i].Args)-2).
				Msg("acknowledging messages; they will be handled again (harmless)")
		}
	}
}

// DeadLetter is a message that was refused or failed every attempt.
type DeadLetter struct {
	ID        string            // its id in the dead-letter stream (to replay it)
	MessageID string            // its id in the stream
	Values    map[string]string // the message's own fields
	Reason    string
	Attempts  int64
	At        string
}

// meta are the dead-letter fields that are not the message's.
var meta = map[string]bool{"id": true, "reason": true, "attempts": true, "at": true}

// DeadLetters lists up to n dead letters, newest first.
func (c *Consumer) DeadLetters(ctx context.Context, n int64) ([]DeadLetter, error) {
	msgs, err := c.rdb.XRevRangeN(ctx, c.o.Dead, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading dead letters of %s: %w", c.o.Stream, err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID, Values: map[string]string{}}
		d.MessageID, _ = m.Values["id"].(string)
		d.Reason, _ = m.Values["reason"].(string)
		d.At, _ = m.Values["at"].(string)
		if a, ok := m.Values["attempts"].(string); ok {
			d.Attempts, _ = strconv.ParseInt(a, 10, 64)
		}
		for k, v := range m.Values {
			if !meta[k] {
				d.Values[k], _ = v.(string)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// ErrNoDeadLetter: no dead letter with that id.
var ErrNoDeadLetter = errors.New("no such dead letter")

var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// replayScript: KEYS = stream, dead; ARGV = dead letter id.
var replayScript = redis.NewScript(`
local m = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #m == 0 then return false end
local f = m[1][2]
local e = {}
for i = 1, #f, 2 do
  local k = f[i]
  if k ~= 'id' and k ~= 'reason' and k ~= 'attempts' and k ~= 'at' then
    e[#e+1] = k; e[#e+1] = f[i+1]
  end
end
if #e == 0 then return redis.error_reply('dead letter holds no message fields') end
local id = redis.call('XADD', KEYS[1], '*', unpack(e))
redis.call('XDEL', KEYS[2], ARGV[1])
return id`)

// Replay moves a dead letter back onto the stream as a new entry, for
// another round of attempts. Every group reading the stream sees it.
func (c *Consumer) Replay(ctx context.Context, deadID string) (string, error) {
	if !streamID.MatchString(deadID) {
		return "", ErrNoDeadLetter
	}
	id, err := replayScript.Run(ctx, c.rdb, []string{c.o.Stream, c.o.Dead}, deadID).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrNoDeadLetter
	}
	if err != nil {
		return "", fmt.Errorf("replaying %s: %w", deadID, err)
	}
	return id, nil
}

// Backlog is the stream's length: with deletion on ack, the messages
// waiting or in progress.
func (c *Consumer) Backlog(ctx context.Context) (int64, error) {
	n, err := c.rdb.XLen(ctx, c.o.Stream).Result()
	if err != nil {
		return 0, fmt.Errorf("stream backlog of %s: %w", c.o.Stream, err)
	}
	return n, nil
}

// wait sleeps d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
