package main

import (
	"context"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/server"
	"github.com/shelfsync/shelfsync/sync/status"
	"github.com/shelfsync/shelfsync/sync/store"
)

// The access checks at start: each channel's is retried after
// accessFirstRetry, doubling up to accessMaxRetry, until it passes once;
// each try is bounded by accessTimeout.
const (
	accessFirstRetry = 5 * time.Second
	accessMaxRetry   = 5 * time.Minute
	accessTimeout    = 30 * time.Second
)

// addChecks makes /readyz depend on Redis answering PING and on every
// channel: its connector's own Ready (connectors.Checker) and its health
// (credentials accepted since start, poll and push not failing longer
// than http.ready_failing_after). A channel whose connector has no access
// check counts as accepted from the start.
func addChecks(w *wiring) {
	rdb, h := w.rdb, w.health
	w.srv.AddCheck("redis", func(ctx context.Context) error { return store.Ping(ctx, rdb) })
	for _, ch := range w.channels {
		name := ch.cfg.Name
		if _, ok := ch.conn.(connectors.AccessChecker); !ok {
			h.Observe(name, status.JobAccess, nil)
		}
		ready, _ := ch.conn.(connectors.Checker)
		w.srv.AddCheck("channel "+name, channelCheck(name, ready, h))
	}
}

func channelCheck(name string, ready connectors.Checker, h *status.Health) server.Check {
	return func(context.Context) error {
		if ready != nil {
			if err := ready.Ready(); err != nil {
				return err
			}
		}
		return h.Check(name)
	}
}

// awaitAccess makes ch's access check until it passes once (or ctx
// ends), feeding each outcome to the health: until then /readyz names
// the channel with the last error. Failures are logged here.
func awaitAccess(ctx context.Context, ch *channel, ac connectors.AccessChecker, h *status.Health, first time.Duration) {
	wait := first
	for {
		cctx, cancel := context.WithTimeout(ctx, accessTimeout)
		err := ac.Check(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		h.Observe(ch.cfg.Name, status.JobAccess, err)
		if err == nil {
			ch.log.Info().Msg("the channel accepts the credentials")
			return
		}
		ch.log.Warn().Err(err).Stringer("retry_in", wait).Msg("channel access check failed: not ready until it passes")
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, accessMaxRetry)
	}
}

// startAccessChecks runs every channel's access check loop in the
// background; each ends when its check passes or ctx ends.
func startAccessChecks(ctx context.Context, w *wiring) {
	for _, ch := range w.channels {
		if ac, ok := ch.conn.(connectors.AccessChecker); ok {
			go awaitAccess(ctx, ch, ac, w.health, w.accessRetry)
		}
	}
}
