package main

import (
	"context"
	"net/http"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/admin"
	syncengine "github.com/shelfsync/shelfsync/sync/engine"
)

// engine is the slot the sync engine fills in the run group: it takes the
// channels' events (Sink, handed to webhook receivers and Runners) and runs
// its own loops until ctx ends, returning nil then.
type engine interface {
	Sink() connectors.EventSink
	Run(ctx context.Context) error
}

// newEngine builds the sync engine from the wired parts and mounts the
// admin API when an admin token is configured.
func newEngine(w *wiring) (*syncengine.Engine, error) {
	conns := make(map[string]connectors.Connector, len(w.channels))
	for _, ch := range w.channels {
		conns[ch.cfg.Name] = ch.conn
	}
	e, err := syncengine.New(syncengine.Options{
		Config: w.cfg, Redis: w.rdb, Connectors: conns, Registry: w.reg,
		Logger: w.log, // the engine names its components itself
		Health: w.health,
	})
	if err != nil {
		return nil, err
	}
	if tok := w.cfg.HTTP.AdminToken; tok.IsSet() {
		var h http.Handler = admin.New(admin.Deps{Ledger: e.Ledger(), Listings: e, Channels: e, DeadLetters: e.Intake(), Catalog: &admin.Catalog{Book: e.Catalog(), Ledger: e.Ledger(), Channels: e.Channels(), Listings: e.Propagator()}, Shadow: e, Reorder: &admin.Reorder{Ledger: e.Ledger(), Locations: locationIDs(w.cfg)}, StockImport: &admin.StockImport{Ledger: e.Ledger(), Locations: locationIDs(w.cfg)}, Reports: &admin.Reports{Ledger: e.Ledger()}, Shipments: e.Shipments(), ShipmentDeadLetters: e.Inbound()}, tok.Value(), w.log.With().Str("component", "admin").Logger())
		w.srv.MountAdmin("/api/v1/", h)
		w.log.Info().Str("path", "/api/v1/").Msg("admin API mounted")
	} else {
		w.log.Info().Msg("admin API off: set http.admin_token to enable it")
	}
	return e, nil
}

var _ engine = (*syncengine.Engine)(nil)
