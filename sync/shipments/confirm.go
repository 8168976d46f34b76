package shipments

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shelfsync/shelfsync/connectors"
)

// claimScript takes up to ARGV[3] due shipments off a channel's queue:
// each is pushed back by the claim time (ARGV[2] ms), so no other worker
// (of this or another replica) takes it meanwhile, and a worker that dies
// with it leaves it due again when the claim runs out. KEYS: 1 queue.
// ARGV: 1 now ms, 2 claim ms, 3 count.
var claimScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local until_ = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], until_, id) end
return ids
`)

// finishScript records one attempt's outcome in one step, only while the
// worker still holds its claim: the shipment's queue score is still the
// claim's end it was taken with (another worker's claim, a finish or a
// requeue changed it); else it changes nothing and answers -1. KEYS: 1
// ship, 2 queue, 3 parked. ARGV: 1 id, 2 outcome (confirmed, retry,
// refused), 3 state JSON, 4 due ms (retry) or now ms (refused), 5
// retention ms, 6 the claim (its end, ms). A shipment no longer stored is
// only taken off the queue.
var finishScript = redis.NewScript(`
local held = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not held or tonumber(held) ~= tonumber(ARGV[6]) then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if ARGV[2] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
elseif ARGV[2] == 'refused' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 1
`)

// Timing of confirmations.
const (
	// claimFor is how long a taken shipment is hidden from other workers
	// by default (Options.Claim, shipments.claim): longer than one
	// confirmation takes (connector timeouts, its pacing).
	claimFor = 2 * time.Minute
	// idlePoll is how often an idle worker looks for due shipments that
	// no Wake announced (retries coming due, another replica's).
	idlePoll = 250 * time.Millisecond
	// firstBackoff doubles per failed attempt up to maxBackoff.
	firstBackoff = time.Second
	maxBackoff   = 5 * time.Minute
	// attemptTimeout bounds one ConfirmShipment call (and the claim does:
	// an outcome after it is not recorded).
	attemptTimeout = time.Minute
	// maxClaimMargin caps claimMargin: an attempt ends this long (or a
	// tenth of the claim, if less) before its claim runs out, so no other
	// worker can take the shipment while the call is still in flight.
	maxClaimMargin = 5 * time.Second
)

// claimMargin is how long before its claim's end an attempt is cut off.
func claimMargin(claim time.Duration) time.Duration {
	return min(maxClaimMargin, claim/10)
}

// attemptDeadline is when an attempt on a claim ending at claim (ms, on
// Options.Now's clock) must end: attemptTimeout after start, and never
// later than the claim's end minus claimMargin, however late the attempt
// starts (a slow record load, a worker freed late). It is on the real
// clock, for context.WithDeadline; ok is false when that is already past.
func (s *Service) attemptDeadline(claim int64) (time.Time, bool) {
	start := time.Now()
	left := time.UnixMilli(claim).Sub(s.o.Now()) - claimMargin(s.o.Claim)
	return start.Add(min(attemptTimeout, left)), left > 0
}

// Run confirms shipments on every channel with a confirmer, sweeps
// unapplied shipments onto the ledger and keeps the gauges, until ctx
// ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, name := range s.names {
		ch := s.channels[name]
		if ch.Confirmer == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.confirmLoop(ctx, ch)
		}()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.sweep(ctx)
		s.gauges(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// confirmLoop takes due shipments of one channel and confirms them,
// Workers at a time (the connector's limiter paces the calls).
func (s *Service) confirmLoop(ctx context.Context, ch *Channel) {
	sem := make(chan struct{}, s.o.Workers)
	finished := make(chan struct{}, s.o.Workers) // a worker is free again
	var wg sync.WaitGroup
	defer wg.Wait()
	k := s.keys(ch.Name)
	for ctx.Err() == nil {
		free := s.o.Workers - len(sem)
		var ids []string
		var claim int64 // the claim's end: its token (finishScript)
		if free > 0 {
			var err error
			now := s.o.Now().UnixMilli()
			claim = now + s.o.Claim.Milliseconds()
			ids, err = claimScript.Run(ctx, s.o.Redis, []string{k.queue()}, now, s.o.Claim.Milliseconds(), free).StringSlice()
			if err != nil && ctx.Err() == nil {
				s.o.Logger.Warn().Err(err).Str("channel", ch.Name).Msg("taking shipments to confirm")
			}
		}
		for _, id := range ids {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() {
					<-sem
					select {
					case finished <- struct{}{}:
					default:
					}
					wg.Done()
				}()
				s.confirmOne(ctx, ch, id, claim)
			}()
		}
		if len(ids) == free && free > 0 {
			continue // there may be more due
		}
		select {
		case <-ctx.Done():
		case <-s.wake[ch.Name]:
		case <-finished:
		case <-time.After(idlePoll):
		}
	}
}

// confirmOne makes one confirmation attempt and records its outcome, if
// the claim (its end, ms) is still the worker's by then.
func (s *Service) confirmOne(ctx context.Context, ch *Channel, id string, claim int64) {
	rec, st, err := s.load(ctx, ch.Name, id)
	if err != nil {
		s.o.Logger.Warn().Err(err).Str("channel", ch.Name).Str("shipment", id).Msg("reading a shipment to confirm")
		return // still claimed; due again when the claim runs out
	}
	if rec == nil {
		_ = s.o.Redis.ZRem(ctx, s.keys(ch.Name).queue(), id).Err()
		return
	}
	deadline, ok := s.attemptDeadline(claim)
	if !ok {
		// Too late to start: the claim (nearly) ran out, and another worker
		// may take the shipment; it is due again then, to whoever claims it.
		s.o.Logger.Info().Str("channel", ch.Name).Str("shipment", id).Msg("confirmation attempt not made: its claim runs out")
		return
	}
	cctx, cancel := context.WithDeadline(ctx, deadline)
	res, err := ch.Confirmer.ConfirmShipment(cctx, rec.Shipment)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the claim runs out and the next run tries again
	}
	if err != nil {
		res = connectors.ShipmentResult{Status: connectors.ShipmentRetry, Reason: err.Error()}
	}
	s.record(ctx, ch.Name, rec, st, res, claim)
}

// record stores an attempt's outcome (state, queue, parked) and counts it,
// while the worker holds the claim; a worker whose claim ran out and was
// taken over records nothing (the other worker's outcome stands).
func (s *Service) record(ctx context.Context, channel string, rec *Record, st *State, res connectors.ShipmentResult, claim int64) {
	now := s.o.Now().UTC()
	throttled := res.Status == connectors.ShipmentRetry && res.Throttled
	if throttled {
		st.Throttles++ // waits, but does not use up the attempts
	} else {
		st.Attempts++
	}
	st.UpdatedAt, st.Reason, st.NextAt = now, res.Reason, nil
	outcome, at := string(res.Status), now
	switch res.Status {
	case connectors.ShipmentConfirmed:
		st.Status, st.Ref, st.ConfirmedAt = StatusConfirmed, res.Ref, &now
		s.o.Metrics.Latency.WithLabelValues(channel).Observe(now.Sub(rec.ReceivedAt).Seconds())
	case connectors.ShipmentRefused:
		st.Status = StatusRefused
	default:
		outcome = "retry"
		if !throttled && st.Attempts >= s.o.MaxAttempts {
			st.Status, outcome = StatusRefused, "gave_up"
			st.Reason = fmt.Sprintf("given up after %d attempts; last: %s", st.Attempts, res.Reason)
			break
		}
		st.Status = StatusRetrying
		n := st.Attempts
		if throttled {
			n = st.Throttles
		}
		at = now.Add(backoff(n, res.RetryAfter))
		st.NextAt = &at
	}
	stJSON, _ := json.Marshal(st)
	k := s.keys(channel)
	step := outcome // finishScript's: a shipment given up is parked like a refused one
	if outcome == "gave_up" {
		step = "refused"
	}
	held, err := finishScript.Run(ctx, s.o.Redis, []string{k.ship(rec.ID), k.queue(), k.parked()},
		rec.ID, step, stJSON, at.UnixMilli(), s.o.Retention.Milliseconds(), claim).Int()
	if err == nil && held < 0 {
		s.o.Logger.Info().Str("channel", channel).Str("shipment", rec.ID).Str("outcome", outcome).
			Msg("confirmation outcome not recorded: the claim ran out and another worker took the shipment")
		return
	}
	if err != nil {
		// The claim runs out and the shipment is tried again: the
		// connector's idempotency (the shipment id) makes that safe.
		s.o.Logger.Warn().Err(err).Str("channel", channel).Str("shipment", rec.ID).Msg("recording a confirmation outcome")
		return
	}
	s.o.Metrics.Total.WithLabelValues(channel, outcome).Inc()
	ev := s.o.Logger.Info()
	if outcome != string(connectors.ShipmentConfirmed) {
		ev = s.o.Logger.Warn()
	}
	ev.Str("channel", channel).Str("shipment", rec.ID).Str("order", rec.OrderID).Str("outcome", outcome).
		Int("attempts", st.Attempts).Str("reason", st.Reason).Msg("shipment confirmation")
}

// backoff is the wait before attempt n+1: the channel's own Retry-After
// when it gave one, else 1 s doubling up to 5 min.
func backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxBackoff)
	}
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// gauges reads each channel's parked, queued and unapplied shipments
// (unapplied: stored longer than sweepAge ago, what the sweeper is for).
func (s *Service) gauges(ctx context.Context) {
	cutoff := strconv.FormatInt(s.o.Now().Add(-sweepAge).UnixMilli(), 10)
	for _, name := range s.names {
		k := s.keys(name)
		var parked, queued, unapplied *redis.IntCmd
		_, err := s.o.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			parked = p.ZCard(ctx, k.parked())
			queued = p.ZCard(ctx, k.queue())
			unapplied = p.ZCount(ctx, k.apply(), "-inf", cutoff)
			return nil
		})
		if err != nil {
			continue
		}
		s.o.Metrics.Parked.WithLabelValues(name).Set(float64(parked.Val()))
		s.o.Metrics.Queued.WithLabelValues(name).Set(float64(queued.Val()))
		s.o.Metrics.Unapplied.WithLabelValues(name).Set(float64(unapplied.Val()))
	}
}

// Requeue puts a parked shipment back on its channel's queue (after the
// cause was fixed: a carrier code, a channel setting); its attempts start
// again. False when it is not parked.
func (s *Service) Requeue(ctx context.Context, channel, id string) (bool, error) {
	k := s.keys(channel)
	if s.channels[channel] == nil || s.channels[channel].Confirmer == nil {
		return false, nil
	}
	rec, st, err := s.load(ctx, channel, id)
	if err != nil || rec == nil || st.Status != StatusRefused {
		return false, err
	}
	now := s.o.Now().UTC()
	st.Status, st.Attempts, st.Throttles, st.UpdatedAt, st.NextAt = StatusPending, 0, 0, now, nil
	stJSON, _ := json.Marshal(st)
	_, err = s.o.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.ship(id), "state", stJSON)
		p.ZRem(ctx, k.parked(), id)
		p.ZAdd(ctx, k.queue(), redis.Z{Score: float64(now.UnixMilli()), Member: id})
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("requeueing shipment %s: %w", id, err)
	}
	s.Wake(channel)
	return true, nil
}
