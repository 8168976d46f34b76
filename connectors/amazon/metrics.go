package amazon

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shelfsync/shelfsync/connectors"
)

// metrics are the connector's own counters, on the registerer the framework
// labelled with the channel.
type metrics struct {
	// sqsMessages counts SQS messages by what became of them: received,
	// deleted, ignored (a notification that moves no stock, deleted),
	// unparsable (left for the queue's redrive policy).
	sqsMessages *prometheus.CounterVec
	// feeds counts JSON_LISTINGS_FEED submissions by final processing status.
	feeds *prometheus.CounterVec
	// pushed counts pushed SKUs by path (patch, feed) and outcome.
	pushed *prometheus.CounterVec
	// orderChanges counts ORDER_CHANGE notifications taken in by what they
	// became: state (the order's state, no call) or fetch (order_changed).
	orderChanges *prometheus.CounterVec
	// shipToRefused counts Amazon refusing the RECIPIENT dataset (once a
	// process: the connector then reads orders without it).
	shipToRefused prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sqsMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_amazon_sqs_messages_total",
			Help: "SQS notification messages, by outcome (received, deleted, ignored, unparsable).",
		}, []string{"outcome"}),
		feeds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_amazon_feeds_total",
			Help: "JSON_LISTINGS_FEED submissions, by outcome: the final processing status (DONE, FATAL, CANCELLED, TIMEOUT).",
		}, []string{"outcome"}),
		pushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_amazon_pushed_skus_total",
			Help: "SKU quantities pushed to Amazon, by path (patch, feed) and outcome (the push result: accepted, retry, ...); shelfsync_push_items_total has the outcomes of every channel.",
		}, []string{"path", "outcome"}),
		orderChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shelfsync_amazon_order_changes_total",
			Help: "ORDER_CHANGE notifications taken in, by outcome: state (the order's state from the notification, no SP-API call) or fetch (the order is fetched).",
		}, []string{"outcome"}),
		shipToRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shelfsync_amazon_ship_to_refused_total",
			Help: "Times Amazon refused the RECIPIENT dataset (no Direct-to-Consumer Delivery role) and orders were read again without their destination, from then on for the process.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.sqsMessages, m.feeds, m.pushed, m.orderChanges, m.shipToRefused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

// countOrderChanges counts the ORDER_CHANGE events among events.
func (m *metrics) countOrderChanges(events []connectors.Event) {
	for _, ev := range events {
		switch {
		case ev.Topic != TypeOrderChange:
		case ev.Kind == connectors.EventOrder:
			m.orderChanges.WithLabelValues("state").Inc()
		case ev.Kind == connectors.EventOrderChanged:
			m.orderChanges.WithLabelValues("fetch").Inc()
		}
	}
}
