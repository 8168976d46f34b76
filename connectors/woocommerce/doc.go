// Package woocommerce is shelfsync's connector for WooCommerce stores, on
// the WooCommerce REST API v3 (/wp-json/wc/v3): it turns webhook
// deliveries (order.created, order.updated, order.deleted,
// order.restored) and polled orders into the canonical model, sets stock
// quantities with the products and variations batch endpoints, reads them
// back for reconciliation, and resolves SKUs to products and variations.
//
// It translates and never decides: it does not touch the ledger, holds no
// package state (two stores in one config share nothing), starts no
// goroutine, never turns on a product's stock management itself (a
// listing WooCommerce does not manage stock for is reported, not
// changed), and never puts the consumer key, the consumer secret or a
// webhook secret in a log line, an error or a URL.
//
// Files: woocommerce.go (registration, construction, roles, metrics),
// settings.go (the channel's woocommerce: block), rest.go (the
// authenticated HTTP transport and WooCommerce's error shape),
// resource.go (WooCommerce's JSON shapes), order.go (the one mapping of an
// order and its refunds to the canonical model), validate.go (what the
// ledger would refuse), webhook.go, normalize.go, poll.go, resolve.go,
// push.go, read.go. woocommercetest is the fake store the tests run
// against.
package woocommerce
