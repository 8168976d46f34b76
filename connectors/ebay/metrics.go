package ebay

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the connector's own, on the channel-labelled registerer;
// the shared API metrics (requests, throttling) are the HTTP client's.
type metrics struct {
	signatureChecks  *prometheus.CounterVec // outcome
	keyFetches       prometheus.Counter
	budgetRefusals   prometheus.Counter
	tokenRejections  prometheus.Counter
	noSKULines       prometheus.Counter
	ignoredDelivered *prometheus.CounterVec // topic-free reason
	keyLookups       *prometheus.CounterVec // outcome
	refusedOrders    *prometheus.CounterVec // source, reason
	skippedReturns   *prometheus.CounterVec // reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		signatureChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ebay_signature_checks_total",
			Help: "Notification signature checks, by outcome (valid, invalid, key_error, key_limited: not checked, the key-fetch budget spent).",
		}, []string{"outcome"}),
		keyFetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_ebay_public_key_fetches_total",
			Help: "Notification public keys fetched from eBay (cache misses).",
		}),
		budgetRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_ebay_revision_budget_refusals_total",
			Help: "Quantity updates held back because the SKU reached its daily revision ceiling.",
		}),
		tokenRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_ebay_token_rejections_total",
			Help: "API calls answered 401: the access token was dropped and the call tried once more.",
		}),
		noSKULines: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_ebay_no_sku_lines_total",
			Help: "Order lines sold from listings without a SKU (they move no stock).",
		}),
		ignoredDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ebay_ignored_notifications_total",
			Help: "Verified notifications that move no stock, by reason (topic, no_order_id).",
		}, []string{"reason"}),
		keyLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ebay_public_key_lookups_total",
			Help: "Public key lookups of signed deliveries, by outcome: cached, fetched, stale (a known key past its TTL, eBay failing or the fetch budget spent), unknown (eBay does not know the kid, maybe remembered), failed (eBay did not answer, maybe remembered), limited (the key-fetch budget is spent).",
		}, []string{"outcome"}),
		refusedOrders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ebay_refused_orders_total",
			Help: "eBay orders not handed on because the ledger would refuse them, by source (poll, fetch) and reason (quantity, identifier, version).",
		}, []string{"source", "reason"}),
		skippedReturns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_ebay_skipped_returns_total",
			Help: "eBay returns (Post-Order API) not handed on, once per state of the return, by reason (invalid: an id, quantity or date the ledger could not take; unknown_order: getOrder does not know its order; unknown_line: no line of the order matches its item).",
		}, []string{"reason"}),
	}
	for _, r := range skipReasons {
		m.skippedReturns.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, col := range []prometheus.Collector{m.signatureChecks, m.keyFetches, m.budgetRefusals, m.tokenRejections, m.noSKULines, m.ignoredDelivered, m.keyLookups, m.refusedOrders, m.skippedReturns} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("registering eBay metrics: %w", err)
		}
	}
	return m, nil
}
