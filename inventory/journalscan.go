package inventory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// journalPage is how many entries one XREVRANGE of JournalsSince asks a
// journal for; most SKUs' window fits in one.
const journalPage = 256

// journalWorkers read pages of journals at once (each a pipeline of up to
// 1000 XREVRANGEs); on a Cluster go-redis splits each pipeline by node.
const journalWorkers = 4

// JournalMovement is a journal entry with, for an order line's (OpLine),
// its channel, order and line ids apart (Ref joins them with '/', which
// order and line ids may hold).
type JournalMovement struct {
	JournalEntry
	Channel, OrderID, LineID string
}

// JournalsSince calls fn with the journal entries of every SKU (found by
// SCAN of the journal keys; every master on a Cluster) whose time is at or
// after from, oldest first. Short says the SKU's journal was read to its
// start, holds at least Options.JournalMaxLen entries and its oldest is
// still after from: it was trimmed, so the window is incomplete. A SKU
// with no entry in the window is not reported.
//
// It only reads: a SCAN, then pipelined XREVRANGEs, journalPage entries
// each, of up to 1000 journals a round trip, journalWorkers pipelines at
// once, paging further back only for journals whose page is still inside
// the window. fn is called from one goroutine at a time; an error from it
// stops the read.
func (l *Ledger) JournalsSince(ctx context.Context, from time.Time, fn func(sku string, entries []JournalMovement, short bool) error) error {
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan []string, journalWorkers)
	var mu sync.Mutex
	locked := func(sku string, es []JournalMovement, short bool) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(sku, es, short)
	}
	for range journalWorkers {
		g.Go(func() error {
			for keys := range work {
				if err := l.readJournals(gctx, keys, from, locked); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		return l.scanKeys(gctx, globEscape(l.opts.Prefix+"j:{")+"*}", "journals", func(keys []string) error {
			select {
			case work <- keys:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	return g.Wait()
}

// journalRead is one journal being read newest first.
type journalRead struct {
	sku, key, end string // end: the next XREVRANGE's upper bound
	entries       []JournalMovement
	seen          int64
}

// readJournals reads the window of the journals keys, a pipeline per
// round, each round asking again only those whose last page was full and
// still inside the window.
func (l *Ledger) readJournals(ctx context.Context, keys []string, from time.Time, fn func(string, []JournalMovement, bool) error) error {
	open := make([]*journalRead, 0, len(keys))
	for _, k := range keys {
		sku, err := l.skuFromJournalKey(k)
		if err != nil {
			continue // a foreign key that happens to match the pattern
		}
		open = append(open, &journalRead{sku: sku, key: k, end: "+"})
	}
	for len(open) > 0 {
		cmds := make([]*redis.XMessageSliceCmd, len(open))
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, r := range open {
				cmds[i] = p.XRevRangeN(ctx, r.key, r.end, "-", journalPage)
			}
			return nil
		})
		next := open[:0]
		for i, r := range open {
			more, err := l.journalPageDone(r, cmds[i], from, fn)
			if err != nil {
				return err
			}
			if more {
				next = append(next, r)
			}
		}
		open = next
	}
	return nil
}

// journalPageDone adds one page to r; it reports whether r needs another
// page, and hands r to fn once it does not.
func (l *Ledger) journalPageDone(r *journalRead, cmd *redis.XMessageSliceCmd, from time.Time, fn func(string, []JournalMovement, bool) error) (bool, error) {
	msgs, err := cmd.Result()
	if err != nil {
		return false, fmt.Errorf("reading journal of %s: %w", r.sku, err)
	}
	r.seen += int64(len(msgs))
	for _, m := range msgs {
		e, err := decodeMovement(m)
		if err != nil {
			return false, fmt.Errorf("journal of %s: %w", r.sku, err)
		}
		if e.Time.Before(from) {
			return false, deliverJournal(r, false, fn)
		}
		r.entries = append(r.entries, e)
	}
	if len(msgs) == journalPage {
		r.end = "(" + msgs[len(msgs)-1].ID
		return true, nil
	}
	return false, deliverJournal(r, r.seen >= l.opts.JournalMaxLen, fn)
}

// deliverJournal hands r's entries to fn oldest first.
func deliverJournal(r *journalRead, short bool, fn func(string, []JournalMovement, bool) error) error {
	if len(r.entries) == 0 {
		return nil
	}
	es := r.entries
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return fn(r.sku, es, short)
}

// decodeMovement decodes one entry and, for an order line's, its ids from
// the field's "version,channel␟order␟line␟location" (decodeJournalEntry
// has checked that shape).
func decodeMovement(m redis.XMessage) (JournalMovement, error) {
	e, err := decodeJournalEntry(m.ID, m.Values)
	if err != nil {
		return JournalMovement{}, err
	}
	mv := JournalMovement{JournalEntry: e}
	if e.Op != OpLine {
		return mv, nil
	}
	raw, _ := m.Values["m"].(string)
	parts := strings.SplitN(raw, ",", 8)
	ids := strings.SplitN(parts[len(parts)-1], string(fieldSep), 4)
	if len(parts) != 8 || len(ids) != 4 {
		return JournalMovement{}, fmt.Errorf("entry %s: malformed line entry %q", m.ID, raw)
	}
	mv.Channel, mv.OrderID, mv.LineID = ids[0], ids[1], ids[2]
	return mv, nil
}

// skuFromJournalKey extracts the SKU from a journal key found by SCAN.
func (l *Ledger) skuFromJournalKey(key string) (string, error) {
	head := l.opts.Prefix + "j:{"
	if !strings.HasPrefix(key, head) || !strings.HasSuffix(key, "}") || len(key) < len(head)+2 {
		return "", fmt.Errorf("not a journal key: %q", key)
	}
	return skuFromKeySKU(key[len(head) : len(key)-1])
}

// ReorderMany reads the reorder settings of many SKUs in one round trip;
// SKUs without any are absent.
func (l *Ledger) ReorderMany(ctx context.Context, skus []string) (map[string]ReorderSetting, error) {
	cmds := make([]*redis.MapStringStringCmd, len(skus))
	_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range skus {
			rkey, _, _ := l.signalKeys(s)
			cmds[i] = p.HGetAll(ctx, rkey)
		}
		return nil
	})
	out := make(map[string]ReorderSetting, len(skus))
	for i, s := range skus {
		m, err := cmds[i].Result()
		if err != nil {
			return nil, fmt.Errorf("reading reorder points of %s: %w", s, err)
		}
		set, ok, err := decodeReorderHash(s, m)
		if err != nil {
			return nil, err
		}
		if ok {
			out[s] = set
		}
	}
	return out, nil
}
