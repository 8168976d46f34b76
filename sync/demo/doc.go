// Package demo is the simulator behind `shelfsync demo`: it starts the three
// fake marketplaces (shopifytest, ebaytest, amazontest) with API latency and
// rate limits, builds the daemon's configuration pointing at them, seeds a
// generated catalogue into the ledger and the fakes, places a stream of
// orders on the fakes and delivers each marketplace's notification the way
// the real one would (signed webhooks over HTTP, SQS messages), ships a
// share of them as a warehouse does (the daemon's admin API, POST
// /api/v1/shipments), reads live figures from the daemon's Prometheus
// registry, and checks at the end that every channel lists what the
// ledger says it should and that every shipment is confirmed on its
// channel's fake exactly once.
//
// It drives the daemon only from the outside, as the marketplaces and a
// warehouse do (HTTP, the fakes' APIs) and through the ledger for the
// initial stock: it must
// never reach into the engine's queues, never talk to a real marketplace,
// and never be linked into `shelfsync run`.
package demo
