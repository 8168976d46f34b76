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
	tag := "{" + keySKU(sku) + "}"
	p := l.opts.Prefix
	return p + "rp:" + tag, p + "se:" + tag, p + "rj:" + tag
}

// withSignals appends the SKU's reorder hash and pending list to a stock
// script's keys unless Options.NoSignals.
func (l *Ledger) withSignals(sku string, keys ...string) []string {
	if l.opts.NoSignals {
		return keys
	}
	rkey, ekey, _ := l.signalKeys(sku)
	return append(keys, rkey, ekey)
}

// PendingSignalSKUs calls fn with the SKUs that have events not yet moved
// downstream, in pages, as SCAN finds them (every master on a Cluster).
func (l *Ledger) PendingSignalSKUs(ctx context.Context, fn func([]string) error) error {
	head := l.opts.Prefix + "se:{"
	return l.scanKeys(ctx, globEscape(head)+"*}", "pending signals", func(keys []string) error {
		page := make([]string, 0, len(keys))
		for _, k := range keys {
			sku, err := skuFromKeySKU(strings.TrimSuffix(strings.TrimPrefix(k, head), "}"))
			if err == nil {
				page = append(page, sku)
			}
		}
		if len(page) == 0 {
			return nil
		}
		return fn(page)
	})
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

// SignalStates calls fn with pages of the SKUs that have a reorder point,
// each with its signal state ("" above the point, "low", "out"), as SCAN
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
			if len(v) != 2 || v[0] == nil {
				continue // no point (removed)
			}
			st, _ := v[1].(string)
			page[skus[i]] = st
		}
		return fn(page)
	})
}
