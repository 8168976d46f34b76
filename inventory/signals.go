package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stock signals. A SKU with a reorder point (SetReorder) has a signal
// state kept beside its stock, in its slot; every script that changes its
// figures evaluates the state at the end of its run, against the SKU's
// available stock summed over its locations (on_hand - reserved), and
// appends an event for each crossing to the SKU's pending list: stock.low
// (from above the point to at or below it; not for a point of 0),
// stock.out (to zero or below), stock.back (from zero or below to above
// zero). After stock.low the SKU is disarmed until its available is above
// the point again (then an internal rearm record, not published), so stock
// hovering around the point makes one event. The signal sweeper moves the
// pending events to the downstream stream and then removes them
// (AckSignals): a crash in between moves them again, with the same id.

// Signal event types.
const (
	SignalLow   = "stock.low"
	SignalOut   = "stock.out"
	SignalBack  = "stock.back"
	SignalRearm = "rearm" // internal: back above the point; never published
)

// SignalEvent is one crossing, with the SKU's figures at that moment
// (summed over its locations). ID is SKU + ":" + Seq: the same for every
// delivery of the same crossing, so consumers de-duplicate by it.
type SignalEvent struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	SKU          string `json:"sku"`
	Seq          int64  `json:"seq"`
	State        string `json:"state"` // after the step: "", "low" or "out"
	Available    int64  `json:"available"`
	OnHand       int64  `json:"on_hand"`
	Reserved     int64  `json:"reserved"`
	ReorderPoint int64  `json:"reorder_point"`
	ReorderQty   *int64 `json:"reorder_qty,omitempty"`
	At           int64  `json:"at"` // ms since the epoch
}

// signalKeys are the SKU's reorder hash, pending events list and reorder
// journal: under the SKU's hash tag, so one slot with its stock.
func (l *Ledger) signalKeys(sku string) (rkey, ekey, rjournal string) {
	tag := skuTag(sku)
	p := l.opts.Prefix
	return p + "rp:" + tag, p + "se:" + tag, p + "rj:" + tag
}

// withSignals appends the SKU's reorder hash and pending list to a stock
// script's keys when the run evaluates signals (sig: stockSignals).
func (l *Ledger) withSignals(sig bool, sku string, keys ...string) []string {
	if !sig {
		return keys
	}
	rkey, ekey, _ := l.signalKeys(sku)
	return append(keys, rkey, ekey)
}

// The pending signals index. Every run that appends a signal event is
// followed by a mark of its SKU in the zset P{signals}:pending (ledger
// side: scriptCall.sig, markSignaled; the same mark and compare-and-clear
// scripts as the push intents), so the sweeper reads the SKUs with events
// from there, never by scanning the keyspace. The sweeper also records each
// SKU's state as of its newest moved event (signal_state.lua), and the
// gauges count those sets. All index keys share the hash tag {signals}:
// one slot, as the intents' {intents}.
func (l *Ledger) signalIndexKeys() (pending, seq, seqs, below, out string) {
	p := l.opts.Prefix + "{signals}"
	return p + ":pending", p + ":seq", p + ":seqs", p + ":below", p + ":out"
}

// sigSKU is what a script call carrying one SKU's signal keys marks
// (scriptCall.sigs); none when the run does not evaluate signals (sig:
// stockSignals).
func sigSKU(sku string, sig bool) []string {
	if !sig {
		return nil
	}
	return []string{sku}
}

// markSignals marks skus in the pending signals index.
func (l *Ledger) markSignals(ctx context.Context, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	pending, seq, _, _, _ := l.signalIndexKeys()
	args := make([]any, len(skus))
	for i, s := range skus {
		args[i] = s
	}
	if err := l.mark.Run(ctx, l.rdb, []string{pending, seq}, args...).Err(); err != nil {
		return fmt.Errorf("marking pending stock signals of %d SKUs: %w", len(skus), err)
	}
	return nil
}

// SignalMarks returns up to max SKUs of the pending signals index, oldest
// mark first, each with its mark's sequence number (ClearSignalMark).
func (l *Ledger) SignalMarks(ctx context.Context, max int64) ([]Intent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("signal marks: %w: max must be positive", ErrInvalid)
	}
	pending, _, _, _, _ := l.signalIndexKeys()
	zs, err := l.rdb.ZRangeWithScores(ctx, pending, 0, max-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading pending stock signals: %w", err)
	}
	out := make([]Intent, 0, len(zs))
	for _, z := range zs {
		if sku, ok := z.Member.(string); ok {
			out = append(out, Intent{SKU: sku, Seq: z.Score})
		}
	}
	return out, nil
}

// ClearSignalMark removes a SKU's mark unless it was marked again since it
// was read (a newer event is then still to move).
func (l *Ledger) ClearSignalMark(ctx context.Context, in Intent) error {
	pending, _, _, _, _ := l.signalIndexKeys()
	err := l.clear.Run(ctx, l.rdb, []string{pending}, in.SKU, strconv.FormatFloat(in.Seq, 'f', -1, 64)).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("clearing the signal mark of %s: %w", in.SKU, err)
	}
	return nil
}

// RecordSignalState records the SKU's state as of its event seq in the
// sets SignalCounts counts, unless a newer event was recorded already.
func (l *Ledger) RecordSignalState(ctx context.Context, sku string, seq int64, state string) error {
	_, _, seqs, below, out := l.signalIndexKeys()
	if err := l.sigstate.Run(ctx, l.rdb, []string{seqs, below, out}, sku, seq, state).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("recording the signal state of %s: %w", sku, err)
	}
	return nil
}

// SignalCounts is how many SKUs are at or below their reorder point (out
// of stock included) and out of stock, as the sweeper last recorded them:
// two SCARDs.
func (l *Ledger) SignalCounts(ctx context.Context) (below, out int64, err error) {
	_, _, _, bkey, okey := l.signalIndexKeys()
	var b, o *redis.IntCmd
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		b, o = p.SCard(ctx, bkey), p.SCard(ctx, okey)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("counting SKUs below their reorder point: %w", err)
	}
	return b.Val(), o.Val(), nil
}

// RecoverSignals rebuilds the index by scanning the keyspace once: every
// SKU with pending events is marked, so is every SKU a run left to the
// sweeper (EvaluateMarked), and every SKU's current state is recorded (as
// of its newest event). The sweeper runs it once when it
// starts, for events whose mark a crash lost (between a script run and its
// mark) and for states recorded before the index existed; it is the only
// SCAN on the signals' path. Returns how many SKUs it marked.
func (l *Ledger) RecoverSignals(ctx context.Context) (int, error) {
	marked := 0
	head := l.opts.Prefix + "se:{"
	err := l.scanKeys(ctx, globEscape(head)+"*}", "pending signals", func(keys []string) error {
		page := make([]string, 0, len(keys))
		for _, k := range keys {
			sku, err := skuFromKeySKU(strings.TrimSuffix(strings.TrimPrefix(k, head), "}"))
			if err == nil {
				page = append(page, sku)
			}
		}
		marked += len(page)
		return l.markSignals(ctx, page)
	})
	if err != nil {
		return marked, err
	}
	n, err := l.recoverStates(ctx)
	return marked + n, err
}

// recoverStates records every SKU's state as of its newest event, and
// marks the SKUs a run left to the sweeper (re: its defaults were stale)
// whose mark was lost; it returns how many it marked.
func (l *Ledger) recoverStates(ctx context.Context) (int, error) {
	head := l.opts.Prefix + "rp:{"
	marked := 0
	err := l.scanKeys(ctx, globEscape(head)+"*}", "reorder points", func(keys []string) error {
		cmds := make([]*redis.SliceCmd, len(keys))
		_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HMGet(ctx, k, "P", "st", "seq", "re")
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading signal states: %w", err)
		}
		var left []string
		for i, k := range keys {
			sku, err := skuFromKeySKU(strings.TrimSuffix(strings.TrimPrefix(k, head), "}"))
			v := cmds[i].Val()
			if err == nil && len(v) == 4 && v[3] != nil {
				left = append(left, sku)
			}
			if err != nil || len(v) != 4 || v[2] == nil {
				continue // no event yet: nothing to record
			}
			seq, _ := strconv.ParseInt(fmt.Sprint(v[2]), 10, 64)
			// A state without an own point is a default's: removing the
			// last point (own or default) removes the state with it.
			st, _ := v[1].(string)
			if err := l.RecordSignalState(ctx, sku, seq, st); err != nil {
				return err
			}
		}
		marked += len(left)
		return l.markSignals(ctx, left)
	})
	return marked, err
}

// PendingSignals returns up to max of the SKU's pending events, oldest
// first (rearm records included: the sweeper counts them).
func (l *Ledger) PendingSignals(ctx context.Context, sku string, max int64) ([]SignalEvent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("pending signals: %w: max must be positive", ErrInvalid)
	}
	_, ekey, _ := l.signalKeys(sku)
	raw, err := l.rdb.LRange(ctx, ekey, 0, max-1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading pending signals of %s: %w", sku, err)
	}
	out := make([]SignalEvent, 0, len(raw))
	for _, r := range raw {
		ev, err := decodeSignal(sku, r)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// decodeSignal parses "<seq> <type> <json>" as signal() in lib.lua writes it.
func decodeSignal(sku, r string) (SignalEvent, error) {
	parts := strings.SplitN(r, " ", 3)
	if len(parts) != 3 {
		return SignalEvent{}, fmt.Errorf("pending signal of %s: malformed %q", sku, r)
	}
	var ev SignalEvent
	if err := json.Unmarshal([]byte(parts[2]), &ev); err != nil {
		return SignalEvent{}, fmt.Errorf("pending signal of %s: %w", sku, err)
	}
	ev.SKU = sku
	ev.ID = sku + ":" + strconv.FormatInt(ev.Seq, 10)
	return ev, nil
}

// AckSignals removes the SKU's pending events up to and including seq.
func (l *Ledger) AckSignals(ctx context.Context, sku string, seq int64) error {
	_, ekey, _ := l.signalKeys(sku)
	if err := l.sigack.Run(ctx, l.rdb, []string{ekey}, seq).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("removing moved signals of %s: %w", sku, err)
	}
	return nil
}

// signalTime is an event's time.
func (e SignalEvent) Time() time.Time { return time.UnixMilli(e.At) }

// SignalStates calls fn with pages of the SKUs that have a reorder point
// of their own or a state a default reorder point moved, each with its
// signal state ("" above the point, "low", "out"), as SCAN
// finds them (every master on a Cluster): the cheap periodic count behind
// the below-reorder gauges and the reorder list. One SCAN page and one
// pipelined read per 1000 keys.
func (l *Ledger) SignalStates(ctx context.Context, fn func(map[string]string) error) error {
	head := l.opts.Prefix + "rp:{"
	return l.scanKeys(ctx, globEscape(head)+"*}", "reorder points", func(keys []string) error {
		skus := make([]string, 0, len(keys))
		cmds := make([]*redis.SliceCmd, 0, len(keys))
		_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				sku, err := skuFromKeySKU(strings.TrimSuffix(strings.TrimPrefix(k, head), "}"))
				if err != nil {
					continue
				}
				skus = append(skus, sku)
				cmds = append(cmds, p.HMGet(ctx, k, "P", "st"))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading signal states: %w", err)
		}
		page := make(map[string]string, len(skus))
		for i, c := range cmds {
			v := c.Val()
			if len(v) != 2 {
				continue
			}
			st, _ := v[1].(string)
			if v[0] == nil && st == "" {
				continue // no own point, and no default's state
			}
			page[skus[i]] = st
		}
		return fn(page)
	})
}
