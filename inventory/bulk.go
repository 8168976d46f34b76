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
// ledger writer does. Every count is checked before anything is sent: an
// invalid one fails the whole call (ErrInvalid, naming its index) and
// nothing is written. Callers bound the slice (a few thousand per call).
func (l *Ledger) SetCounts(ctx context.Context, counts []Count) ([]CountOutcome, error) {
	calls := make([]scriptCall, len(counts))
	skus := make([]string, 0, len(counts))
	seen := make(map[string]bool, len(counts))
	now := l.nowMS()
	for i, c := range counts {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("set counts: count %d: %w", i, err)
		}
		reason := c.Reason
		if reason == "" {
			reason = "count"
		}
		k := l.keys(c.SKU)
		calls[i] = scriptCall{
			script: l.count,
			keys:   l.withSignals(c.SKU, k.stock, k.journal),
			args:   []any{c.Location, c.Quantity, strconv.FormatInt(c.Version, 10), boolArg(c.Net), reason, now, l.maxLen(), MaxQuantity},
		}
		if !seen[c.SKU] {
			seen[c.SKU] = true
			skus = append(skus, c.SKU)
		}
	}
	if len(calls) == 0 {
		return nil, nil
	}
	replies, errs, err := l.run(ctx, skus, nil, calls)
	if err != nil {
		return nil, fmt.Errorf("set counts: %w", err)
	}
	out := make([]CountOutcome, len(counts))
	for i, c := range counts {
		if errs[i] != nil {
			out[i].Err = fmt.Errorf("set count of %s at %s: %w", c.SKU, c.Location, errs[i])
			continue
		}
		status, res, err := decodeFigureReply(replies[i])
		switch {
		case err != nil:
			out[i].Err = fmt.Errorf("set count of %s at %s: %w", c.SKU, c.Location, err)
		case status == "out_of_range":
			out[i].Err = fmt.Errorf("set count of %s at %s to %d: %w", c.SKU, c.Location, c.Quantity, ErrOutOfRange)
		}
		res.Applied = status == "applied"
		out[i].DeltaResult = res
	}
	return out, nil
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
