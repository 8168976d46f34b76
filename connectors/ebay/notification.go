package ebay

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// Topics that say an order changed. ORDER_CONFIRMATION comes once per
// line item at checkout; ITEM_MARKED_SHIPPED when the seller ships. Both
// only name the order: the engine fetches it (getOrder).
const (
	TopicOrderConfirmation = "ORDER_CONFIRMATION"
	TopicItemMarkedShipped = "ITEM_MARKED_SHIPPED"
)

// envelope is a Notification API delivery.
type envelope struct {
	Metadata *struct {
		Topic         string `json:"topic"`
		SchemaVersion any    `json:"schemaVersion"`
	} `json:"metadata"`
	Notification *struct {
		NotificationID string          `json:"notificationId"`
		EventDate      string          `json:"eventDate"`
		PublishDate    string          `json:"publishDate"`
		Data           json.RawMessage `json:"data"`
	} `json:"notification"`
}

// errNoOrderID: an order topic whose payload names no order. The poller
// still sees the order; the delivery is answered and counted.
var errNoOrderID = errors.New("notification names no orderId")

// parseNotification turns a notification body into events. A topic that
// moves no stock, or an order topic without an order id, gives no events
// and an error wrapping connectors.ErrIgnored; a body that is not a
// notification is any other error, an order id holding a control
// character a *refusal.
func parseNotification(channel string, body []byte, receivedAt time.Time) ([]connectors.Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("notification body: %w", err)
	}
	if env.Metadata == nil || env.Notification == nil || env.Metadata.Topic == "" {
		return nil, errors.New("notification body: no metadata.topic or notification")
	}
	topic := env.Metadata.Topic
	if topic != TopicOrderConfirmation && topic != TopicItemMarkedShipped {
		return nil, fmt.Errorf("eBay topic %s: %w", topic, connectors.ErrIgnored)
	}
	orderID := findOrderID(env.Notification.Data)
	if orderID == "" {
		return nil, fmt.Errorf("eBay topic %s: %w: %w", topic, errNoOrderID, connectors.ErrIgnored)
	}
	// An id the ledger could not key is refused here, not dropped later.
	if err := connectors.CheckID("orderId", orderID); err != nil {
		return nil, fmt.Errorf("eBay topic %s: %w", topic, err)
	}
	ev := connectors.Event{
		Kind:       connectors.EventOrderChanged,
		Channel:    channel,
		Topic:      topic,
		ReceivedAt: receivedAt,
		OrderID:    orderID,
	}
	// ORDER_CONFIRMATION comes once per line item of one order; each has
	// its own notificationId, and the fetched order makes repeats harmless.
	if id := env.Notification.NotificationID; id != "" {
		ev.ID = topic + ":" + id
	}
	return []connectors.Event{ev}, nil
}

// findOrderID looks for the order id in a notification's data. eBay's
// published schemas for these topics are not openly licensed and
// secondary sources disagree on the nesting (data.orderId,
// data.order.orderId, data.<topic object>.orderId), so the first orderId
// string found at most two levels down is taken (unverified: see README).
func findOrderID(data json.RawMessage) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return ""
	}
	if id := stringField(top, "orderId"); id != "" {
		return id
	}
	for _, k := range []string{"order", "orderConfirmation", "itemMarkedShipped"} {
		var inner map[string]json.RawMessage
		if json.Unmarshal(top[k], &inner) == nil {
			if id := stringField(inner, "orderId"); id != "" {
				return id
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		var inner map[string]json.RawMessage
		if json.Unmarshal(top[k], &inner) == nil {
			if id := stringField(inner, "orderId"); id != "" {
				return id
			}
		}
	}
	return ""
}

func stringField(m map[string]json.RawMessage, key string) string {
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}
