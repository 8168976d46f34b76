// Package downstream hands every applied order, in the canonical model, to
// the systems behind the shop (ERP, WMS, accounting): onto a Redis Stream
// that they read with their own consumer group, and, if configured, as a
// signed HTTP POST to a URL.
//
// Delivery is at least once. Each message carries a delivery id
// (channel:order_id:version) that is the same for every delivery of the
// same order version, so a consumer de-duplicates by it. An order version
// is published once: a repeat of a version already published (a duplicate
// webhook, a reprocessed event after a crash) is not published again, and
// an older version arriving late is not published at all.
//
// The HTTP forwarder reads the stream with sync/stream's consumer (group
// "webhook"): a receiver that is down is retried for ever, in order; a
// delivery the receiver keeps refusing (400, 409, 413, 422) is
// dead-lettered after 8 attempts to <stream>:webhook:dead, and the
// deliveries after it are not held up; a lost group (Redis flushed or
// failed over) is made again and delivery goes on. See Forwarder.
package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/store"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// Message is what consumers receive: on the stream, the fields of an
// entry; over HTTP, the JSON body.
type Message struct {
	DeliveryID string            `json:"delivery_id"`
	Order      *connectors.Order `json:"order"`
}

// DeliveryID identifies one state of one order: its version and how far
// along its lines are (Progress).
func DeliveryID(o *connectors.Order) string { return deliveryID(o, Progress(o)) }

// deliveryID is DeliveryID of an order whose Progress is known, built in
// one allocation (the string; the buffer is on the stack unless the ids
// are long).
func deliveryID(o *connectors.Order, progress int64) string {
	var buf [128]byte
	b := buf[:0]
	b = append(append(append(b, o.Channel...), ':'), o.OrderID...)
	b = strconv.AppendInt(append(b, ':'), o.UpdatedAt.UnixMilli(), 10)
	b = strconv.AppendInt(append(b, ':'), progress, 10)
	return string(b)
}

// Progress is the units of an order's lines ordered, shipped, cancelled
// or returned so far. Every one of those figures only grows over an
// order's life, so two states of one version (a channel whose versions
// are whole seconds) are told apart by it, as the ledger tells them apart:
// the one further along is the later.
func Progress(o *connectors.Order) int64 {
	var n int64
	for _, l := range o.Lines {
		n += l.Quantity + l.Shipped + l.Cancelled + l.Returned
	}
	return n
}

// Publisher appends orders to the downstream stream, or to its partitions.
type Publisher struct {
	rdb       redis.UniversalClient
	streams   []string // a partition's version keys are its stream + ":v:"
	legacy    string   // the single stream of before partitions, "" with one
	maxLen    int64
	ttl       time.Duration
	published prometheus.Counter
}

// StreamKey is the Redis key of the downstream stream for a prefix and a
// stream name: prefix + "{" + name + "}" (the braces keep the stream and
// its version records in one Cluster slot).
func StreamKey(prefix, name string) string { return prefix + "{" + name + "}" }

// StreamKeys are the keys of the downstream stream's partitions: with one,
// StreamKey(prefix, name); with n, StreamKey(prefix, tag) for each of
// stream.PartitionTags(name, n) (name + ":<i>.<j>", spread evenly over a
// Redis Cluster's slots). A consumer reads every one of them.
func StreamKeys(prefix, name string, n int) []string {
	tags := stream.PartitionTags(name, n)
	out := make([]string, len(tags))
	for i, tag := range tags {
		out[i] = StreamKey(prefix, tag)
	}
	return out
}

// NewPublisher builds a Publisher of one stream. ttl is how long published
// versions are remembered (longer than any redelivery window). No I/O.
func NewPublisher(rdb redis.UniversalClient, prefix, stream string, maxLen int64, ttl time.Duration, reg prometheus.Registerer) *Publisher {
	return NewPartitionedPublisher(rdb, prefix, stream, 1, maxLen, ttl, reg)
}

// NewPartitionedPublisher is NewPublisher over partitions streams
// (StreamKeys): an order goes to the partition of its channel and order
// id, so one order's states stay in one stream, in order; a stock signal
// to its SKU's. maxLen caps each partition. No I/O.
func NewPartitionedPublisher(rdb redis.UniversalClient, prefix, name string, partitions int, maxLen int64, ttl time.Duration, reg prometheus.Registerer) *Publisher {
	p := &Publisher{
		rdb: rdb, streams: StreamKeys(prefix, name, partitions),
		maxLen: maxLen, ttl: ttl,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_downstream_published_total",
			Help: "Order versions published to the downstream stream.",
		}),
	}
	if reg != nil {
		reg.MustRegister(p.published)
	}
	if partitions > 1 {
		p.legacy = StreamKey(prefix, name)
	}
	return p
}

// Stream is the first partition's key (with one partition, the stream's).
func (p *Publisher) Stream() string { return p.streams[0] }

// Streams are every partition's key, in partition order.
func (p *Publisher) Streams() []string { return p.streams }

// Legacy is the single stream the partitions replaced ("" with one
// partition): consumers read what is left on it.
func (p *Publisher) Legacy() string { return p.legacy }

// orderStream is the partition stream of an order.
func (p *Publisher) orderStream(channel, orderID string) string {
	return p.streams[stream.PartitionOf(channel+"\x00"+orderID, len(p.streams))]
}

// versionKey is where an order's last published version is kept, beside
// its partition's stream.
func (p *Publisher) versionKey(channel, orderID string) string {
	return p.orderStream(channel, orderID) + ":v:" + channel + ":" + orderID
}

// publishScript: KEYS = stream, version key; ARGV = version, ttl_ms,
// maxlen, delivery id, channel, order id, order json, progress. Publishes
// only a version newer than the last one published, or the same version
// further along. The version key holds "version:progress" (a bare version,
// as written before progress was kept, counts as that version at its end).
var publishScript = redis.NewScript(`
local last = redis.call('GET', KEYS[2])
if last then
  local lv, lp = string.match(last, '^(%d+):(%d+)$')
  if not lv then lv, lp = last, nil end
  local v, p = tonumber(ARGV[1]), tonumber(ARGV[8])
  lv = tonumber(lv)
  if lv > v then return 0 end
  if lv == v and (lp == nil or tonumber(lp) >= p) then return 0 end
end
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[8], 'PX', ARGV[2])
local maxlen = tonumber(ARGV[3])
if maxlen > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'delivery_id', ARGV[4], 'channel', ARGV[5], 'order_id', ARGV[6], 'order', ARGV[7])
else
  redis.call('XADD', KEYS[1], '*', 'delivery_id', ARGV[4], 'channel', ARGV[5], 'order_id', ARGV[6], 'order', ARGV[7])
end
return 1`)

// Publish appends the order unless this or a newer version of it was
// published already. It reports whether it published.
func (p *Publisher) Publish(ctx context.Context, o *connectors.Order) (bool, error) {
	done, err := p.PublishMany(ctx, []*connectors.Order{o})
	if err != nil {
		return false, err
	}
	return done[0], nil
}

// Handled reports, per order, whether this state of it (or a later one)
// was published already: ingest publishes an order only after the ledger
// applied it, so such a state needs no new look (a poll's overlap window
// re-reads it). One round trip.
func (p *Publisher) Handled(ctx context.Context, orders []*connectors.Order) ([]bool, error) {
	cmds := make([]*redis.StringCmd, len(orders))
	pipe := p.rdb.Pipeline()
	for i, o := range orders {
		cmds[i] = pipe.Get(ctx, p.versionKey(o.Channel, o.OrderID))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading published order versions: %w", err)
	}
	out := make([]bool, len(orders))
	for i, o := range orders {
		last, err := cmds[i].Result()
		if err != nil {
			continue
		}
		lv, lp, hasP := strings.Cut(last, ":")
		v, err := strconv.ParseInt(lv, 10, 64)
		if err != nil {
			continue
		}
		switch ver := o.UpdatedAt.UnixMilli(); {
		case v > ver:
			out[i] = true
		case v == ver:
			pr, err := strconv.ParseInt(lp, 10, 64)
			out[i] = !hasP || (err == nil && pr >= Progress(o))
		}
	}
	return out, nil
}

// PublishMany is Publish of several orders in one round trip; each order
// is still one atomic script.
func (p *Publisher) PublishMany(ctx context.Context, orders []*connectors.Order) ([]bool, error) {
	b, err := p.Prepare(orders)
	if err != nil {
		return nil, err
	}
	return b.Run(ctx)
}

// Batch is a PublishMany made ready: its orders encoded, to be queued in a
// pipeline the caller sends anyway (Queue, then Result) or sent in one of
// its own (Run).
type Batch struct {
	p      *Publisher
	orders []*connectors.Order
	calls  []store.ScriptCall // one publishScript run per order
	cmds   []*redis.Cmd
}

// Prepare encodes orders for publishing. No I/O.
func (p *Publisher) Prepare(orders []*connectors.Order) (*Batch, error) {
	// One backing array each for the keys and arguments of every order,
	// and the arguments common to all boxed once.
	b := &Batch{p: p, orders: orders, calls: make([]store.ScriptCall, len(orders))}
	keys, args := make([]string, 2*len(orders)), make([]any, 8*len(orders))
	ttl, maxLen := any(p.ttl.Milliseconds()), any(p.maxLen)
	for i, o := range orders {
		enc, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("encoding order: %w", err)
		}
		k, a := keys[2*i:2*i+2:2*i+2], args[8*i:8*i+8:8*i+8]
		k[0] = p.orderStream(o.Channel, o.OrderID)
		k[1] = k[0] + ":v:" + o.Channel + ":" + o.OrderID // versionKey
		progress := Progress(o)
		a[0], a[1], a[2], a[3] = o.UpdatedAt.UnixMilli(), ttl, maxLen, deliveryID(o, progress)
		a[4], a[5], a[6], a[7] = o.Channel, o.OrderID, enc, progress
		b.calls[i] = store.ScriptCall{Keys: k, Args: a}
	}
	return b, nil
}

// Queue queues the batch's publish scripts (by SHA) in pipe; Result reads
// their replies once pipe has run.
func (b *Batch) Queue(ctx context.Context, pipe redis.Pipeliner) {
	b.cmds = store.QueueEach(ctx, pipe, publishScript, b.calls)
}

// Run publishes the batch in one round trip of its own.
func (b *Batch) Run(ctx context.Context) ([]bool, error) {
	b.cmds = store.RunEach(ctx, b.p.rdb, publishScript, b.calls)
	return b.published()
}

// Result reports, per order, whether it was published (false: this or a
// newer state was already), once the pipeline Queue filled has run. An
// order whose script was not in Redis's cache (a restart flushed it) is
// published again, loading it.
func (b *Batch) Result(ctx context.Context) ([]bool, error) {
	b.cmds = store.Reloaded(ctx, b.p.rdb, publishScript, b.calls, b.cmds)
	return b.published()
}

// published reads the replies of the batch's runs.
func (b *Batch) published() ([]bool, error) {
	out := make([]bool, len(b.orders))
	for i, c := range b.cmds {
		n, err := c.Int()
		if err != nil {
			return nil, fmt.Errorf("publishing order %s/%s downstream: %w", b.orders[i].Channel, b.orders[i].OrderID, err)
		}
		if n == 1 {
			b.p.published.Inc()
		}
		out[i] = n == 1
	}
	return out, nil
}
