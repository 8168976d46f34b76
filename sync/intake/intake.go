// Package intake is the durable inbox between the channels and the engine:
// a Redis Stream read by a consumer group. A webhook is answered, and an
// SQS message deleted, only after Put returned: from then on the event
// survives any crash. Workers acknowledge an event only after it was fully
// handled; what a crashed worker left pending is reclaimed by another; an
// event that keeps failing goes, after a bounded number of attempts, to a
// dead-letter stream with its reason, from where it can be replayed.
//
// Deliveries that carry an id (Shopify's event id) are de-duplicated at the
// door, atomically with the append. All intake keys share one hash tag, so
// the scripts run unchanged on Redis Cluster.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
)

// Options configures an Intake.
type Options struct {
	Prefix      string
	Group       string        // consumer group; default "engine"
	Consumer    string        // this process's consumer name
	Workers     int           // default 4
	MaxAttempts int           // before dead-lettering; default 8
	ClaimIdle   time.Duration // pending this long → reclaimed; default 30s
	DedupTTL    time.Duration // how long delivery ids are remembered; default 7d
	Block       time.Duration // XREADGROUP block; default 1s
	// Name is the intake's hash tag: its keys are Prefix + "{" + Name + "}:…";
	// default "intake". Other durable queues (a channel's fetch queue) are
	// intakes with a name of their own.
	Name string
	// Coalesce makes delivery ids mean "pending": an event whose id is
	// waiting is not queued again, and the id is forgotten (DedupTTL is
	// only a bound) as soon as a worker takes the event, so a delivery
	// that comes while it is being handled is queued anew. For "fetch
	// order X" queues: ten notifications of one order waiting cost one
	// fetch, and none that arrives after the fetch started is lost.
	Coalesce bool
	Logger   zerolog.Logger
	Metrics  *Metrics
}

// Intake is the durable event inbox.
type Intake struct {
	rdb      redis.UniversalClient
	o        Options
	stream   string
	dead     string
	attempts string
	reasons  string
	dedup    string
}

var _ connectors.EventSink = (*Intake)(nil)

// New builds an Intake; it does no I/O.
func New(rdb redis.UniversalClient, o Options) *Intake {
	if o.Group == "" {
		o.Group = "engine"
	}
	if o.Workers == 0 {
		o.Workers = 4
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 8
	}
	if o.ClaimIdle == 0 {
		o.ClaimIdle = 30 * time.Second
	}
	if o.DedupTTL == 0 {
		o.DedupTTL = 7 * 24 * time.Hour
	}
	if o.Block == 0 {
		o.Block = time.Second
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Name == "" {
		o.Name = "intake"
	}
	tag := o.Prefix + "{" + o.Name + "}:"
	return &Intake{
		rdb: rdb, o: o,
		stream:   tag + "stream",
		dead:     tag + "dead",
		attempts: tag + "attempts",
		reasons:  tag + "reasons",
		dedup:    tag + "dedup:",
	}
}

// putScript appends each event unless its dedup key (KEYS[i+1], or "" for
// none) is already set. ARGV[1] is the dedup TTL in ms, ARGV[i+1] the
// payload. Returns, per event, the stream id or "" for a duplicate.
var putScript = redis.NewScript(`
local out = {}
local ttl = tonumber(ARGV[1])
for i = 2, #KEYS do
  local fresh = true
  if KEYS[i] ~= KEYS[1] then
    fresh = redis.call('SET', KEYS[i], '1', 'NX', 'PX', ttl)
  end
  if fresh then
    out[#out+1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
  else
    out[#out+1] = ''
  end
end
return out`)

// Put stores events durably. When it returns nil every event is either on
// the stream or a duplicate of one that was. It implements connectors.EventSink.
func (in *Intake) Put(ctx context.Context, events []connectors.Event) error {
	if len(events) == 0 {
		return nil
	}
	keys := make([]string, 0, len(events)+1)
	args := make([]any, 0, len(events)+1)
	keys = append(keys, in.stream)
	args = append(args, in.o.DedupTTL.Milliseconds())
	for i := range events {
		e := &events[i]
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = time.Now()
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
		if e.ID != "" {
			keys = append(keys, in.dedup+e.Channel+":"+e.ID)
		} else {
			keys = append(keys, in.stream)
		}
		args = append(args, b)
	}
	res, err := putScript.Run(ctx, in.rdb, keys, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("intake append: %w", err)
	}
	for i, id := range res {
		e := events[i]
		if id == "" {
			in.o.Metrics.Duplicate.WithLabelValues(e.Channel, string(e.Kind)).Inc()
		} else {
			in.o.Metrics.Received.WithLabelValues(e.Channel, string(e.Kind)).Inc()
		}
	}
	return nil
}

// Handler processes a batch of events (what one read of the stream
// returned) and says, per event, how it went: a nil error acknowledges the
// event; an error leaves it for a retry (up to MaxAttempts, then the
// dead-letter stream). It must return one error slot per event.
type Handler func(ctx context.Context, events []connectors.Event) []error

// Run starts the workers and the reclaimer and blocks until ctx ends. An
// event being handled when ctx ends is not acknowledged: it is handled
// again after a restart (handlers are idempotent).
func (in *Intake) Run(ctx context.Context, h Handler) error {
	if err := in.createGroup(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < in.o.Workers; i++ {
		consumer := fmt.Sprintf("%s-%d", in.o.Consumer, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.work(ctx, consumer, h)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.reclaim(ctx, in.o.Consumer+"-reclaim", h)
	}()
	wg.Wait()
	return nil
}

func (in *Intake) createGroup(ctx context.Context) error {
	err := in.rdb.XGroupCreateMkStream(ctx, in.stream, in.o.Group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating intake consumer group: %w", err)
	}
	return nil
}

func (in *Intake) work(ctx context.Context, consumer string, h Handler) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		streams, err := in.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: in.o.Group, Consumer: consumer, Streams: []string{in.stream, ">"},
			Count: 32, Block: in.o.Block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if redis.HasErrorPrefix(err, "NOGROUP") {
				// Redis lost the group (a failover to an empty replica, a
				// flush): make it again, or nothing would read the intake.
				if cerr := in.createGroup(ctx); cerr != nil {
					in.o.Logger.Error().Err(cerr).Msg("recreating the intake consumer group")
				}
			}
			in.o.Logger.Warn().Err(err).Msg("reading intake; retrying")
			_ = connectors.WaitContext(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, s := range streams {
			in.handle(ctx, s.Messages, h)
		}
	}
}

// reclaim takes over events left pending longer than ClaimIdle (a crashed
// or failing worker) and handles them again.
func (in *Intake) reclaim(ctx context.Context, consumer string, h Handler) {
	t := time.NewTicker(max(in.o.ClaimIdle/4, 50*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := in.rdb.XLen(ctx, in.stream).Result(); err == nil {
			in.o.Metrics.Backlog.Set(float64(n))
		}
		start := "0-0"
		for ctx.Err() == nil {
			msgs, next, err := in.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
				Stream: in.stream, Group: in.o.Group, Consumer: consumer,
				MinIdle: in.o.ClaimIdle, Start: start, Count: 64,
			}).Result()
			if err != nil {
				if ctx.Err() == nil {
					in.o.Logger.Warn().Err(err).Msg("reclaiming intake events")
				}
				break
			}
			in.o.Metrics.Reclaimed.Add(float64(len(msgs)))
			in.handle(ctx, msgs, h)
			if next == "0-0" || len(msgs) == 0 {
				break
			}
			start = next
		}
	}
}

func (in *Intake) handle(ctx context.Context, msgs []redis.XMessage, h Handler) {
	events := make([]connectors.Event, 0, len(msgs))
	kept := make([]redis.XMessage, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values[EventField].(string)
		var e connectors.Event
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			in.deadLetter(ctx, m.ID, raw, fmt.Sprintf("undecodable event: %v", err), 0)
			continue
		}
		events = append(events, e)
		kept = append(kept, m)
	}
	if len(events) == 0 {
		return
	}
	if in.o.Coalesce {
		in.forget(ctx, events)
	}
	errs := h(ctx, events)
	if len(errs) != len(events) {
		panic(fmt.Sprintf("intake: handler returned %d results for %d events", len(errs), len(events)))
	}
	var done []string
	for i, err := range errs {
		e, m := events[i], kept[i]
		if err == nil {
			if !e.ReceivedAt.IsZero() {
				in.o.Metrics.Lag.Observe(time.Since(e.ReceivedAt).Seconds())
			}
			done = append(done, m.ID)
			continue
		}
		in.failed(ctx, m, e, err)
	}
	in.ack(ctx, done)
}

// forget deletes the delivery ids of events about to be handled (Coalesce).
// If it fails, the ids expire with DedupTTL: a later delivery of one of
// them meanwhile is dropped as waiting, which Coalesce queues are built to
// bear (the channel's polls catch what it said).
func (in *Intake) forget(ctx context.Context, events []connectors.Event) {
	keys := make([]string, 0, len(events))
	for _, e := range events {
		if e.ID != "" {
			keys = append(keys, in.dedup+e.Channel+":"+e.ID)
		}
	}
	if len(keys) == 0 {
		return
	}
	// One DEL per key: on a Cluster the keys share the intake's hash tag,
	// but a pipeline keeps this indifferent to that.
	pipe := in.rdb.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		in.o.Logger.Warn().Err(err).Msg("forgetting delivery ids of events being handled")
	}
}

// ErrRefused marks a handler's error for an event that can never apply
// (invalid, unknown channel): the event is dead-lettered at once with the
// error as its reason, never retried and never dropped silently.
var ErrRefused = errors.New("refused")

// Refuse wraps why an event can never apply (see ErrRefused).
func Refuse(why string) error { return fmt.Errorf("%w: %s", ErrRefused, why) }

// failed counts a failed attempt and dead-letters the event after the last
// (at once when the handler refused it).
func (in *Intake) failed(ctx context.Context, m redis.XMessage, e connectors.Event, err error) {
	if ctx.Err() != nil {
		return // shutting down: leave it pending, it is handled after restart
	}
	raw, _ := m.Values[EventField].(string)
	if errors.Is(err, ErrRefused) {
		in.deadLetter(ctx, m.ID, raw, err.Error(), 1)
		return
	}
	n, aerr := in.rdb.HIncrBy(ctx, in.attempts, m.ID, 1).Result()
	if aerr != nil {
		in.o.Logger.Warn().Err(aerr).Str("id", m.ID).Msg("counting intake attempt")
		return
	}
	if int(n) >= in.o.MaxAttempts {
		in.deadLetter(ctx, m.ID, raw, err.Error(), n)
		return
	}
	in.rdb.HSet(ctx, in.reasons, m.ID, err.Error())
	in.o.Metrics.Failures.WithLabelValues(e.Channel, string(e.Kind)).Inc()
	in.o.Logger.Warn().Err(err).Str("id", m.ID).Str("channel", e.Channel).Str("kind", string(e.Kind)).
		Int64("attempt", n).Msg("event failed; it will be retried")
}

var ackScript = redis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1`)

// ack acknowledges and deletes handled events, in one round trip.
func (in *Intake) ack(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	// The acknowledgement must happen even if ctx ended right after handling.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	keys := []string{in.stream, in.attempts, in.reasons}
	pipe := in.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	for i, id := range ids {
		cmds[i] = ackScript.EvalSha(actx, pipe, keys, in.o.Group, id)
	}
	_, _ = pipe.Exec(actx)
	for i, c := range cmds {
		err := c.Err()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			err = ackScript.Run(actx, in.rdb, keys, in.o.Group, ids[i]).Err()
		}
		if err != nil {
			in.o.Logger.Warn().Err(err).Str("id", ids[i]).Msg("acknowledging intake event; it will be handled again (harmless)")
		}
	}
}

var deadScript = redis.NewScript(`
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'e', ARGV[3], 'reason', ARGV[4], 'attempts', ARGV[5], 'at', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
return 1`)

func (in *Intake) deadLetter(ctx context.Context, id, raw, reason string, attempts int64) {
	err := deadScript.Run(ctx, in.rdb, []string{in.stream, in.dead, in.attempts, in.reasons},
		in.o.Group, id, raw, reason, attempts, time.Now().UTC().Format(time.RFC3339Nano)).Err()
	if err != nil {
		in.o.Logger.Error().Err(err).Str("id", id).Msg("dead-lettering intake event; it stays pending")
		return
	}
	in.o.Metrics.DeadLettered.Inc()
	in.o.Logger.Error().Str("id", id).Str("reason", reason).Int64("attempts", attempts).Msg("event dead-lettered")
}

// DeadLetter is an event that failed every attempt.
type DeadLetter struct {
	ID       string            `json:"id"`       // id in the dead-letter stream (use it to replay)
	EventID  string            `json:"event_id"` // its id in the intake stream
	Event    *connectors.Event `json:"event,omitempty"`
	Raw      string            `json:"raw,omitempty"` // when the event could not be decoded
	Reason   string            `json:"reason"`
	Attempts int64             `json:"attempts"`
	At       string            `json:"at"`
}

// DeadLetters lists up to n dead-lettered events, newest first.
func (in *Intake) DeadLetters(ctx context.Context, n int64) ([]DeadLetter, error) {
	msgs, err := in.rdb.XRevRangeN(ctx, in.dead, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID}
		d.EventID, _ = m.Values["id"].(string)
		d.Reason, _ = m.Values["reason"].(string)
		d.At, _ = m.Values["at"].(string)
		if a, ok := m.Values["attempts"].(string); ok {
			d.Attempts, _ = strconv.ParseInt(a, 10, 64)
		}
		raw, _ := m.Values["e"].(string)
		var e connectors.Event
		if json.Unmarshal([]byte(raw), &e) == nil {
			d.Event = &e
		} else {
			d.Raw = raw
		}
		out = append(out, d)
	}
	return out, nil
}

var streamID = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// ErrNoDeadLetter: no dead letter with that id.
var ErrNoDeadLetter = errors.New("no such dead letter")

var replayScript = redis.NewScript(`
local m = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])
if #m == 0 then return false end
local f = m[1][2]
local e
for i = 1, #f, 2 do if f[i] == 'e' then e = f[i+1] end end
local id = redis.call('XADD', KEYS[1], '*', 'e', e)
redis.call('XDEL', KEYS[2], ARGV[1])
return id`)

// Replay moves a dead letter back onto the intake stream, for another try.
func (in *Intake) Replay(ctx context.Context, deadID string) (string, error) {
	if !streamID.MatchString(deadID) {
		return "", ErrNoDeadLetter
	}
	id, err := replayScript.Run(ctx, in.rdb, []string{in.stream, in.dead}, deadID).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrNoDeadLetter
	}
	if err != nil {
		return "", fmt.Errorf("replaying %s: %w", deadID, err)
	}
	return id, nil
}

// EventField is the stream entry field that holds an event's JSON.
const EventField = "e"

// Stream is the intake stream's Redis key.
func (in *Intake) Stream() string { return in.stream }

// Backlog is the number of events on the stream not yet acknowledged and
// deleted (waiting or in progress).
func (in *Intake) Backlog(ctx context.Context) (int64, error) {
	n, err := in.rdb.XLen(ctx, in.stream).Result()
	if err != nil {
		return 0, fmt.Errorf("intake backlog: %w", err)
	}
	return n, nil
}
