package inventory

import (
	"context"
	"fmt"
	"strconv"
)

// CountOutcome is one count of a SetCounts: its figures, and Err when the
// ledger refused it (ErrOutOfRange); a count not applied because a count
// with the same or a newer version is recorded has Applied false and no Err.
type CountOutcome struct {
	DeltaResult
	Err error
}

// SetCounts applies counts as SetCount does (versioned absolute counts:
// an older or equal version never overwrites the recorded one, so applying
// the same counts again changes nothing), every count of the slice in one
// round trip with the push intents of its SKUs marked first, as every
// ledger writer does. Counts of SKUs whose keys share a Cluster slot
// (SKUSlot) go in one script run (count_bulk.lua, at most maxBulkRun
// counts each), so a caller that orders its counts by slot pays a
// script's fixed cost once per slot, not per count; each run touches one
// slot. Every count is checked before anything is sent: an invalid one
// fails the whole call (ErrInvalid, naming its index) and nothing is
// written. Callers bound the slice (a few thousand per call).
//
// A SKU without figures nor journal (new: a day-one import) gets its
// counts' journal entries in its slot's opening hash instead of a journal
// stream of its own (count_bulk.lua: a new stream is most of a count's
// cost in Redis); every journal reader (History, Verify, JournalsSince)
// puts them first, so they read as that SKU's first movements.
func (l *Ledger) SetCounts(ctx context.Context, counts []Count) ([]CountOutcome, error) {
	for i, c := range counts {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("set counts: count %d: %w", i, err)
		}
	}
	if len(counts) == 0 {
		return nil, nil
	}
	runs, skus := l.bulkRuns(ctx, counts)
	calls := make([]scriptCall, len(runs))
	for i, r := range runs {
		calls[i] = r.call
	}
	replies, errs, err := l.run(ctx, skus, nil, calls)
	if err != nil {
		return nil, fmt.Errorf("set counts: %w", err)
	}
	out := make([]CountOutcome, len(counts))
	for i, r := range runs {
		decodeBulkRun(counts, r.rows, replies[i], errs[i], out)
	}
	return out, nil
}

// maxBulkRun bounds the counts of one count_bulk.lua run, so no run holds
// Redis for long (a few ms at most).
const maxBulkRun = 256

// bulkRun is one count_bulk.lua run and the indexes of its counts.
type bulkRun struct {
	call  scriptCall
	rows  []int
	sku   map[string]int // SKU -> its number in the run's keys (1-based)
	names []any          // the SKUs, in number order
	args  []any          // six per count
}

// bulkRuns groups counts by their SKU's slot, in order of first
// appearance, into runs of at most maxBulkRun counts; it also returns
// every SKU once, to mark.
func (l *Ledger) bulkRuns(ctx context.Context, counts []Count) ([]*bulkRun, []string) {
	defs, sig := l.stockSignals(ctx)
	open := map[int]*bulkRun{}
	var runs []*bulkRun
	var skus []string
	seen := make(map[string]bool, len(counts))
	for i, c := range counts {
		slot := SKUSlot(c.SKU)
		r := open[slot]
		if r == nil || len(r.rows) == maxBulkRun {
			r = &bulkRun{sku: map[string]int{}, call: scriptCall{script: l.countBulk, keys: []string{l.slotOpeningKey(slot)}}}
			open[slot] = r
			runs = append(runs, r)
		}
		r.add(l, i, c, sig)
		if !seen[c.SKU] {
			seen[c.SKU] = true
			skus = append(skus, c.SKU)
		}
	}
	stride := 2
	if sig {
		stride = 4
	}
	head := []any{strconv.FormatInt(l.nowMS(), 10), l.maxLen(), MaxQuantity, stride, defs}
	for _, r := range runs {
		r.call.args = append(append(append(append(make([]any, 0, len(head)+1+len(r.names)+len(r.args)),
			head...), len(r.names)), r.names...), r.args...)
	}
	return runs, skus
}

// add puts count i, c, in r (and its SKU's keys, with its signal keys
// when sig, when it is r's first).
func (r *bulkRun) add(l *Ledger, i int, c Count, sig bool) {
	n, ok := r.sku[c.SKU]
	if !ok {
		r.call.keys = l.countKeys(r.call.keys, c.SKU, sig)
		if sig {
			r.call.sigs = append(r.call.sigs, c.SKU)
		}
		r.names = append(r.names, c.SKU)
		n = len(r.names)
		r.sku[c.SKU] = n
	}
	reason := c.Reason
	if reason == "" {
		reason = "count"
	}
	r.args = append(r.args, n, c.Location, c.Quantity, strconv.FormatInt(c.Version, 10), boolArg(c.Net), reason)
	r.rows = append(r.rows, i)
}

// decodeBulkRun stores the outcome of each count of one run in out: the
// run's error (Redis refused it: nothing of it was applied) or its
// status and figures.
func decodeBulkRun(counts []Count, rows []int, reply any, runErr error, out []CountOutcome) {
	fail := func(i int, err error) {
		c := counts[i]
		out[i].Err = fmt.Errorf("set count of %s at %s: %w", c.SKU, c.Location, err)
	}
	a, err := replyArray(reply, 3*len(rows))
	if runErr != nil {
		err = runErr
	}
	for j, i := range rows {
		if err != nil {
			fail(i, err)
			continue
		}
		status, res, derr := decodeFigureReply(a[3*j : 3*j+3])
		switch {
		case derr != nil:
			fail(i, derr)
		case status == "out_of_range":
			c := counts[i]
			out[i].Err = fmt.Errorf("set count of %s at %s to %d: %w", c.SKU, c.Location, c.Quantity, ErrOutOfRange)
		}
		res.Applied = status == "applied"
		out[i].DeltaResult = res
	}
}

// Check reports whether SetCount would accept c (ErrInvalid otherwise):
// a usable SKU and location, a quantity within range, a version not
// negative. It reads nothing.
func (c Count) Check() error {
	if err := checkSKU(c.SKU); err != nil {
		return err
	}
	if err := checkLocation("location", c.Location); err != nil {
		return err
	}
	if err := checkQuantity("quantity", c.Quantity); err != nil {
		return err
	}
	if c.Version < 0 {
		return fmt.Errorf("%w: version must not be negative, got %d", ErrInvalid, c.Version)
	}
	return nil
}
