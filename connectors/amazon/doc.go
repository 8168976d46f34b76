// Package amazon is shelfsync's connector for Amazon's Selling Partner API
// (SP-API): it polls orders (Orders API v2026-01-01 searchOrders, items
// inline; or v0 getOrders, then getOrderItems per order), builds an order's
// state from an ORDER_CHANGE notification (fetching it with getOrder only
// when the notification does not say enough), takes notifications from the
// seller's SQS queue (a Runner) and from relayed HTTP deliveries (POST
// /webhooks/{channel}, bare or wrapped in an EventBridge event), sets
// merchant-fulfilled quantities (patchListingsItem for a few SKUs, one
// JSON_LISTINGS_FEED for many) and reads them back (searchListingsItems),
// confirms shipments (confirmShipment, one package per shipment, its
// packageReferenceId derived from the shipment id so a repeat edits it)
// and reads seller-fulfilled returns (the returns report of the Reports
// API).
//
// Every call carries a Login with Amazon access token in
// x-amz-access-token (no SigV4 since 2023-10), is paced by a limiter per
// operation a little inside Amazon's published rate and burst, and retunes
// that limiter to the x-amzn-RateLimit-Limit Amazon answers with.
//
// It translates; it never decides. It must never delete an SQS message
// before the events it carries are on the durable intake, never log or
// return a token, a client secret or a relay secret, never touch FBA
// (Amazon-fulfilled) quantities, and never keep a goroutine past the
// context it was given.
package amazon
