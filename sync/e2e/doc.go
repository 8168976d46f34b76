// Package e2e holds the end-to-end tests of the daemon's core: the real
// engine on a real Redis, the real Shopify, eBay and Amazon connectors, and
// their fake marketplaces (shopifytest, ebaytest, amazontest), joined by
// the real webhook receiver over HTTP. It has no code of its own.
//
// Its tests call t.Parallel (all but TestShardBalance, a measurement that
// runs alone): each has its own key prefix on the shared Redis, or its own
// redis-server processes (redistest, random free ports), and its own
// listeners, and spends nearly all its time waiting (order windows, job
// periods, failovers, convergence polls): a whole run of the package
// takes about a quarter of one core on average. TestMain lets four run at
// once unless -test.parallel is given (main_test.go). The daemon binary is
// built once for all of them (buildBinary).
package e2e
