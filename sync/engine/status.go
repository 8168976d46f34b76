package engine

import (
	"context"

	"github.com/shelfsync/shelfsync/sync/outbox"
	"github.com/shelfsync/shelfsync/sync/status"
)

// Status reads channel name's status.
func (e *Engine) Status(ctx context.Context, name string) (status.ChannelStatus, error) {
	ch, ok := e.channels[name]
	if !ok {
		return status.ChannelStatus{}, status.ErrUnknownChannel
	}
	s := status.ChannelStatus{Name: name, Kind: ch.cfg.Kind, Leases: map[string]string{}}
	var err error
	if s.Outbox, err = ch.outbox.Stats(ctx); err != nil {
		return s, err
	}
	if s.Parked, err = ch.outbox.Parked(ctx); err != nil {
		return s, err
	}
	for _, job := range []string{"poll", "reconcile", "push"} {
		if s.Leases[job], err = e.leaseHolder(ctx, job, name); err != nil {
			return s, err
		}
	}
	if s.Records, err = e.board.Get(ctx, name); err != nil {
		return s, err
	}
	return s, nil
}

// Outbox returns channel name's outbox (tools, tests).
func (e *Engine) Outbox(name string) (*outbox.Outbox, bool) {
	ch, ok := e.channels[name]
	if !ok {
		return nil, false
	}
	return ch.outbox, true
}

// leaseHolder is who holds a channel's job lease ("" when free). The push
// lease lives in the channel's outbox (it fences what the pusher records).
func (e *Engine) leaseHolder(ctx context.Context, job, name string) (string, error) {
	if job == "push" {
		return e.leases.HolderOfKey(ctx, e.channels[name].outbox.LeaseKey())
	}
	return e.leases.HolderOf(ctx, job+":"+name)
}
