// Package outbox is each channel's durable list of quantities to push: per
// SKU the latest wanted quantity (later values overwrite earlier ones, so
// ten sales in a second cost one push), and two queues ordered by when an
// item is due: urgent (drops to zero and decreases, which close an oversell
// window) and normal (increases). It also records the last quantity the
// channel accepted or reported per SKU, so an unchanged value is never
// pushed again, and parks items that keep failing.
//
// A channel's outbox is one or more partitions (redis.outbox_partitions),
// each item key in one by its SKU; all of one partition's keys share a
// hash tag, and every operation on an item is one Lua script on its
// partition, so the outbox is consistent whatever crashes and runs
// unchanged on Redis Cluster, its work spread over the primaries. The
// outbox decides nothing about stock: it only remembers.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/store"
	"github.com/shelfsync/shelfsync/sync/stream"
)

// Outbox is one channel's outbox, in one or more partitions: each
// partition is a full outbox of its own (its keys share one hash tag), and
// every item key (a SKU, or a listing at a location) lives in one
// partition, chosen by its SKU. So on a Redis Cluster one channel's outbox
// work spreads over the primaries as the ledger's does, and every
// operation on one item is still one script on one slot.
type Outbox struct {
	rdb     redis.UniversalClient
	channel string
	parts   []part
	// lease is the channel's push lease (in the hash tag the outbox had
	// before partitions, {outbox:<channel>}); with one partition it is also
	// the partition's fence.
	lease string
	// legacy is the single outbox of before partitions (nil with one
	// partition: then it is partition 0): Migrate moves what it still
	// holds into the partitions.
	legacy *part
	rot    atomic.Uint32 // where Due starts sharing a batch among partitions
	prefix string
	// from are the partition counts of the layouts Migrate empties into
	// this one (see Relayout); with several partitions, 1 at least.
	fromMu sync.Mutex
	from   []int
	// intents, when set, marks the SKUs Migrate found queued in two
	// layouts with different wants for a push from the ledger.
	intents Intents
	// afterPeek, when set, runs in Poll between counting what each
	// partition has due and taking it (tests: what changes meanwhile).
	afterPeek func()
}

// part is one partition: its keys, in the order of the k* constants.
type part struct {
	keys []string // want, accepted, urgent, normal, since, attempts, parked, reasons, taken, next, attempt, lease, held
}

// Key indexes into part.keys (and KEYS in the scripts).
const (
	kWant = iota
	kAccepted
	kUrgent
	kNormal
	kSince
	kAttempts
	kParked
	kReasons
	kTaken
	kNext
	kAttempt
	kLease // the partition's fence: the push lease's value while it is held
	kHeld
)

var keyNames = []string{"want", "accepted", "urgent", "normal", "since", "attempts", "parked", "reasons", "taken", "next", "attempt", "lease", "held"}

func newPart(tag string) part {
	keys := make([]string, len(keyNames))
	for i, n := range keyNames {
		keys[i] = tag + n
	}
	return part{keys: keys}
}

// New returns channel's outbox under prefix, in one partition (the keys
// of before partitions). No I/O.
func New(rdb redis.UniversalClient, prefix, channel string) *Outbox {
	return NewPartitioned(rdb, prefix, channel, 1)
}

// NewPartitioned returns channel's outbox under prefix in n partitions
// (redis.outbox_partitions; n < 1 is 1). Partition i's hash tag is
// {outbox:<channel>:<i>.<j>}, placed in the i-th of n equal slot ranges
// (stream.PartitionTags), so with n a multiple of a Cluster's primaries
// each holds as many of every channel's partitions. One partition is the
// outbox of before partitions, {outbox:<channel>}. No I/O.
func NewPartitioned(rdb redis.UniversalClient, prefix, channel string, n int) *Outbox {
	n = max(n, 1)
	base := "outbox:" + channel
	o := &Outbox{rdb: rdb, channel: channel, lease: prefix + "{" + base + "}:lease", prefix: prefix}
	if n == 1 {
		o.parts = []part{newPart(prefix + "{" + base + "}:")}
		return o
	}
	for _, tag := range stream.PartitionTags(base, n) {
		o.parts = append(o.parts, newPart(prefix+"{"+tag+"}:"))
	}
	legacy := newPart(prefix + "{" + base + "}:")
	o.legacy = &legacy
	o.from = []int{1}
	return o
}

// Partitions is how many partitions the outbox has.
func (o *Outbox) Partitions() int { return len(o.parts) }

// partOf is the partition of an item key: by its SKU (a listing's
// locations stay together), FNV-1a as the streams partition.
func (o *Outbox) partOf(key string) int {
	if len(o.parts) == 1 {
		return 0
	}
	sku, _, _ := SplitLocationKey(key)
	return stream.PartitionOf(sku, len(o.parts))
}

// Channel is the channel's name.
func (o *Outbox) Channel() string { return o.channel }

// StarveAfter is how long an increase may wait behind urgent items (drops
// and decreases, which close oversell windows) before it takes up to a
// quarter of a batch ahead of them.
const StarveAfter = 30 * time.Second

// LeaseKey is where the channel's push lease lives: in the outbox's hash
// tag of before partitions, so with one partition Complete checks it
// (fencing) in the same script on a Redis Cluster.
func (o *Outbox) LeaseKey() string { return o.lease }

// LeaseKeys are the keys the pusher holds, all with one value (see
// lease.Manager.HoldKeys): the push lease, then with several partitions
// each partition's fence, which Complete checks in that partition's
// script. A pusher holds them all or none, so one pusher per channel
// records outcomes, in every partition, and one that lost any records
// nothing there.
func (o *Outbox) LeaseKeys() []string {
	if len(o.parts) == 1 {
		return []string{o.lease}
	}
	out := []string{o.lease}
	for _, p := range o.parts {
		out = append(out, p.keys[kLease])
	}
	return out
}

// FenceKey is the fence Complete checks for key's item (tests, tools).
func (o *Outbox) FenceKey(key string) string { return o.parts[o.partOf(key)].keys[kLease] }

// Want is a quantity to list.
type Want struct {
	SKU      string
	Quantity int64
	// Cause is when the change that led here arrived (for the sale-to-push
	// latency); zero means now.
	Cause time.Time
	// Force queues the item even if the channel already accepted this value
	// (reconciliation found the channel differs) and un-parks it.
	Force bool
	// Echo is how many units the channel itself took off its listing since
	// (a sale on that channel): the figure the next push compares from is
	// lowered by as much, and the item is queued even if that equals
	// Quantity (the figure may already have held the sale). Only for
	// compare-and-set channels (connectors.SaleEchoer), where a wrong
	// figure costs a stale compare and nothing else.
	Echo int64
}

// enqueueScript: ARGV = now_ms, nonce, then per item sku, qty, cause_ms,
// force, echo. Returns the number of items queued (the rest were
// unchanged). An item queued with a value other than the one it waited
// with, or forced, or after an echo, is a new intended write: it gets a new
// attempt id (nonce:index, unique since the nonce is random per call); one
// queued again with the value it has keeps its attempt.
//
// This runs for every listing of every changed SKU on every channel, so
// each item reads what it needs once: its queue scores (read for "is it
// queued" and reused for where it goes and from when it is due), its
// parked value (one HGET answers "parked?" and "parked with which
// value?"), and that only when the partition has parked items at all, as
// "is it on the wire?" only when a push is. It relies on what every
// script here keeps true: an item is in at most one of the two queues
// (whatever adds it to one removes it from the other, or adds it only
// where it already is).
var enqueueScript = redis.NewScript(`
local now, nonce = tonumber(ARGV[1]), ARGV[2]
local call = redis.call
local queued = 0
-- Parked items and pushes on the wire are few: when the partition has
-- none (this script adds neither), no item asks.
local anyParked = call('HLEN', KEYS[7]) > 0
local anyTaken = call('HLEN', KEYS[9]) > 0
for i = 3, #ARGV, 5 do
  local sku, qs, cause, force, echo = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2]), ARGV[i+3] == '1', tonumber(ARGV[i+4])
  local qty = tonumber(qs)
  local acc = call('HGET', KEYS[2], sku)
  if acc and echo > 0 then
    acc = tostring(tonumber(acc) - echo)
    call('HSET', KEYS[2], sku, acc)
  end
  local pq = false
  if anyParked then pq = call('HGET', KEYS[7], sku) end
  local parked = pq ~= false
  -- A parked item comes back when forced (reconcile) or when a different
  -- value is wanted: the channel may take that one.
  if parked and (force or pq ~= qs) then
    call('HDEL', KEYS[7], sku)
    call('HDEL', KEYS[8], sku)
    call('HDEL', KEYS[6], sku)
    parked = false
  end
  local su, sn = call('ZSCORE', KEYS[3], sku), false
  if not su then sn = call('ZSCORE', KEYS[4], sku) end
  local queued_now = su or sn
  -- After the channel's own sale (echo) the item is always queued: the
  -- lowered figure is only what the push compares from. Whether the channel
  -- already shows the sale is not known here (a push or a reconcile read
  -- may have recorded a figure that has it), so skipping would risk
  -- leaving the channel a sale too high; a compare-and-set push of an
  -- equal value costs one call and proves it.
  if not force and not queued_now and acc and tonumber(acc) == qty and echo == 0 then
    -- The channel has this value already and no push is queued (or in
    -- flight): nothing to do. A queued item is never dropped here: its
    -- push may be on the wire with an older value, and the channel must
    -- end with this one.
  elseif parked then
    call('HSET', KEYS[1], sku, qty)
  else
    local attempt = nonce .. ':' .. i
    if force or echo > 0 or call('HGET', KEYS[1], sku) ~= qs then
      call('HSET', KEYS[11], sku, attempt)
    else
      call('HSETNX', KEYS[11], sku, attempt)
    end
    call('HSET', KEYS[1], sku, qty)
    local urgent = qty == 0 or (acc ~= false and qty < tonumber(acc))
    -- into: the queue it goes to, and its score there now (false: not in
    -- it); out: the other queue's score, which it leaves.
    local into, score, other, out = KEYS[4], sn, KEYS[3], su
    if urgent then into, score, other, out = KEYS[3], su, KEYS[4], sn end
    local due = now
    if queued_now then due = math.min(tonumber(queued_now), now) end
    if out then call('ZREM', other, sku) end
    if not (score and tonumber(score) == due) then call('ZADD', into, due, sku) end
    call('ZADD', KEYS[5], 'NX', cause, sku)
    -- A push of this SKU is on the wire with an older value: this is the
    -- first change it does not carry (see completeScript).
    if anyTaken and call('HEXISTS', KEYS[9], sku) == 1 then
      call('ZADD', KEYS[10], 'NX', cause, sku)
    end
    queued = queued + 1
  end
end
return queued`)

// Enqueue records the wanted quantities. Returns how many were queued for a
// push (an item equal to what the channel accepted last is not).
func (o *Outbox) Enqueue(ctx context.Context, wants []Want) (int, error) {
	n, err := EnqueueAll(ctx, o.rdb, []Batch{{Outbox: o, Wants: wants}})
	if err != nil {
		return 0, err
	}
	return n[0], nil
}

// Batch is one outbox's share of an EnqueueAll.
type Batch struct {
	Outbox *Outbox
	Wants  []Want
}

// EnqueueAll records the wanted quantities of several outboxes (one per
// channel) in one round trip, and returns how many items each queued. Each
// outbox partition's write is still one atomic script.
func EnqueueAll(ctx context.Context, rdb redis.UniversalClient, batches []Batch) ([]int, error) {
	now := time.Now()
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, fmt.Errorf("outbox enqueue: attempt nonce: %w", err)
	}
	nonce := hex.EncodeToString(nb[:])
	var calls []store.ScriptCall
	var owner []int // the batch of each call
	// Boxed once, not per partition.
	nowArg, nonceArg := any(now.UnixMilli()), any(nonce)
	causes := causeArgs{now: nowArg}
	for i, b := range batches {
		byPart := map[int][]any{}
		var order []int
		for _, w := range b.Wants {
			p := b.Outbox.partOf(w.SKU)
			if byPart[p] == nil {
				byPart[p] = append(make([]any, 0, 2+5*len(b.Wants)), nowArg, nonceArg)
				order = append(order, p)
			}
			byPart[p] = appendWantArgs(byPart[p], w, &causes)
		}
		for _, p := range order {
			calls = append(calls, store.ScriptCall{Keys: b.Outbox.parts[p].keys, Args: byPart[p]})
			owner = append(owner, i)
		}
	}
	out := make([]int, len(batches))
	if len(calls) == 0 {
		return out, nil
	}
	for j, cmd := range store.RunEach(ctx, rdb, enqueueScript, calls) {
		n, err := cmd.Int()
		if err != nil {
			return nil, fmt.Errorf("outbox %s enqueue: %w", batches[owner[j]].Outbox.channel, err)
		}
		out[owner[j]] += n
	}
	return out, nil
}

// causeArgs boxes the causes of an EnqueueAll's wants: now (for wants
// without one) and the last cause seen, which the wants of one
// propagation share, so each is boxed once, not once per want.
type causeArgs struct {
	now  any
	last time.Time
	arg  any
}

func (c *causeArgs) of(cause time.Time) any {
	switch {
	case cause.IsZero():
		return c.now
	case c.arg == nil || !cause.Equal(c.last):
		c.last, c.arg = cause, cause.UnixMilli()
	}
	return c.arg
}

// appendWantArgs appends w's arguments to enqueueScript to dst; a want
// without a cause has now's. Appended, not returned as a slice of their
// own, the force flag a constant and a shared cause boxed once: no
// allocation per want beyond boxing its SKU and quantity.
func appendWantArgs(dst []any, w Want, causes *causeArgs) []any {
	force := any("0")
	if w.Force {
		force = "1"
	}
	return append(dst, w.SKU, w.Quantity, causes.of(w.Cause), force, max(w.Echo, 0))
}

// Item is a queued push.
type Item struct {
	SKU      string
	Quantity int64
	// Previous is the quantity the channel last accepted or reported; nil when unknown.
	Previous *int64
	Attempts int64
	Cause    time.Time
	// Attempt identifies the intended write (connectors.QuantityUpdate.Attempt):
	// the same across retries of one wanted value, new for a new value or a
	// forced correction.
	Attempt string
	// Due is when the item fell due: for a value not tried yet, when it
	// was queued (by the enqueuer's clock; a value that replaced one still
	// queued keeps the earlier time), for a retry its retry time.
	Due time.Time
	// Urgent: taken from the urgent queue (a drop to zero or a decrease
	// of what the channel accepted last: it closes an oversell).
	Urgent bool
}

// Enqueue identifies the Enqueue (or EnqueueAll) call that queued the
// item's value: the same for every item of one call, in whatever
// partition, and random per call, so it compares no clocks; "" when
// unknown.
func (it Item) Enqueue() string {
	if i := strings.LastIndexByte(it.Attempt, ':'); i > 0 {
		return it.Attempt[:i]
	}
	return ""
}

// Outcome of one pushed item, as Complete records it.
type Outcome struct {
	SKU      string
	Quantity int64 // the quantity that was pushed
	// Accepted: the channel lists Quantity now.
	Accepted bool
	// Reported is what the channel says it holds (stale compare), if known.
	Reported *int64
	// RetryAt: not accepted; try again at this time (zero: park instead).
	RetryAt time.Time
	// Park: give up on the item until it is forced again; Reason says why.
	Park   bool
	Reason string
	// Stale: the channel refused a compare-and-set because it moved; the
	// retry at RetryAt does not count as a failed attempt.
	Stale bool
	// Held: nothing was written (shadow mode); the item leaves the due
	// queues but stays wanted, held until Release (live mode again) or a
	// new value, which queues it as usual.
	Held bool
}

// completeScript: ARGV = the push lease's value (” for no check; KEYS[12]
// is the partition's fence), then per
// item: sku, qty, kind (a=accepted, r=retry, p=park, s=stale, h=held), reported|”,
// retry_ms, reason. Returns, per accepted item, its cause (ms), or ” when
// it is not known which changes the pushed value carried. Every outcome
// ends the item's flight (taken, next). A pusher that no longer holds the
// lease records nothing (error FENCED): its items stay queued for the
// holder, who pushes them again.
var completeScript = redis.NewScript(`
if ARGV[1] ~= '' and redis.call('GET', KEYS[12]) ~= ARGV[1] then
  return redis.error_reply('FENCED the push lease is held by another pusher')
end
local out = {}
for i = 2, #ARGV, 6 do
  local sku, qty, kind, reported, retry, reason = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], tonumber(ARGV[i+4]), ARGV[i+5]
  local nextc = redis.call('ZSCORE', KEYS[10], sku)
  redis.call('HDEL', KEYS[9], sku)
  redis.call('ZREM', KEYS[10], sku)
  if kind == 'h' then
    -- Shadow: held while the want is the value recorded; a newer want
    -- stays queued (it is recorded next).
    if redis.call('HGET', KEYS[1], sku) == qty then
      local due = redis.call('ZSCORE', KEYS[3], sku) or redis.call('ZSCORE', KEYS[4], sku) or ARGV[i+4]
      redis.call('ZREM', KEYS[3], sku)
      redis.call('ZREM', KEYS[4], sku)
      redis.call('ZADD', KEYS[13], due, sku)
    end
    out[#out+1] = ''
  elseif kind == 'a' then
    redis.call('HSET', KEYS[2], sku, qty)
    local cause = redis.call('ZSCORE', KEYS[5], sku) or ''
    if redis.call('HGET', KEYS[1], sku) == qty then
      redis.call('HDEL', KEYS[1], sku)
      redis.call('ZREM', KEYS[3], sku)
      redis.call('ZREM', KEYS[4], sku)
      redis.call('ZREM', KEYS[5], sku)
      redis.call('HDEL', KEYS[6], sku)
      redis.call('HDEL', KEYS[11], sku)
      out[#out+1] = cause
    elseif nextc then
      -- A newer want came while the push was on the wire: the accepted
      -- value carried every change up to then (its latency ends now), and
      -- the item waits on from the first change it did not carry.
      redis.call('ZADD', KEYS[5], nextc, sku)
      out[#out+1] = cause
    else
      out[#out+1] = ''
    end
  else
    if reported ~= '' then redis.call('HSET', KEYS[2], sku, reported) end
    if kind == 'p' then
      redis.call('ZREM', KEYS[3], sku)
      redis.call('ZREM', KEYS[4], sku)
      redis.call('ZREM', KEYS[5], sku)
      redis.call('HSET', KEYS[7], sku, qty)
      redis.call('HSET', KEYS[8], sku, reason)
      redis.call('HDEL', KEYS[11], sku)
    else
      if kind == 'r' then redis.call('HINCRBY', KEYS[6], sku, 1) end
      redis.call('HSET', KEYS[8], sku, reason)
      for _, k in ipairs({KEYS[3], KEYS[4]}) do
        if redis.call('ZSCORE', k, sku) then redis.call('ZADD', k, retry, sku) end
      end
    end
    out[#out+1] = ''
  end
end
return out`)

// ErrFenced: the pusher recording outcomes no longer holds the channel's
// push lease (a partition's fence); nothing was recorded in that
// partition.
var ErrFenced = errors.New("push lease lost: outcomes not recorded")

// Complete records the outcomes of a push. For each accepted item it
// returns the cause time of the oldest change the pushed value carried
// (for the latency metric); zero times for the rest. An item whose want
// changed while it was on the wire stays queued, waiting from the first
// change after its value was taken (Due), not from the one just pushed.
// fence is the value of the push lease the caller holds (LeaseKeys):
// each partition's outcomes are one script that first checks the
// partition's fence; where it holds another value, nothing is recorded
// there and ErrFenced is returned (the other partitions' outcomes, whose
// fence the caller still holds, are recorded). "" records without the
// check (tests, tools).
func (o *Outbox) Complete(ctx context.Context, fence string, outcomes []Outcome) ([]time.Time, error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	byPart := map[int][]int{} // partition → indexes into outcomes
	var order []int
	for i, oc := range outcomes {
		p := o.partOf(oc.SKU)
		if byPart[p] == nil {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], i)
	}
	calls := make([]store.ScriptCall, len(order))
	for j, p := range order {
		args := make([]any, 0, 1+6*len(byPart[p]))
		args = append(args, fence)
		for _, i := range byPart[p] {
			args = append(args, outcomeArgs(outcomes[i])...)
		}
		calls[j] = store.ScriptCall{Keys: o.parts[p].keys, Args: args}
	}
	causes := make([]time.Time, len(outcomes))
	var fenced, failed error
	for j, cmd := range store.RunEach(ctx, o.rdb, completeScript, calls) {
		res, err := cmd.StringSlice()
		switch {
		case redis.HasErrorPrefix(err, "FENCED"):
			fenced = fmt.Errorf("outbox %s complete: %w", o.channel, ErrFenced)
		case err != nil:
			failed = fmt.Errorf("outbox %s complete: %w", o.channel, err)
		}
		for k, r := range res {
			if at, ok := msTime(r); ok && k < len(byPart[order[j]]) {
				causes[byPart[order[j]][k]] = at
			}
		}
	}
	if fenced != nil {
		return nil, fenced
	}
	if failed != nil {
		return nil, failed
	}
	return causes, nil
}

// outcomeArgs are oc's arguments to completeScript.
func outcomeArgs(oc Outcome) []any {
	kind := "r"
	switch {
	case oc.Accepted:
		kind = "a"
	case oc.Park:
		kind = "p"
	case oc.Stale:
		kind = "s"
	case oc.Held:
		kind = "h"
	}
	rep := ""
	if oc.Reported != nil {
		rep = strconv.FormatInt(*oc.Reported, 10)
	}
	return []any{oc.SKU, strconv.FormatInt(oc.Quantity, 10), kind, rep, oc.RetryAt.UnixMilli(), oc.Reason}
}

// releaseScript: ARGV = now_ms. Every held item still wanted goes back
// into its queue (urgent when it lowers what the channel accepted last, or
// is zero), due now. Returns how many were released.
var releaseScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local n = 0
for _, sku in ipairs(redis.call('ZRANGE', KEYS[13], 0, -1)) do
  redis.call('ZREM', KEYS[13], sku)
  local want = redis.call('HGET', KEYS[1], sku)
  if want and not redis.call('ZSCORE', KEYS[3], sku) and not redis.call('ZSCORE', KEYS[4], sku) then
    local acc = redis.call('HGET', KEYS[2], sku)
    local into = KEYS[4]
    if tonumber(want) == 0 or (acc and tonumber(want) < tonumber(acc)) then into = KEYS[3] end
    redis.call('ZADD', into, now, sku)
    n = n + 1
  end
end
return n`)

// Release makes every held item (shadow mode: recorded, not pushed) due
// now, so a channel switched to live pushes what is due. Idempotent.
func (o *Outbox) Release(ctx context.Context) (int, error) {
	now := time.Now().UnixMilli()
	total := 0
	for _, cmd := range store.RunEach(ctx, o.rdb, releaseScript, o.everyPart(now)) {
		n, err := cmd.Int()
		if err != nil {
			return 0, fmt.Errorf("outbox %s release: %w", o.channel, err)
		}
		total += n
	}
	return total, nil
}

// everyPart is one call per partition, each with args.
func (o *Outbox) everyPart(args ...any) []store.ScriptCall {
	calls := make([]store.ScriptCall, len(o.parts))
	for i, p := range o.parts {
		calls[i] = store.ScriptCall{Keys: p.keys, Args: args}
	}
	return calls
}

// Held counts the items held by shadow mode.
func (o *Outbox) Held(ctx context.Context) (int64, error) {
	pipe := o.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(o.parts))
	for i, p := range o.parts {
		cmds[i] = pipe.ZCard(ctx, p.keys[kHeld])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("outbox %s held: %w", o.channel, err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// SetReported records what the channel says it lists for sku (a stock
// change the channel announced, or a reconcile read), so the next push
// compares against it.
func (o *Outbox) SetReported(ctx context.Context, sku string, qty int64) error {
	if err := o.rdb.HSet(ctx, o.parts[o.partOf(sku)].keys[kAccepted], sku, qty).Err(); err != nil {
		return fmt.Errorf("outbox %s reported: %w", o.channel, err)
	}
	return nil
}

// Accepted returns what the channel last accepted or reported for sku.
func (o *Outbox) Accepted(ctx context.Context, sku string) (int64, bool, error) {
	v, err := o.rdb.HGet(ctx, o.parts[o.partOf(sku)].keys[kAccepted], sku).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("outbox %s accepted: %w", o.channel, err)
	}
	return v, true, nil
}

// pendingScript: ARGV = skus. Returns per SKU its push state: 1 queued
// (urgent or normal), 2 on the wire (taken), 3 held by shadow mode, else 0.
var pendingScript = redis.NewScript(`
local out = {}
for i, sku in ipairs(ARGV) do
  local st = 0
  if redis.call('ZSCORE', KEYS[3], sku) or redis.call('ZSCORE', KEYS[4], sku) then st = 1
  elseif redis.call('HEXISTS', KEYS[9], sku) == 1 then st = 2
  elseif redis.call('ZSCORE', KEYS[13], sku) then st = 3 end
  out[i] = st
end
return out`)

// PushState is where a SKU's push stands in the outbox.
type PushState int

// Push states (PushIdle: nothing wanted, or parked, or accepted).
const (
	PushIdle PushState = iota
	PushQueued
	PushInFlight
	PushHeld // shadow mode recorded the push and holds it until Release
)

// States returns the push state of each of skus (PushIdle ones left out).
// Read-only; one round trip.
func (o *Outbox) States(ctx context.Context, skus []string) (map[string]PushState, error) {
	out := make(map[string]PushState, len(skus))
	if len(skus) == 0 {
		return out, nil
	}
	byPart := map[int][]string{}
	var order []int
	for _, s := range skus {
		p := o.partOf(s)
		if byPart[p] == nil {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], s)
	}
	calls := make([]store.ScriptCall, len(order))
	for j, p := range order {
		args := make([]any, len(byPart[p]))
		for i, s := range byPart[p] {
			args[i] = s
		}
		calls[j] = store.ScriptCall{Keys: o.parts[p].keys, Args: args}
	}
	for j, cmd := range store.RunEach(ctx, o.rdb, pendingScript, calls) {
		flags, err := cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("outbox %s pending: %w", o.channel, err)
		}
		mine := byPart[order[j]]
		for i, f := range flags {
			if f != 0 && i < len(mine) {
				out[mine[i]] = PushState(f)
			}
		}
	}
	return out, nil
}

// Pending returns the SKUs among skus that have a push queued, in flight
// or held by shadow mode: the channel is about to be told their quantity,
// or (shadow) the difference is known and recorded on purpose, so what it
// lists now may rightly differ from the ledger (reconcile does not call
// that drift). A parked item is not pending. Read-only; one round trip.
func (o *Outbox) Pending(ctx context.Context, skus []string) (map[string]bool, error) {
	st, err := o.States(ctx, skus)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(st))
	for sku := range st {
		out[sku] = true
	}
	return out, nil
}

// Stats is the outbox's state for metrics and the admin API.
type Stats struct {
	Backlog      int64     `json:"backlog"`
	Urgent       int64     `json:"urgent"`
	Parked       int64     `json:"parked"`
	OldestCause  time.Time `json:"oldest_cause,omitzero"`
	OldestAgeSec float64   `json:"oldest_age_seconds"`
}

// statsScript reads a partition's urgent and normal queue sizes, its
// parked items and its oldest waiting change (”: none).
var statsScript = redis.NewScript(`
local old = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), redis.call('HLEN', KEYS[7]), old[2] or ''}`)

// Stats reads the queue sizes and the oldest waiting change, summed over
// the partitions.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	for _, cmd := range store.RunEach(ctx, o.rdb, statsScript, o.everyPart()) {
		v, err := cmd.Slice()
		if err != nil || len(v) != 4 {
			return Stats{}, fmt.Errorf("outbox %s stats: %w", o.channel, err)
		}
		u, _ := v[0].(int64)
		n, _ := v[1].(int64)
		p, _ := v[2].(int64)
		s.Urgent, s.Backlog, s.Parked = s.Urgent+u, s.Backlog+u+n, s.Parked+p
		if at, ok := msTime(v[3]); ok && (s.OldestCause.IsZero() || at.Before(s.OldestCause)) {
			s.OldestCause = at
		}
	}
	if !s.OldestCause.IsZero() {
		s.OldestAgeSec = time.Since(s.OldestCause).Seconds()
	}
	return s, nil
}

// ParkedItem is an item the pusher gave up on.
type ParkedItem struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason"`
}

// Parked lists the parked items.
func (o *Outbox) Parked(ctx context.Context) ([]ParkedItem, error) {
	pipe := o.rdb.Pipeline()
	parked := make([]*redis.MapStringStringCmd, len(o.parts))
	reasons := make([]*redis.MapStringStringCmd, len(o.parts))
	for i, p := range o.parts {
		parked[i] = pipe.HGetAll(ctx, p.keys[kParked])
		reasons[i] = pipe.HGetAll(ctx, p.keys[kReasons])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("outbox %s parked: %w", o.channel, err)
	}
	var out []ParkedItem
	for i := range o.parts {
		why := reasons[i].Val()
		for sku, q := range parked[i].Val() {
			n, _ := strconv.ParseInt(q, 10, 64)
			out = append(out, ParkedItem{SKU: sku, Quantity: n, Reason: why[sku]})
		}
	}
	return out, nil
}

// withdrawScript: ARGV = qty, then skus. Each sku whose wanted value is
// qty and that is not on the wire (taken) leaves the outbox: its want,
// queue entries, attempts, parked value and reasons. Returns how many.
var withdrawScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  local sku = ARGV[i]
  if redis.call('HGET', KEYS[1], sku) == ARGV[1] and redis.call('HEXISTS', KEYS[9], sku) == 0 then
    redis.call('HDEL', KEYS[1], sku)
    for _, k in ipairs({KEYS[3], KEYS[4], KEYS[5], KEYS[10], KEYS[13]}) do redis.call('ZREM', k, sku) end
    for _, k in ipairs({KEYS[6], KEYS[7], KEYS[8], KEYS[11]}) do redis.call('HDEL', k, sku) end
    n = n + 1
  end
end
return n`)

// Withdraw drops the queued (or parked, or held) pushes of skus whose
// wanted value is still qty: a write the channel will refuse until
// something changes there (a forced zero of an eBay location disabled
// since). An item on the wire, or wanted with another value since, is
// left alone. Returns how many were dropped; one round trip.
func (o *Outbox) Withdraw(ctx context.Context, skus []string, qty int64) (int, error) {
	byPart := map[int][]any{}
	var order []int
	for _, sku := range skus {
		p := o.partOf(sku)
		if byPart[p] == nil {
			byPart[p] = []any{qty}
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], sku)
	}
	if len(order) == 0 {
		return 0, nil
	}
	calls := make([]store.ScriptCall, len(order))
	for j, p := range order {
		calls[j] = store.ScriptCall{Keys: o.parts[p].keys, Args: byPart[p]}
	}
	n := 0
	for _, cmd := range store.RunEach(ctx, o.rdb, withdrawScript, calls) {
		k, err := cmd.Int()
		if err != nil {
			return n, fmt.Errorf("outbox %s withdraw: %w", o.channel, err)
		}
		n += k
	}
	return n, nil
}
