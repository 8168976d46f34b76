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
//
// The consumer group loop (workers, reclaim, attempts, dead letters, the
// group made again after Redis lost it) is sync/stream's; the intake adds
// its event codec, the de-duplication at the door and Coalesce.
package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/store"
	"github.com/shelfsync/shelfsync/sync/stream"
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
	// Partitions is how many streams the intake is spread over (0 or 1:
	// one, its keys as they always were). Each partition has its own hash
	// tag (stream.PartitionTags: Name + ":<i>.<j>", spread evenly over a
	// Cluster's slots), stream, dead letters, de-duplication keys and
	// consumer group; an event goes to the partition of its channel and
	// order id (PartitionKey), so one order's events stay in one stream, in
	// order. With more than one, the single stream of before is consumed
	// too while it exists (stream.Set), so raising it on a running install
	// loses nothing. Workers are shared out: each partition gets
	// ceil(Workers/Partitions), at least one.
	Partitions int
	// Coalesce makes delivery ids mean "pending": an event whose id is
	// waiting is not queued again, and the id is forgotten (DedupTTL is
	// only a bound) as soon as a worker takes the event, so a delivery
	// that comes while it is being handled is queued anew. For "fetch
	// order X" queues: ten notifications of one order waiting cost one
	// fetch, and none that arrives after the fetch started is lost.
	Coalesce bool
	// Durability is how many replicas must confirm Put's append (WAIT on
	// the stream's primary) before Put returns nil; when they do not, Put
	// fails with store.ErrNotReplicated (a webhook then answers 503). The
	// zero value waits for none.
	Durability store.Durability
	// AfterRead queues commands after each read of new events, in its
	// pipeline, and gives the context they are handled with (see
	// stream.Options.AfterRead): the engine reads the catalog version
	// there (catalog.AfterRead), so ingest needs no round trip for it.
	AfterRead func(ctx context.Context, pipe redis.Pipeliner) func(context.Context) context.Context
	Logger    zerolog.Logger
	Metrics   *Metrics
}

// Intake is the durable event inbox.
type Intake struct {
	rdb   redis.UniversalClient
	o     Options
	parts []partition
	c     *stream.Set // the consumer group loops
}

// partition is one of the intake's streams and its de-duplication keys.
type partition struct {
	stream string
	dedup  string
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
	in := &Intake{rdb: rdb, o: o}
	n := max(o.Partitions, 1)
	set := stream.SetOptions{Partition: func(v map[string]any) int { return in.partitionOf(peekKey(v)) }}
	for _, tag := range stream.PartitionTags(o.Name, n) {
		so := in.consumerOptions(o.Prefix+"{"+tag+"}:", (o.Workers+n-1)/n)
		in.parts = append(in.parts, partition{stream: so.Stream, dedup: o.Prefix + "{" + tag + "}:dedup:"})
		set.Partitions = append(set.Partitions, so)
	}
	if n > 1 {
		lo := in.consumerOptions(o.Prefix+"{"+o.Name+"}:", 1)
		set.Legacy = &lo
	}
	in.c = stream.NewSet(rdb, set)
	return in
}

// consumerOptions are the stream consumer's options for the keys under tag.
func (in *Intake) consumerOptions(tag string, workers int) stream.Options {
	o := in.o
	return stream.Options{
		Stream: tag + "stream", Dead: tag + "dead", Attempts: tag + "attempts", Reasons: tag + "reasons",
		Group: o.Group, Consumer: o.Consumer, Workers: workers, Count: 32, Block: o.Block,
		ClaimIdle: o.ClaimIdle, MaxAttempts: o.MaxAttempts, Logger: o.Logger, LogFields: logFields, AfterRead: o.AfterRead,
		Hooks: stream.Hooks{
			Failed:       in.failedHook,
			DeadLettered: func(stream.Message, string, int64) { o.Metrics.DeadLettered.Inc() },
			Reclaimed:    func(n int) { o.Metrics.Reclaimed.Add(float64(n)) },
			Backlog:      func(n int64) { o.Metrics.Backlog.Set(float64(n)) },
		},
	}
}

// PartitionKey is what picks an event's partition: its channel and order
// id (the event's own, else its order's or its return's), so every event of
// one order goes to one stream, in order. An event without an order id
// uses its channel and SKU (a stock change: one SKU's changes stay in
// order), else its channel and delivery id, else its channel alone.
func PartitionKey(e *connectors.Event) string {
	switch {
	case e.OrderID != "":
		return e.Channel + "\x00" + e.OrderID
	case e.Order != nil && e.Order.OrderID != "":
		return e.Channel + "\x00" + e.Order.OrderID
	case e.Return != nil && e.Return.OrderID != "":
		return e.Channel + "\x00" + e.Return.OrderID
	case e.Stock != nil && e.Stock.SKU != "":
		return e.Channel + "\x00sku\x00" + e.Stock.SKU
	case e.ID != "":
		return e.Channel + "\x00id\x00" + e.ID
	}
	return e.Channel
}

// partitionOf is the partition of a partition key.
func (in *Intake) partitionOf(key string) int { return stream.PartitionOf(key, len(in.parts)) }

// peekKey is the partition key of a stream entry's event ("" if undecodable).
func peekKey(v map[string]any) string {
	raw, _ := v[EventField].(string)
	var e connectors.Event
	if json.Unmarshal([]byte(raw), &e) != nil {
		return ""
	}
	return PartitionKey(&e)
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
// Events of several partitions cost one script call per partition.
func (in *Intake) Put(ctx context.Context, events []connectors.Event) error {
	if len(events) == 0 {
		return nil
	}
	byPart := map[int][]int{}
	var order []int
	for i := range events {
		e := &events[i]
		if e.ReceivedAt.IsZero() {
			e.ReceivedAt = time.Now()
		}
		p := in.partitionOf(PartitionKey(e))
		if _, ok := byPart[p]; !ok {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], i)
	}
	for _, p := range order {
		if err := in.put(ctx, in.parts[p], events, byPart[p]); err != nil {
			return err
		}
	}
	return nil
}

// put appends events[idx] to one partition.
func (in *Intake) put(ctx context.Context, part partition, events []connectors.Event, idx []int) error {
	keys := make([]string, 0, len(idx)+1)
	args := make([]any, 0, len(idx)+1)
	keys = append(keys, part.stream)
	args = append(args, in.o.DedupTTL.Milliseconds())
	for _, i := range idx {
		e := &events[i]
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encoding event: %w", err)
		}
		if e.ID != "" {
			keys = append(keys, part.dedup+e.Channel+":"+e.ID)
		} else {
			keys = append(keys, part.stream)
		}
		args = append(args, b)
	}
	res, err := in.append(ctx, keys, args)
	if err != nil {
		return fmt.Errorf("intake append: %w", err)
	}
	for j, id := range res {
		e := events[idx[j]]
		if id == "" {
			in.o.Metrics.Duplicate.WithLabelValues(e.Channel, string(e.Kind)).Inc()
		} else {
			in.o.Metrics.Received.WithLabelValues(e.Channel, string(e.Kind)).Inc()
		}
	}
	return nil
}

// append runs the put script; with a Durability, on the stream's primary
// followed by WAIT (the script by its SHA, and again with its source after
// NOSCRIPT: a script that was not known ran nothing).
func (in *Intake) append(ctx context.Context, keys []string, args []any) ([]string, error) {
	if in.o.Durability.Replicas == 0 {
		return putScript.Run(ctx, in.rdb, keys, args...).StringSlice()
	}
	var put *redis.Cmd
	for _, bySHA := range []bool{true, false} {
		err := store.Replicated(ctx, in.rdb, keys[0], in.o.Durability, func(p redis.Pipeliner) {
			if bySHA {
				put = putScript.EvalSha(ctx, p, keys, args...)
			} else {
				put = putScript.Eval(ctx, p, keys, args...)
			}
		})
		if perr := put.Err(); bySHA && redis.HasErrorPrefix(perr, "NOSCRIPT") {
			continue
		}
		if perr := put.Err(); perr != nil {
			return nil, perr
		}
		if err != nil {
			return nil, err
		}
		break
	}
	return put.StringSlice()
}

// Handler processes a batch of events (what one read of the stream
// returned) and says, per event, how it went: a nil error acknowledges the
// event; an error leaves it for a retry (up to MaxAttempts, then the
// dead-letter stream). It must return one error slot per event.
type Handler func(ctx context.Context, events []connectors.Event) []error

// Run starts the workers and the reclaimer and blocks until ctx ends. An
// event being handled when ctx ends is not acknowledged: it is handled
// again after a restart (handlers are idempotent). The consumer loop is
// sync/stream's; see its contract.
func (in *Intake) Run(ctx context.Context, h Handler) error {
	return in.c.Run(ctx, func(ctx context.Context, msgs []stream.Message) []error {
		errs := make([]error, len(msgs))
		events := make([]connectors.Event, 0, len(msgs))
		idx := make([]int, 0, len(msgs))
		for i, m := range msgs {
			var e connectors.Event
			if err := json.Unmarshal([]byte(m.Field(EventField)), &e); err != nil {
				errs[i] = stream.Refuse(fmt.Sprintf("undecodable event: %v", err))
				continue
			}
			events = append(events, e)
			idx = append(idx, i)
		}
		if len(events) == 0 {
			return errs
		}
		if in.o.Coalesce {
			in.forget(ctx, events)
		}
		res := h(ctx, events)
		if len(res) != len(events) {
			panic(fmt.Sprintf("intake: handler returned %d results for %d events", len(res), len(events)))
		}
		for j, err := range res {
			errs[idx[j]] = err
			if e := events[j]; err == nil && !e.ReceivedAt.IsZero() {
				in.o.Metrics.Lag.Observe(time.Since(e.ReceivedAt).Seconds())
			}
		}
		return errs
	})
}

// forget deletes the delivery ids of events about to be handled (Coalesce).
// If it fails, the ids expire with DedupTTL: a later delivery of one of
// them meanwhile is dropped as waiting, which Coalesce queues are built to
// bear (the channel's polls catch what it said).
func (in *Intake) forget(ctx context.Context, events []connectors.Event) {
	keys := make([]string, 0, len(events))
	for i := range events {
		if e := &events[i]; e.ID != "" {
			keys = append(keys, in.parts[in.partitionOf(PartitionKey(e))].dedup+e.Channel+":"+e.ID)
		}
	}
	if len(keys) == 0 {
		return
	}
	// One DEL per key: on a Cluster the keys of several partitions are in
	// several slots.
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
// error as its reason, never retried and never dropped silently. It is
// stream.ErrRefused.
var ErrRefused = stream.ErrRefused

// Refuse wraps why an event can never apply (see ErrRefused).
func Refuse(why string) error { return stream.Refuse(why) }

// failedHook counts a failed attempt that will be retried, by the event's
// channel and kind.
func (in *Intake) failedHook(m stream.Message, _ error, _ int64) {
	e := peek(m)
	in.o.Metrics.Failures.WithLabelValues(e.Channel, string(e.Kind)).Inc()
}

// logFields names an event's channel and kind in the consumer's log lines.
func logFields(ev *zerolog.Event, m stream.Message) {
	e := peek(m)
	ev.Str("channel", e.Channel).Str("kind", string(e.Kind))
}

// peek decodes an event's channel and kind (zero if undecodable).
func peek(m stream.Message) (e struct {
	Channel string
	Kind    connectors.EventKind
}) {
	_ = json.Unmarshal([]byte(m.Field(EventField)), &e)
	return e
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

// DeadLetters lists up to n dead-lettered events, newest first, of every
// partition (ids as stream.Set gives them).
func (in *Intake) DeadLetters(ctx context.Context, n int64) ([]DeadLetter, error) {
	dls, err := in.c.DeadLetters(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dls))
	for _, dl := range dls {
		d := DeadLetter{ID: dl.ID, EventID: dl.MessageID, Reason: dl.Reason, Attempts: dl.Attempts, At: dl.At}
		raw := dl.Values[EventField]
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

// ErrNoDeadLetter: no dead letter with that id. It is stream.ErrNoDeadLetter.
var ErrNoDeadLetter = stream.ErrNoDeadLetter

// Replay moves a dead letter back onto its partition's stream, for another try.
func (in *Intake) Replay(ctx context.Context, deadID string) (string, error) {
	return in.c.Replay(ctx, deadID)
}

// EventField is the stream entry field that holds an event's JSON.
const EventField = "e"

// Stream is the first partition's stream key (with one partition, the
// intake stream's).
func (in *Intake) Stream() string { return in.parts[0].stream }

// Streams are every partition's stream key.
func (in *Intake) Streams() []string { return in.c.Streams() }

// Backlog is the number of events on the streams (every partition, and the
// single stream of before while it is drained) not yet acknowledged and
// deleted (waiting or in progress).
func (in *Intake) Backlog(ctx context.Context) (int64, error) {
	n, err := in.c.Backlog(ctx)
	if err != nil {
		return 0, fmt.Errorf("intake backlog: %w", err)
	}
	return n, nil
}
