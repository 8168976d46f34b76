package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Delta is a relative change of on_hand at one location. Key identifies the
// operation (e.g. "po-1234/line-2"): the same request again with the same
// key, for the same SKU, within Options.OperationTTL, is a no-op that returns
// the first result; another request (operation, location, quantity or
// reason) under a key already used is refused with ErrKeyConflict.
type Delta struct {
	Key, SKU, Location string
	Quantity           int64
	Reason             string
}

// DeltaResult is the location's figures after the operation.
type DeltaResult struct {
	// Applied is false for a repeated Key (the first result is returned) and
	// for a count older than (or as old as) the last applied one.
	Applied                     bool
	OnHand, Reserved, Available int64
}

// ReturnOp is a customer return received at a location, applied once per Key.
type ReturnOp struct {
	Key, SKU, Location string
	Quantity           int64
	// Restock puts the units back on the shelf; false writes them off
	// (journaled, on_hand unchanged).
	Restock bool
	Reason  string
}

// Count is an absolute on_hand figure from a WMS.
type Count struct {
	SKU, Location string
	Quantity      int64
	// Version (or a timestamp) orders counts: an older or equal one never
	// overwrites the last applied one.
	Version int64
	// Net: the figure already excludes open reservations, so on_hand is set
	// to Quantity + reserved (reservations are not subtracted twice).
	Net    bool
	Reason string
}

// Receive adds Quantity (> 0) units to on_hand; it creates the SKU and the
// location if they are new.
func (l *Ledger) Receive(ctx context.Context, d Delta) (DeltaResult, error) {
	if err := d.check(); err != nil {
		return DeltaResult{}, fmt.Errorf("receive: %w", err)
	}
	if d.Quantity == 0 {
		return DeltaResult{}, fmt.Errorf("receive: %w: quantity must be positive", ErrInvalid)
	}
	reason := d.Reason
	if reason == "" {
		reason = "receive"
	}
	return l.applyDelta(ctx, "receive", d.SKU, d.Location, d.Key, d.Quantity, d.Quantity, reason, true, false)
}

// Adjust changes on_hand by a signed, non-zero Quantity for a Reason
// (damage, found, correction). It creates the SKU if new, and refuses with
// ErrInsufficient (changing nothing) when on_hand would drop below zero:
// use SetCount to restate a figure that has drifted.
func (l *Ledger) Adjust(ctx context.Context, d Delta) (DeltaResult, error) {
	q := d.Quantity
	if q < 0 {
		q = -q
	}
	dd := d
	dd.Quantity = q
	if err := dd.check(); err != nil {
		return DeltaResult{}, fmt.Errorf("adjust: %w", err)
	}
	if d.Quantity == 0 {
		return DeltaResult{}, fmt.Errorf("adjust: %w: quantity must not be zero", ErrInvalid)
	}
	if d.Reason == "" {
		return DeltaResult{}, fmt.Errorf("adjust: %w: a reason is required", ErrInvalid)
	}
	return l.applyDelta(ctx, "adjust", d.SKU, d.Location, d.Key, d.Quantity, d.Quantity, d.Reason, true, true)
}

// Return books a return of Quantity (> 0) units at a location, once per Key:
// restocked (on_hand up) or written off. The SKU must exist.
func (l *Ledger) Return(ctx context.Context, r ReturnOp) (DeltaResult, error) {
	d := Delta{Key: r.Key, SKU: r.SKU, Location: r.Location, Quantity: r.Quantity, Reason: r.Reason}
	if err := d.check(); err != nil {
		return DeltaResult{}, fmt.Errorf("return: %w", err)
	}
	if r.Quantity == 0 {
		return DeltaResult{}, fmt.Errorf("return: %w: quantity must be positive", ErrInvalid)
	}
	op, dh := "restock", r.Quantity
	if !r.Restock {
		op, dh = "writeoff", 0
	}
	reason := r.Reason
	if reason == "" {
		reason = "return " + strconv.FormatInt(r.Quantity, 10)
	} else {
		reason += " (" + strconv.FormatInt(r.Quantity, 10) + ")"
	}
	return l.applyDelta(ctx, op, r.SKU, r.Location, r.Key, r.Quantity, dh, reason, false, false)
}

func (d Delta) check() error {
	if err := checkSKU(d.SKU); err != nil {
		return err
	}
	if err := checkLocation("location", d.Location); err != nil {
		return err
	}
	if d.Key == "" {
		return fmt.Errorf("%w: an operation key is required", ErrInvalid)
	}
	return checkQuantity("quantity", d.Quantity)
}

// applyDelta runs delta.lua: q is the quantity as requested (it goes into
// the request's fingerprint), dh the change of on_hand.
func (l *Ledger) applyDelta(ctx context.Context, op, sku, loc, key string, q, dh int64, cause string, create, floor bool) (DeltaResult, error) {
	k := l.keys(sku)
	defs, sig := l.stockSignals(ctx)
	call := scriptCall{
		script: l.delta,
		keys:   l.withSignals(sig, sku, k.stock, k.journal, k.op(key)),
		sigs:   sigSKU(sku, sig),
		args: []any{loc, dh, op, cause, key, boolArg(create), boolArg(floor), l.nowMS(), l.ttlMS(), l.maxLen(), MaxQuantity,
			requestFingerprint(op, sku, loc, q, cause), defs},
	}
	replies, errs, err := l.run(ctx, []string{sku}, nil, []scriptCall{call})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return DeltaResult{}, fmt.Errorf("%s %s at %s: %w", op, sku, loc, err)
	}
	status, res, err := decodeFigureReply(replies[0])
	if err != nil {
		return DeltaResult{}, fmt.Errorf("%s %s at %s: %w", op, sku, loc, err)
	}
	switch status {
	case "applied":
		res.Applied = true
	case "repeat":
	case "conflict":
		return DeltaResult{}, fmt.Errorf("%s %s at %s: %w", op, sku, loc, ErrKeyConflict)
	case "unknown_sku":
		return DeltaResult{}, fmt.Errorf("%s %s: %w", op, sku, ErrUnknownSKU)
	case "insufficient":
		return res, fmt.Errorf("%s %s at %s by %d: on_hand is %d: %w", op, sku, loc, dh, res.OnHand, ErrInsufficient)
	case "out_of_range":
		return res, fmt.Errorf("%s %s at %s by %d: on_hand is %d: %w", op, sku, loc, dh, res.OnHand, ErrOutOfRange)
	default:
		return DeltaResult{}, fmt.Errorf("%s %s: unexpected status %q", op, sku, status)
	}
	return res, nil
}

// SetCount sets on_hand at a location to a WMS count, unless a count with
// the same or a newer version was applied (then Applied is false and the
// current figures are returned). It creates the SKU if new.
func (l *Ledger) SetCount(ctx context.Context, c Count) (DeltaResult, error) {
	if err := checkSKU(c.SKU); err != nil {
		return DeltaResult{}, fmt.Errorf("set count: %w", err)
	}
	if err := checkLocation("location", c.Location); err != nil {
		return DeltaResult{}, fmt.Errorf("set count: %w", err)
	}
	if err := checkQuantity("quantity", c.Quantity); err != nil {
		return DeltaResult{}, fmt.Errorf("set count: %w", err)
	}
	if c.Version < 0 {
		return DeltaResult{}, fmt.Errorf("set count: %w: version must not be negative, got %d", ErrInvalid, c.Version)
	}
	reason := c.Reason
	if reason == "" {
		reason = "count"
	}
	defs, sig := l.stockSignals(ctx)
	call := scriptCall{
		script: l.count,
		keys:   l.countKeys(nil, c.SKU, sig),
		sigs:   sigSKU(c.SKU, sig),
		args:   []any{c.Location, c.Quantity, strconv.FormatInt(c.Version, 10), boolArg(c.Net), reason, l.nowMS(), l.maxLen(), MaxQuantity, defs},
	}
	replies, errs, err := l.run(ctx, []string{c.SKU}, nil, []scriptCall{call})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return DeltaResult{}, fmt.Errorf("set count of %s at %s: %w", c.SKU, c.Location, err)
	}
	status, res, err := decodeFigureReply(replies[0])
	if err != nil {
		return DeltaResult{}, fmt.Errorf("set count of %s at %s: %w", c.SKU, c.Location, err)
	}
	if status == "out_of_range" {
		return res, fmt.Errorf("set count of %s at %s to %d (net %v): reserved is %d: %w", c.SKU, c.Location, c.Quantity, c.Net, res.Reserved, ErrOutOfRange)
	}
	res.Applied = status == "applied"
	return res, nil
}

func decodeFigureReply(v any) (string, DeltaResult, error) {
	a, err := replyArray(v, 3)
	if err != nil {
		return "", DeltaResult{}, err
	}
	status, err1 := replyString(a[0])
	h, err2 := replyInt(a[1])
	r, err3 := replyInt(a[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return "", DeltaResult{}, err
	}
	return status, DeltaResult{OnHand: h, Reserved: r, Available: h - r}, nil
}

// requestFingerprint identifies a keyed request: delta.lua stores it with
// the first result under the operation key, and refuses a later request
// under that key whose fingerprint differs (status conflict). It covers
// the operation (receive, adjust, restock, writeoff), the SKU, the
// location, the quantity as requested and the reason as journaled; 16 hex
// digits (64 bits) of SHA-256 over the length-prefixed fields, so no two
// different requests can be spelled alike and an accidental match is out
// of reach.
func requestFingerprint(op, sku, loc string, q int64, reason string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range []string{op, sku, loc, reason} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	h.Write(n[:binary.PutVarint(n[:], q)])
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}
