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

// orderChangePayload is ORDER_CHANGE's payload (schemas/notifications/
// OrderChangeNotification.json). The trigger and the summary are decoded
// apart: a summary that can not be read leaves "fetch it", never a lost
// notification.
type orderChangePayload struct {
	OrderChangeNotification struct {
		NotificationLevel  string          `json:"NotificationLevel"`
		AmazonOrderID      string          `json:"AmazonOrderId"`
		OrderChangeType    string          `json:"OrderChangeType"`
		OrderChangeTrigger json.RawMessage `json:"OrderChangeTrigger"`
		Summary            json.RawMessage `json:"Summary"`
	} `json:"OrderChangeNotification"`
}

type orderChangeTrigger struct {
	// TimeOfOrderChange is null "when there is no related timestamp".
	TimeOfOrderChange *string `json:"TimeOfOrderChange"`
	ChangeReason      string  `json:"ChangeReason"`
}

type orderChangeSummary struct {
	OrderStatus     string `json:"OrderStatus"`
	FulfillmentType string `json:"FulfillmentType"`
	OrderItems      []struct {
		OrderItemID     string `json:"OrderItemId"`
		SellerSKU       string `json:"SellerSKU"`
		OrderItemStatus string `json:"OrderItemStatus"`
		Quantity        *int64 `json:"Quantity"`
		QuantityShipped *int64 `json:"QuantityShipped"`
	} `json:"OrderItems"`
}

// notificationLevelOrder: an OrderLevel notification carries every item of
// the order; an OrderItemLevel one carries one item, which is not the
// order's state (its other lines would read as gone).
const notificationLevelOrder = "OrderLevel"

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
// events for channel. ORDER_CHANGE is the order's whole state (an
// EventOrder built from its Summary, as the poller would build it: no
// SP-API call per sale) when the notification says enough, else "order
// changed, fetch it" (see orderFromNotification); an ORDER_CHANGE of an
// Amazon-fulfilled order is ignored, as the poller never asks for those.
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
		ev.OrderID = id
		o, afn, _ := orderFromNotification(channel, &p)
		switch {
		case afn:
			return nil, fmt.Errorf("%w: ORDER_CHANGE of Amazon-fulfilled order %s moves none of the seller's stock", connectors.ErrIgnored, id)
		case o != nil:
			ev.Kind, ev.Order = connectors.EventOrder, o
		default:
			ev.Kind = connectors.EventOrderChanged
		}
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

// orderFromNotification builds the order's absolute state from an
// ORDER_CHANGE, with the poller's own mapping (orderState): status from
// Summary.OrderStatus, lines from Summary.OrderItems (Quantity,
// QuantityShipped), version TimeOfOrderChange. afn reports an
// Amazon-fulfilled order (FulfillmentType AFN), which moves none of the
// seller's stock. It returns nil and why when the notification does not say
// enough to be the order's state, and the order must be fetched:
//
//   - not an OrderLevel notification (an OrderItemLevel one holds one item);
//   - no readable Summary, no OrderItems, no FulfillmentType;
//   - no TimeOfOrderChange (null is allowed by the schema): no version;
//   - an OrderStatus the poller does not know;
//   - an item without OrderItemId or Quantity, or without QuantityShipped
//     in a state where units may have shipped (anything past Unshipped);
//   - items that do not make a valid order (the same check the poller's
//     orders pass).
func orderFromNotification(channel string, p *orderChangePayload) (o *connectors.Order, afn bool, why string) {
	sum, afn, why := notificationSummary(p)
	if why != "" {
		return nil, afn, why
	}
	st, err := statusV0(sum.OrderStatus)
	if err != nil {
		return nil, false, err.Error()
	}
	at, why := timeOfOrderChange(p)
	if why != "" {
		return nil, false, why
	}
	items, why := summaryItems(sum, st)
	if why != "" {
		return nil, false, why
	}
	o, err = orderState(channel, p.OrderChangeNotification.AmazonOrderID, "", st, at, false, items)
	if err != nil {
		return nil, false, err.Error()
	}
	return o, false, ""
}

// notificationSummary reads the Summary of an OrderLevel notification of
// a seller-fulfilled order; otherwise it returns why not (and afn for an
// Amazon-fulfilled order), and the order must be fetched.
func notificationSummary(p *orderChangePayload) (sum *orderChangeSummary, afn bool, why string) {
	n := &p.OrderChangeNotification
	if n.NotificationLevel != notificationLevelOrder {
		return nil, false, fmt.Sprintf("NotificationLevel %q is not OrderLevel", n.NotificationLevel)
	}
	if len(n.Summary) == 0 || string(n.Summary) == "null" {
		return nil, false, "no Summary"
	}
	sum = &orderChangeSummary{}
	if err := json.Unmarshal(n.Summary, sum); err != nil {
		return nil, false, "unreadable Summary: " + err.Error()
	}
	switch sum.FulfillmentType {
	case "AFN":
		return nil, true, "Amazon-fulfilled"
	case "MFN":
	default:
		return nil, false, fmt.Sprintf("FulfillmentType %q", sum.FulfillmentType)
	}
	return sum, false, ""
}

// timeOfOrderChange is the notification's version, its trigger's
// TimeOfOrderChange, or why there is none.
func timeOfOrderChange(p *orderChangePayload) (at time.Time, why string) {
	var trig orderChangeTrigger
	if raw := p.OrderChangeNotification.OrderChangeTrigger; len(raw) > 0 {
		if err := json.Unmarshal(raw, &trig); err != nil {
			return time.Time{}, "unreadable OrderChangeTrigger: " + err.Error()
		}
	}
	if trig.TimeOfOrderChange == nil {
		return time.Time{}, "no TimeOfOrderChange"
	}
	at, err := parseTime("TimeOfOrderChange", *trig.TimeOfOrderChange)
	if err != nil {
		return time.Time{}, err.Error()
	}
	return at, ""
}

// summaryItems are the summary's items as the poller reads them, for an
// order in status st, or why they do not say enough.
func summaryItems(sum *orderChangeSummary, st connectors.OrderStatus) (items []orderItemV0, why string) {
	if len(sum.OrderItems) == 0 {
		return nil, "no OrderItems"
	}
	// Before Unshipped nothing can have shipped ("no items in the order
	// have been shipped"); past it, a missing QuantityShipped is unknown.
	nothingShipped := st == connectors.StatusPending || st == connectors.StatusOpen
	items = make([]orderItemV0, 0, len(sum.OrderItems))
	for i, it := range sum.OrderItems {
		if it.OrderItemID == "" || it.Quantity == nil {
			return nil, fmt.Sprintf("item %d without OrderItemId or Quantity", i)
		}
		var shipped int64
		switch {
		case it.QuantityShipped != nil:
			shipped = *it.QuantityShipped
		case !nothingShipped:
			return nil, fmt.Sprintf("item %s without QuantityShipped in status %s", it.OrderItemID, sum.OrderStatus)
		}
		items = append(items, orderItemV0{OrderItemID: it.OrderItemID, SellerSKU: it.SellerSKU, QuantityOrdered: *it.Quantity, QuantityShipped: shipped})
	}
	return items, ""
}
