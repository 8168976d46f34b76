// Package inventory is shelfsync's stock ledger: per SKU and location the
// physical units (on_hand) and the units promised to unshipped orders
// (reserved), kept in Redis and changed only by Lua scripts, so that every
// operation is atomic and safe to repeat. Every movement is journaled in the
// same script run, Verify checks the figures against the order-line records
// and the journal, and push intents hand each change on to the push side
// without losing it in a crash. ATS turns availability into the quantity a
// channel lists.
//
// The package knows nothing of marketplaces: callers translate orders into
// absolute line states (LineState) and the ledger applies the difference.
//
// It must never touch, inside one script, keys of more than one SKU (every
// script's keys share the SKU's hash tag, so the ledger runs unchanged on
// Redis Cluster), never apply a stock movement without journaling it, and
// never hold state in package variables. inventory/README.md documents the
// key layout and the hand-off to the push side.
package inventory
