package ebaytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"context"
	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

func init() {
	sim.Register(sim.Registration{Name: "ebay", Rank: 20, Start: func(o sim.Options) sim.Channel {
		return &Sim{Server: New(Options{Latency: o.Latency}), name: "ebay"}
	}})
}

// Sim is the fake eBay as the demo's simulated channel (connectors/sim).
type Sim struct {
	*Server
	name string
}

// Config is the demo's ebay channel.
func (s *Sim) Config(env sim.Env) (config.Channel, error) {
	settings, err := sim.Settings("ebay", map[string]any{"auth_url": s.URL()})
	return config.Channel{
		Name: env.Name, Kind: "ebay", APIURL: s.URL(),
		Credentials: config.Credentials{ClientID: config.NewSecret(DefaultClientID),
			ClientSecret: config.NewSecret(DefaultClientSecret), RefreshToken: config.NewSecret(DefaultRefreshToken)},
		Webhook: config.Webhook{VerificationToken: config.NewSecret("shelfsync-demo-verification-token-0123456789"),
			EndpointURL: "http://" + env.Listen + "/webhooks/" + env.Name},
		Settings: settings,
	}, err
}

// List adds sku's listing (one offer); Listed reads it.
func (s *Sim) List(sku string, qty int64)      { s.AddListing(sku, qty, 1) }
func (s *Sim) Listed(sku string) (int64, bool) { return s.Quantity(sku) }

// Refunds: the demo cancels eBay orders only.
func (s *Sim) Refunds() bool { return false }

// Droppable: webhooks may be lost.
func (s *Sim) Droppable() bool { return true }

// notification is a signed ORDER_CONFIRMATION to POST.
type notification struct {
	s    *Server
	name string
	body []byte
}

func (n notification) Deliver(ctx context.Context, client *http.Client, base string) (int, error) {
	return sim.Post(ctx, client, base+"/webhooks/"+n.name, n.body, func(h http.Header) {
		h.Set("X-EBAY-SIGNATURE", n.s.SignedNotification(n.body))
	})
}

// PlaceOrder places an order of one line (eBay lowers the listing's
// quantity on a sale) and its ORDER_CONFIRMATION; eBay sends no
// notification for a cancellation: the daemon's scheduled poll finds it.
func (s *Sim) PlaceOrder(p sim.Placement) (sim.Order, error) {
	now := time.Now()
	orderID := fmt.Sprintf("27-%s%02d-%05d", p.Run, (p.Seq/100000)%100, p.Seq%100000)
	lineID := fmt.Sprintf("10%s%09d", p.Run, p.Seq)
	o := Order{
		OrderID: orderID, LegacyOrderID: lineID + "-" + lineID, CreationDate: now, LastModifiedDate: now,
		OrderFulfillmentStatus: "NOT_STARTED", OrderPaymentStatus: "PAID", CancelState: "NONE_REQUESTED",
		LineItems: []LineItem{{LineItemID: lineID, LegacyItemID: "11" + lineID, SKU: p.SKU, Title: "Demo item " + p.SKU,
			Quantity: p.Qty, LineItemFulfillmentStatus: "NOT_STARTED"}},
	}
	s.AddOrder(o)
	s.Sell(p.SKU, p.Qty)
	body, err := OrderConfirmation(p.EventID(), orderID, lineID, now)
	if err != nil {
		return sim.Order{}, err
	}
	follow := func(string) (sim.Notification, bool) {
		// In place: a fulfillment made meanwhile stays on the order.
		s.CancelOrder(orderID)
		return nil, true
	}
	return sim.Order{ID: orderID, First: notification{s: s.Server, name: s.name, body: body}, FollowUp: follow}, nil
}

// OrderConfirmation is an ORDER_CONFIRMATION notification of one line of
// an order, as eBay's Notification API sends it.
func OrderConfirmation(id, orderID, lineID string, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": false},
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

var _ sim.Shipper = (*Sim)(nil)

// Confirmations implements sim.Shipper: the tracking numbers of the
// order's shipping fulfillments.
func (s *Sim) Confirmations(orderID string) []string {
	var out []string
	for _, f := range s.Fulfillments(orderID) {
		out = append(out, f.TrackingNumber)
	}
	return out
}
