// Package e2e holds the end-to-end tests of the daemon's core: the real
// engine on a real Redis, the real Shopify, eBay and Amazon connectors, and
// their fake marketplaces (shopifytest, ebaytest, amazontest), joined by
// the real webhook receiver over HTTP. It has no code of its own.
package e2e
