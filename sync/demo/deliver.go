package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/connectors/amazon/amazontest"
	"github.com/shelfsync/shelfsync/connectors/ebay"
)

// notification is one marketplace notification, ready to (re)deliver.
// Delivering it twice is what a marketplace's retry does: same body, same
// delivery id.
type notification struct {
	channel string
	topic   string // Shopify's X-Shopify-Topic
	eventID string // Shopify's X-Shopify-Event-Id
	body    []byte
}

// deliver hands n to the daemon as its marketplace would: Shopify and eBay
// POST signed webhooks to /webhooks/{channel} (retrying a refusal a few
// times, as they do); Amazon puts the notification on its SQS queue, which
// the daemon's Amazon connector reads. It returns the HTTP status (0 for
// Amazon).
func (g *Generator) deliver(ctx context.Context, n notification) (int, error) {
	if n.channel == Amazon {
		g.f.Amazon.SendMessage(string(n.body))
		return 0, nil
	}
	var (
		code int
		err  error
	)
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return code, ctx.Err()
			case <-t.C:
			}
		}
		code, err = g.post(ctx, n)
		if err == nil && code < 500 && code != http.StatusTooManyRequests {
			return code, nil
		}
	}
	return code, err
}

func (g *Generator) post(ctx context.Context, n notification) (int, error) {
	target := g.o.Target + "/webhooks/" + n.channel
	if n.channel == Shopify {
		return g.f.Shopify.Deliver(ctx, g.o.Client, target, n.topic, n.body, n.eventID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(n.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ebay.SignatureHeader, g.f.Ebay.SignedNotification(n.body))
	resp, err := g.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ebayNotification is an ORDER_CONFIRMATION notification of one line of
// an order, as eBay's Notification API sends it.
func ebayNotification(id, orderID, lineID string, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"topic": ebay.TopicOrderConfirmation, "schemaVersion": "1.0", "deprecated": false},
		"notification": map[string]any{
			"notificationId": id, "eventDate": at.UTC().Format(time.RFC3339Nano),
			"publishDate": at.UTC().Format(time.RFC3339Nano), "publishAttemptCount": 1,
			"data": map[string]any{
				"user":  map[string]any{"userId": "shelfsync_demo_seller", "username": "shelfsync_demo_seller"},
				"order": map[string]any{"orderId": orderID, "lineItemId": lineID},
			},
		},
	})
}

// amazonNotification is an ORDER_CHANGE notification (order level) of o,
// as Amazon sends it: its Summary carries the order's status and items
// (schemas/notifications/OrderChangeNotification.json), which is all the
// connector needs: no SP-API call per sale.
func amazonNotification(id string, o amazontest.Order, changeType string) ([]byte, error) {
	ts := o.LastUpdate.UTC().Format(time.RFC3339Nano)
	items := make([]map[string]any, 0, len(o.Items))
	var shipped, unshipped int64
	for _, it := range o.Items {
		items = append(items, map[string]any{
			"OrderItemId": it.OrderItemID, "SellerSKU": it.SellerSKU, "SupplySourceId": nil,
			"Quantity": it.Ordered, "QuantityShipped": it.Shipped,
		})
		shipped += it.Shipped
		unshipped += it.Ordered - it.Shipped
	}
	return json.Marshal(map[string]any{
		"NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0", "EventTime": ts,
		"Payload": map[string]any{"OrderChangeNotification": map[string]any{
			"NotificationLevel": "OrderLevel", "SellerId": amazontest.DefaultSellerID, "AmazonOrderId": o.AmazonOrderID,
			"OrderChangeType":    changeType,
			"OrderChangeTrigger": map[string]any{"TimeOfOrderChange": ts, "ChangeReason": changeType},
			"Summary": map[string]any{
				"MarketplaceId": o.MarketplaceID, "OrderStatus": o.Status, "FulfillmentType": o.FulfillmentChannel,
				"OrderType": "StandardOrder", "PurchaseDate": o.Created.UTC().Format(time.RFC3339Nano), "DestinationPostalCode": nil,
				"NumberOfItemsShipped": shipped, "NumberOfItemsUnshipped": unshipped, "OrderItems": items,
			},
		}},
		"NotificationMetadata": map[string]any{
			"ApplicationId": "amzn1.sellerapps.app.shelfsync-demo", "SubscriptionId": "shelfsync-demo",
			"PublishTime": ts, "NotificationId": id,
		},
	})
}

// shopifyRefund is a refunds/create body: the REST refund resource.
func shopifyRefund(refundID, orderID, lineID int64, sku string, qty int64, restock string, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"id": refundID, "order_id": orderID, "created_at": at.UTC().Format(time.RFC3339), "restock": true,
		"refund_line_items": []any{map[string]any{
			"line_item_id": lineID, "quantity": qty, "restock_type": restock,
			"line_item": map[string]any{"id": lineID, "sku": sku},
		}},
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
