package shipments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/sync/store"
)

// Every key of a channel's shipments shares the hash tag {ship:<channel>}
// (one Redis Cluster slot), so each script touches one slot:
//
//	{ship:<ch>}:s:<id>     hash: rec (Record JSON), sum, state (State JSON), t:<line> totals
//	{ship:<ch>}:o:<order>  set: the order's shipment ids
//	{ship:<ch>}:l:<order>  hash: line id → units shipped locally so far
//	{ship:<ch>}:apply      zset: shipments stored, not yet applied to the ledger (ms stored)
//	{ship:<ch>}:queue      zset: shipments to confirm (ms due)
//	{ship:<ch>}:parked     zset: shipments refused or given up (ms parked)
type keys struct{ base string }

func (s *Service) keys(channel string) keys { return keys{s.o.Prefix + "{ship:" + channel + "}"} }
func (k keys) ship(id string) string        { return k.base + ":s:" + id }
func (k keys) order(id string) string       { return k.base + ":o:" + id }
func (k keys) local(id string) string       { return k.base + ":l:" + id }
func (k keys) apply() string                { return k.base + ":apply" }
func (k keys) queue() string                { return k.base + ":queue" }
func (k keys) parked() string               { return k.base + ":parked" }

// State is a shipment's confirmation state on its channel.
type State struct {
	// Status: pending (queued, not yet tried), retrying (a try failed; due
	// again at NextAt), confirmed, refused (parked: Reason is the
	// channel's, or why it was given up), not_sent (the channel takes no
	// confirmations).
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// Throttles is the tries the channel's rate limit turned back
	// (ShipmentResult.Throttled): not counted in Attempts, so throttling
	// alone never gives a shipment up.
	Throttles   int        `json:"throttles,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Ref         string     `json:"ref,omitempty"`
	NextAt      *time.Time `json:"next_at,omitempty"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Shipment states.
const (
	StatusPending   = "pending"
	StatusRetrying  = "retrying"
	StatusConfirmed = "confirmed"
	StatusRefused   = "refused"
	StatusNotSent   = "not_sent"
)

// acceptScript stores a shipment whole, or nothing. KEYS: 1 ship, 2 order
// set, 3 local totals, 4 apply, 5 queue. ARGV: 1 id, 2 sum, 3 record, 4
// state, 5 now ms, 6 retention ms, 7 queue ('1' or '0'), 8 line count,
// then per line: line id, quantity, ledger shipped, cap (ordered -
// cancelled). A repeat of the id answers {"dup"} when its sum matches,
// else {"conflict"}; a line over its open units answers {"open", line,
// open, ...} for every line; else {"new"}.
var acceptScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'sum')
if old then
  if old == ARGV[2] then return {'dup'} end
  return {'conflict'}
end
local n = tonumber(ARGV[8])
local totals, open, over = {}, {}, false
for i = 0, n - 1 do
  local b = 9 + i * 4
  local line, q, s, cap = ARGV[b], tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local t = tonumber(redis.call('HGET', KEYS[3], line) or '0')
  local base = math.max(s, t)
  open[#open + 1] = line
  open[#open + 1] = tostring(math.max(cap - base, 0))
  if base + q > cap then over = true end
  totals[#totals + 1] = line
  totals[#totals + 1] = tostring(base + q)
end
if over then return {'open', unpack(open)} end
for i = 1, #totals, 2 do
  redis.call('HSET', KEYS[3], totals[i], totals[i + 1])
  redis.call('HSET', KEYS[1], 't:' .. totals[i], totals[i + 1])
end
redis.call('HSET', KEYS[1], 'rec', ARGV[3], 'sum', ARGV[2], 'state', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
if ARGV[7] == '1' then redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1]) end
return {'new'}
`)

// store runs acceptScript and waits for the replicas
// (redis.min_replicas_acked) before the answer: reports whether the
// shipment is new.
func (s *Service) store(ctx context.Context, rec *Record, lines []lineCheck, fp string) (bool, error) {
	k := s.keys(rec.Channel)
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encoding shipment: %w", err)
	}
	st := State{Status: StatusPending, UpdatedAt: rec.ReceivedAt}
	queue := "1"
	if s.channels[rec.Channel].Confirmer == nil {
		st.Status, queue = StatusNotSent, "0"
	}
	stJSON, _ := json.Marshal(st)
	args := []any{rec.ID, fp, recJSON, stJSON, rec.ReceivedAt.UnixMilli(), s.o.Retention.Milliseconds(), queue, len(lines)}
	for _, l := range lines {
		args = append(args, l.line, l.qty, l.shipped, l.capacity)
	}
	var cmd *redis.Cmd
	err = store.Replicated(ctx, s.o.Redis, k.ship(rec.ID), s.o.Durability, func(p redis.Pipeliner) {
		cmd = acceptScript.Eval(ctx, p, []string{k.ship(rec.ID), k.order(rec.OrderID), k.local(rec.OrderID), k.apply(), k.queue()}, args...)
	})
	if cmd != nil && cmd.Err() != nil && !errors.Is(err, store.ErrNotReplicated) {
		return false, fmt.Errorf("storing shipment %s: %w", rec.ID, cmd.Err())
	}
	if err != nil {
		return false, fmt.Errorf("storing shipment %s: %w", rec.ID, err)
	}
	isNew, err := acceptReply(cmd, rec)
	var e *Error
	if errors.As(err, &e) && e.Open != nil {
		e.Open = channelOpen(e.Open, lines)
	}
	return isNew, err
}

// acceptReply reads acceptScript's answer.
func acceptReply(cmd *redis.Cmd, rec *Record) (bool, error) {
	reply, err := cmd.StringSlice()
	if err != nil || len(reply) == 0 {
		return false, fmt.Errorf("storing shipment %s: unexpected reply %v: %w", rec.ID, reply, err)
	}
	switch reply[0] {
	case "new":
		return true, nil
	case "dup":
		return false, nil
	case "conflict":
		return false, refuse(http.StatusConflict, "idempotency_key %q was used for a different shipment", rec.Key)
	case "open":
		e := refuse(http.StatusConflict, "shipping more than is open on order %s/%s", rec.Channel, rec.OrderID)
		e.Open = map[string]int64{}
		for i := 1; i+1 < len(reply); i += 2 {
			n, _ := strconv.ParseInt(reply[i+1], 10, 64)
			e.Open[reply[i]] = n
		}
		return false, e
	}
	return false, fmt.Errorf("storing shipment %s: unexpected reply %v", rec.ID, reply)
}

// load reads a stored shipment with its totals and state; nil when gone.
func (s *Service) load(ctx context.Context, channel, id string) (*Record, *State, error) {
	m, err := s.o.Redis.HGetAll(ctx, s.keys(channel).ship(id)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("reading shipment %s: %w", id, err)
	}
	if m["rec"] == "" {
		return nil, nil, nil
	}
	var rec Record
	var st State
	if err := json.Unmarshal([]byte(m["rec"]), &rec); err != nil {
		return nil, nil, fmt.Errorf("decoding shipment %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(m["state"]), &st); err != nil {
		return nil, nil, fmt.Errorf("decoding shipment %s state: %w", id, err)
	}
	rec.Totals = map[string]int64{}
	for f, v := range m {
		if line, ok := strings.CutPrefix(f, "t:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			rec.Totals[line] = n
		}
	}
	return &rec, &st, nil
}

// View is one shipment with its state, as the order view shows it.
type View struct {
	Record
	State   State `json:"state"`
	Applied bool  `json:"applied"` // on the ledger
}

// ForOrder lists an order's shipments with their states, oldest first.
func (s *Service) ForOrder(ctx context.Context, channel, orderID string) ([]View, error) {
	if s.channels[channel] == nil {
		return nil, nil
	}
	k := s.keys(channel)
	ids, err := s.o.Redis.SMembers(ctx, k.order(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("reading shipments of %s/%s: %w", channel, orderID, err)
	}
	out := make([]View, 0, len(ids))
	for _, id := range ids {
		rec, st, err := s.load(ctx, channel, id)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		pending := s.o.Redis.ZScore(ctx, k.apply(), id).Err()
		if pending != nil && !errors.Is(pending, redis.Nil) {
			return nil, fmt.Errorf("reading shipment %s: %w", id, pending)
		}
		out = append(out, View{Record: *rec, State: *st, Applied: errors.Is(pending, redis.Nil)})
	}
	sortViews(out)
	return out, nil
}

func sortViews(v []View) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].ReceivedAt.Before(v[j-1].ReceivedAt); j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}
