package main

import (
	"context"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/store"
)

// engine is the slot the sync engine fills in the run group: it takes the
// channels' events (Sink, handed to webhook receivers and Runners) and runs
// its own loops until ctx ends, returning nil then.
type engine interface {
	Sink() connectors.EventSink
	Run(ctx context.Context) error
}

// newEngine builds the engine from the wired parts. Until the engine
// exists, events only go onto the durable intake stream
// (<prefix>intake), where the engine will find them; the engine work
// replaces this function.
func newEngine(w *wiring) (engine, error) {
	return intakeOnly{sink: store.NewStreamIntake(w.rdb, w.cfg.Redis.KeyPrefix)}, nil
}

type intakeOnly struct{ sink *store.StreamIntake }

func (e intakeOnly) Sink() connectors.EventSink { return e.sink }

func (e intakeOnly) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
