package amazon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// SP-API notification types this connector reads.
const (
	TypeOrderChange            = "ORDER_CHANGE"
	TypeMFNQuantityChange      = "LISTINGS_ITEM_MFN_QUANTITY_CHANGE"
	TypeFeedProcessingFinished = "FEED_PROCESSING_FINISHED"
)

// notification is the SP-API notification envelope. Older types spell
// its keys in PascalCase (NotificationType), newer ones in camelCase
// (notificationType); encoding/json matches either.
type notification struct {
	NotificationType     string          `json:"NotificationType"`
	EventTime            string          `json:"EventTime"`
	Payload              json.RawMessage `json:"Payload"`
	NotificationMetadata struct {
		NotificationID string `json:"NotificationId"`
		PublishTime    string `json:"PublishTime"`
	} `json:"NotificationMetadata"`
}

// envelope reads a bare notification and an EventBridge event (whose
// detail is the notification) in one pass.
type envelope struct {
	notification
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

type orderChangePayload struct {
	OrderChangeNotification struct {
		AmazonOrderID   string `json:"AmazonOrderId"`
		OrderChangeType string `json:"OrderChangeType"`
	} `json:"OrderChangeNotification"`
}

type mfnQuantityPayload struct {
	SellerID               string `json:"SellerId"`
	Sku                    string `json:"Sku"`
	FulfillmentChannelCode string `json:"FulfillmentChannelCode"`
	Quantity               *int64 `json:"Quantity"`
}

type feedFinishedPayload struct {
	FeedProcessingFinishedNotification struct {
		FeedID           string `json:"feedId"`
		FeedType         string `json:"feedType"`
		ProcessingStatus string `json:"processingStatus"`
	} `json:"feedProcessingFinishedNotification"`
}

// errMalformed marks a notification that can not be read (answered 400).
var errMalformed = errors.New("malformed notification")

// ParseNotification reads one SP-API notification, bare (an SQS message
// body, an SQS-to-HTTPS relay) or wrapped in an EventBridge event, into
// events for channel: ORDER_CHANGE is "order changed, fetch it",
// LISTINGS_ITEM_MFN_QUANTITY_CHANGE is "the channel's stock changed". A
// well-formed notification of any other type (FEED_PROCESSING_FINISHED: the
// pusher reads its feed's report itself) returns no events and an error
// wrapping connectors.ErrIgnored that says what it was. Anything unreadable
// is an error wrapping errMalformed.
func ParseNotification(channel string, data []byte, receivedAt time.Time) ([]connectors.Event, error) {
	n, err := decodeNotification(data)
	if err != nil {
		return nil, err
	}
	ev := connectors.Event{
		Channel:    channel,
		ID:         n.NotificationMetadata.NotificationID,
		Topic:      n.NotificationType,
		ReceivedAt: receivedAt,
	}
	switch n.NotificationType {
	case TypeOrderChange:
		var p orderChangePayload
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return nil, fmt.Errorf("%w: ORDER_CHANGE payload: %v", errMalformed, err)
		}
		id := p.OrderChangeNotification.AmazonOrderID
		if id == "" {
			return nil, fmt.Errorf("%w: ORDER_CHANGE without AmazonOrderId", errMalformed)
		}
		ev.Kind, ev.OrderID = connectors.EventOrderChanged, id
		return []connectors.Event{ev}, nil
	case TypeMFNQuantityChange:
		var p mfnQuantityPayload
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return nil, fmt.Errorf("%w: %s payload: %v", errMalformed, n.NotificationType, err)
		}
		if p.Sku == "" || p.Quantity == nil {
			return nil, fmt.Errorf("%w: %s without Sku or Quantity", errMalformed, n.NotificationType)
		}
		at, err := parseTime("EventTime", n.EventTime)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", errMalformed, n.NotificationType, err)
		}
		ev.Kind = connectors.EventStockChanged
		ev.Stock = &connectors.StockChange{SKU: p.Sku, ChannelLocation: p.FulfillmentChannelCode, Quantity: *p.Quantity, At: at}
		return []connectors.Event{ev}, nil
	case TypeFeedProcessingFinished:
		var p feedFinishedPayload
		if err := json.Unmarshal(n.Payload, &p); err != nil {
			return nil, fmt.Errorf("%w: %s payload: %v", errMalformed, n.NotificationType, err)
		}
		f := p.FeedProcessingFinishedNotification
		return nil, fmt.Errorf("%w: FEED_PROCESSING_FINISHED of feed %s (%s, %s) moves no stock: the pusher reads its own feeds' reports",
			connectors.ErrIgnored, f.FeedID, f.FeedType, f.ProcessingStatus)
	}
	return nil, fmt.Errorf("%w: notification type %s moves no stock", connectors.ErrIgnored, n.NotificationType)
}

// decodeNotification unwraps an EventBridge event if data is one.
func decodeNotification(data []byte) (*notification, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errMalformed)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	n := env.notification
	if len(env.Detail) > 0 && !bytes.Equal(env.Detail, []byte("null")) {
		n = notification{}
		if err := json.Unmarshal(env.Detail, &n); err != nil {
			return nil, fmt.Errorf("%w: EventBridge detail: %v", errMalformed, err)
		}
	}
	if n.NotificationType == "" {
		// EventBridge names the type in detail-type too.
		n.NotificationType = env.DetailType
	}
	if n.NotificationType == "" {
		return nil, fmt.Errorf("%w: no NotificationType", errMalformed)
	}
	return &n, nil
}
