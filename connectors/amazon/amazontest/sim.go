package amazontest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

// The usage plans of the simulated channel (sim.Options.Plan).
const (
	// PlanPublished is Amazon's published default plan of every operation
	// (PublishedLimits): what a new seller gets. The default.
	PlanPublished = "published"
	// PlanRaised is a large seller's raised plan (RaisedLimits).
	PlanRaised = "raised"
)

// RaisedLimits is the raised plan (requests a second, per operation; the
// rest stay at Amazon's published plan). Amazon's published defaults
// (getOrder and getOrderItems 0.5/s, patchListingsItem 5/s) would let a
// channel that fetches every order take one order every two seconds; these
// are what a seller with a raised plan gets: realistic in kind (the fake
// enforces them, the connector adapts and waits exactly as against
// Amazon), workable at any demo rate. A patch sets one SKU, and at 100
// orders/s every channel sees about 100 changed SKUs a second, so the
// patch plan is twice that. Feeds keep Amazon's own limits (5
// JSON_LISTINGS_FEED per 5 minutes), which is why the demo's Amazon
// channel pushes below the feed threshold. confirmShipment's published 2
// a second would hold the demo's shipments to two a second on Amazon.
func RaisedLimits() map[string]float64 {
	return map[string]float64{
		"getOrders": 1, "getOrder": 50, "getOrderItems": 50,
		"searchOrders": 1, "getOrder_2026-01-01": 50,
		"patchListingsItem": 200, "getListingsItem": 100, "searchListingsItems": 100,
		// Shipments: the 50 confirmations a second with room.
		"confirmShipment": 60,
	}
}

func init() {
	sim.Register(sim.Registration{Name: "amazon", Rank: 30, Start: func(o sim.Options) sim.Channel {
		var limits map[string]float64
		if o.Plan == PlanRaised {
			limits = RaisedLimits()
		}
		return &Sim{Server: New(Options{
			Latency: o.Latency, RateLimits: limits,
			// A message the connector received but could not hand on is
			// seen again soon, as with a short SQS visibility timeout.
			VisibilityTimeout: 10 * time.Second,
		})}
	}})
}

// Sim is the fake Amazon as the demo's simulated channel (connectors/sim).
type Sim struct{ Server *Server }

// URL is the fake's base URL.
func (s *Sim) URL() string { return s.Server.URL }

// Close stops the fake.
func (s *Sim) Close() { s.Server.Close() }

// Config is the demo's amazon channel: notifications through the SQS
// fake (no webhook), pushes below the feed threshold.
func (s *Sim) Config(env sim.Env) (config.Channel, error) {
	am := s.Server.Options()
	settings, err := sim.Settings("amazon", map[string]any{
		"seller_id": am.SellerID, "marketplace_ids": []string{DefaultMarketplace},
		"auth_url": s.Server.TokenURL(), "feed_threshold": 17,
		"sqs": map[string]any{"queue_url": s.Server.QueueURL(), "region": DefaultAWSRegion, "endpoint": s.Server.URL, "wait_time": "2s"},
	})
	return config.Channel{
		Name: env.Name, Kind: "amazon", APIURL: s.Server.URL,
		Credentials: config.Credentials{ClientID: config.NewSecret(am.ClientID), ClientSecret: config.NewSecret(am.ClientSecret),
			RefreshToken: config.NewSecret(am.RefreshToken), AWSAccessKeyID: config.NewSecret(am.AWSAccessKeyID),
			AWSSecretAccessKey: config.NewSecret(am.AWSSecretAccessKey)},
		Webhook:   config.Webhook{Disabled: true},
		BatchSize: 16,
		Settings:  settings,
	}, err
}

// List sets sku's listing; Listed reads it.
func (s *Sim) List(sku string, qty int64)      { s.Server.SetListing(sku, qty) }
func (s *Sim) Listed(sku string) (int64, bool) { return s.Server.Quantity(sku) }

// Refunds: the demo cancels Amazon orders only.
func (s *Sim) Refunds() bool { return false }

// Droppable: the SQS queue loses nothing.
func (s *Sim) Droppable() bool { return false }

// Drain is the longest the channel can take to push what is waiting when
// the orders stop: every one of skus once (pushes coalesce per SKU), one
// patchListingsItem call each, at the fake's plan (the connector paces at
// 90% of it).
func (s *Sim) Drain(skus int) time.Duration {
	perSecond := s.Server.Plan("patchListingsItem").Rate * 0.9
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(float64(skus) / perSecond * float64(time.Second)).Round(time.Second)
}

// message is a notification on the SQS fake.
type simMessage struct {
	s    *Server
	body []byte
}

func (m simMessage) Deliver(context.Context, *http.Client, string) (int, error) {
	m.s.SendMessage(string(m.body))
	return 0, nil
}

// PlaceOrder places an unshipped MFN order of one item (Amazon lowers the
// listing on a sale) and its ORDER_CHANGE; the follow-up is its cancel.
func (s *Sim) PlaceOrder(p sim.Placement) (sim.Order, error) {
	now := time.Now()
	orderID := fmt.Sprintf("113-%s%04d-%07d", p.Run, (p.Seq/10000000)%10000, p.Seq%10000000)
	o := Order{
		AmazonOrderID: orderID, Status: "Unshipped", LastUpdate: now, Created: now, FulfillmentChannel: "MFN",
		MarketplaceID: DefaultMarketplace,
		Items:         []Item{{OrderItemID: fmt.Sprintf("%s%011d", p.Run, p.Seq), SellerSKU: p.SKU, Ordered: p.Qty}},
	}
	s.Server.AddOrder(o)
	s.Server.Sell(p.SKU, p.Qty)
	body, err := OrderChangeNotification(p.EventID(), o, "OrderStatusChange")
	if err != nil {
		return sim.Order{}, err
	}
	cancelID := p.EventID()
	follow := func(string) (sim.Notification, bool) {
		o.Status = "Canceled"
		o.LastUpdate = time.Now()
		s.Server.AddOrder(o)
		b, err := OrderChangeNotification(cancelID, o, "OrderStatusChange")
		if err != nil {
			return nil, false
		}
		return simMessage{s: s.Server, body: b}, true
	}
	return sim.Order{ID: orderID, First: simMessage{s: s.Server, body: body}, FollowUp: follow}, nil
}

// OrderChangeNotification is an ORDER_CHANGE notification (order level)
// of o, as Amazon sends it: its Summary carries the order's status and
// items (schemas/notifications/OrderChangeNotification.json), which is all
// the connector needs: no SP-API call per sale.
func OrderChangeNotification(id string, o Order, changeType string) ([]byte, error) {
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
			"NotificationLevel": "OrderLevel", "SellerId": DefaultSellerID, "AmazonOrderId": o.AmazonOrderID,
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

var _ sim.Shipper = (*Sim)(nil)

// Confirmations implements sim.Shipper: the tracking numbers of the
// order's confirmed packages (a package edited by a repeat counts once).
func (s *Sim) Confirmations(orderID string) []string {
	var out []string
	for _, p := range s.Server.Packages(orderID) {
		out = append(out, p.TrackingNumber)
	}
	return out
}
