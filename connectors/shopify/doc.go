// Package shopify is shelfsync's connector for Shopify stores, on the
// GraphQL Admin API: it turns webhook deliveries (REST-shaped bodies) and
// polled GraphQL orders into the canonical model, sets listed quantities
// with compare-and-set (inventorySetQuantities + changeFromQuantity), reads
// live quantities, and resolves SKUs to inventory items.
//
// It translates and never decides: it does not touch the ledger, holds no
// package state (two stores in one config share nothing), starts no
// goroutine, never overwrites a quantity the channel changed meanwhile
// (a stale compare is reported, not forced), and never puts the access
// token or a webhook secret in a log line or an error.
//
// Files: shopify.go (construction, registry), gid.go (numeric ids and
// GIDs), order.go (the one mapping of an order to the canonical model),
// rest.go (webhook/REST shapes), graphql_order.go (GraphQL shapes),
// normalize.go, webhook.go, queries.go (the GraphQL documents), graphql.go
// (transport), throttle.go (cost pacing), poll.go, resolve.go, push.go,
// read.go. shopifytest is the fake store the tests run against.
package shopify
