package engine

import (
	"context"
	"fmt"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/shadow"
	"github.com/shelfsync/shelfsync/sync/status"
)

// shadowFor is the recorder a channel's pusher writes to instead of the
// channel in shadow mode; nil in live mode.
func (e *Engine) shadowFor(cc config.Channel) *shadow.Recorder {
	if e.cfg.ChannelMode(cc) == config.ModeShadow {
		return e.shadow
	}
	return nil
}

// ShadowReport is what shadow mode would have pushed to channel, against
// what the channel lists now (read through its read role). A live channel
// reports what was recorded while it was in shadow mode.
func (e *Engine) ShadowReport(ctx context.Context, channel string) (shadow.Report, error) {
	ch, ok := e.channels[channel]
	if !ok {
		return shadow.Report{}, fmt.Errorf("%w %q", status.ErrUnknownChannel, channel)
	}
	var reader connectors.QuantityReader
	if r, ok := ch.conn.(connectors.QuantityReader); ok {
		reader = r
		if ch.cfg.PerLocation() {
			// The recorded items are keyed per location.
			reader = locationKeyReader{e: e, ch: ch}
		}
	}
	rep, err := e.shadow.Report(ctx, channel, reader)
	if err != nil {
		return shadow.Report{}, err
	}
	rep.Mode = e.cfg.ChannelMode(ch.cfg)
	return rep, nil
}
