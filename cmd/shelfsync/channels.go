package main

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
)

// channel is one configured channel with its built connector.
type channel struct {
	cfg  config.Channel
	conn connectors.Connector
	log  zerolog.Logger
}

// connectorFactory builds a connector; connectors.New in the binary, a
// fake in tests.
type connectorFactory func(connectors.Deps) (connectors.Connector, error)

// buildChannels builds every channel's connector and reports every
// failure, not the first only. Factories do no network I/O and start
// nothing (the connectors contract), so this is safe in validate.
func buildChannels(cfg *config.Config, b *depsBuilder, newConnector connectorFactory) ([]*channel, []error) {
	var (
		chans []*channel
		errs  []error
	)
	for _, ch := range cfg.Channels {
		d := b.deps(ch)
		c, err := newConnector(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c == nil {
			errs = append(errs, fmt.Errorf("channel %s: the %s connector built nothing", ch.Name, ch.Kind))
			continue
		}
		chans = append(chans, &channel{cfg: ch, conn: c, log: d.Logger})
	}
	return chans, errs
}
