package connectors

import (
	"sync"
	"sync/atomic"
)

// OptionalPart is an optional part of a read that a channel may refuse:
// an order's destination (Shopify's shippingAddress, Amazon's RECIPIENT
// dataset), asked for so routing can pick a location by region, but never
// worth a read that fails. Read makes the read with the part while the
// part is asked for; when the channel refuses the part, the same read is
// made without it, and if that succeeds the part is not asked for again
// for the life of the OptionalPart (the process: a restart asks again).
// So a poll or fetch never stops because of the part: its orders come
// without it. Safe for concurrent use.
type OptionalPart struct {
	// refused says whether a read's error is the channel refusing the
	// part (rather than the read as a whole).
	refused func(error) bool
	// dropped is the metric/log hook: called once, with the refusal, the
	// first time the part is dropped.
	dropped func(refusal error)
	ask     atomic.Bool
	once    sync.Once
}

// NewOptionalPart is a part asked for if ask (a channel's setting, as
// shopify.read_ship_to). refused tells the part's refusal from any other
// error; dropped (may be nil) counts and logs the drop, once.
func NewOptionalPart(ask bool, refused func(error) bool, dropped func(refusal error)) *OptionalPart {
	p := &OptionalPart{refused: refused, dropped: dropped}
	p.ask.Store(ask)
	return p
}

// Asked reports whether reads still ask for the part.
func (p *OptionalPart) Asked() bool { return p.ask.Load() }

// Read calls read(true) while the part is asked for, else read(false).
// If read(true) fails with the part's refusal, it calls read(false): on
// success the part is dropped (dropped is called the first time) and Read
// returns nil; on failure Read returns that second error and the part is
// still asked for (the channel refused more than the part, so the refusal
// may not have been the part's). Any other error of read(true) is returned
// as it is, with no second read.
func (p *OptionalPart) Read(read func(withPart bool) error) error {
	if !p.ask.Load() {
		return read(false)
	}
	err := read(true)
	if err == nil || !p.refused(err) {
		return err
	}
	if err2 := read(false); err2 != nil {
		return err2
	}
	p.ask.Store(false)
	p.once.Do(func() {
		if p.dropped != nil {
			p.dropped(err)
		}
	})
	return nil
}
