package shopifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

// Shopify's GraphQL cost bucket of a Shopify Plus store: 1000 points a
// second (shopify.dev, "GraphQL Admin API rate limits"), a bucket of ten
// seconds of it. A store taking tens of orders a second is on Plus; the
// standard plan's 100 points a second is used up by one order poll.
const (
	shopifyPlusRestore = 1000
	shopifyPlusBucket  = 10000
)

func init() {
	sim.Register(sim.Registration{Name: "shopify", Rank: 10, Start: func(o sim.Options) sim.Channel {
		return &Sim{Server: New(Options{Latency: o.Latency, BucketSize: shopifyPlusBucket, RestoreRate: shopifyPlusRestore})}
	}})
}

// Sim is the fake store as the demo's simulated channel (connectors/sim).
type Sim struct{ *Server }

// Config is the demo's shopify channel.
func (s *Sim) Config(env sim.Env) (config.Channel, error) {
	o := s.Options()
	locs := map[string]string{}
	for i, l := range env.Locations {
		locs[l] = o.LocationID
		if i > 0 {
			locs[l] = fmt.Sprintf("gid://shopify/Location/%d", 999001+i)
		}
	}
	settings, err := sim.Settings("shopify", map[string]any{"shop": o.Shop, "api_version": o.APIVersion, "location_ids": locs})
	return config.Channel{
		Name: env.Name, Kind: "shopify", APIURL: s.URL(),
		Credentials: config.Credentials{AccessToken: config.NewSecret(o.AccessToken)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(o.WebhookSecret)}},
		Settings:    settings,
	}, err
}

// List sets sku's level; Listed reads it.
func (s *Sim) List(sku string, qty int64)      { s.SetLevel(sku, qty) }
func (s *Sim) Listed(sku string) (int64, bool) { return s.LevelOK(sku) }

// Refunds: Shopify orders are refunded (restocked) too.
func (s *Sim) Refunds() bool { return true }

// Droppable: webhooks may be lost.
func (s *Sim) Droppable() bool { return true }

// webhook is a Shopify webhook to deliver.
type webhook struct {
	s                    *Server
	topic, eventID, name string
	body                 []byte
}

func (w webhook) Deliver(ctx context.Context, client *http.Client, base string) (int, error) {
	return w.s.Deliver(ctx, client, base+"/webhooks/"+w.name, w.topic, w.body, w.eventID)
}

// PlaceOrder places a paid order of one line (Shopify takes the units off
// the location at once) and its orders/create webhook; the follow-up is an
// orders/cancelled or a refunds/create (restocked before fulfilment).
func (s *Sim) PlaceOrder(p sim.Placement) (sim.Order, error) {
	id := s.AddOrder(Order{
		Name: fmt.Sprintf("#D%s%06d", p.Run, p.Seq), FinancialStatus: "PAID", UpdatedAt: time.Now(),
		Lines: []OrderLine{{SKU: p.SKU, Quantity: p.Qty}},
	})
	s.Sell(p.SKU, p.Qty)
	body, err := s.WebhookBody(id)
	if err != nil {
		return sim.Order{}, err
	}
	const name = "shopify"
	first := webhook{s: s.Server, name: name, topic: "orders/create", eventID: p.EventID(), body: body}
	cancelID, refundID := p.EventID(), p.EventID()
	follow := func(kind string) (sim.Notification, bool) {
		o, ok := s.Order(id)
		if !ok {
			return nil, false
		}
		now := time.Now()
		o.UpdatedAt = now
		if kind == sim.Cancel {
			o.CancelledAt = &now
			o.FinancialStatus = "VOIDED"
			s.AddOrder(o)
			b, err := s.WebhookBody(id)
			if err != nil {
				return nil, false
			}
			return webhook{s: s.Server, name: name, topic: "orders/cancelled", eventID: cancelID, body: b}, true
		}
		// A refund of the unfulfilled line, restocked: restock_type
		// "cancel", as Shopify records a refund before fulfilment.
		line := o.Lines[0]
		rid := id*10 + 1
		o.Refunds = append(o.Refunds, Refund{ID: rid, CreatedAt: now,
			Lines: []RefundLine{{LineID: line.ID, Quantity: line.Quantity, RestockType: "CANCEL"}}})
		o.FinancialStatus = "REFUNDED"
		s.AddOrder(o)
		b, err := RefundWebhookBody(rid, id, line.ID, line.SKU, line.Quantity, "cancel", now)
		if err != nil {
			return nil, false
		}
		return webhook{s: s.Server, name: name, topic: "refunds/create", eventID: refundID, body: b}, true
	}
	return sim.Order{ID: strconv.FormatInt(id, 10), First: first, FollowUp: follow}, nil
}

// RefundWebhookBody is a refunds/create body: the REST refund resource.
func RefundWebhookBody(refundID, orderID, lineID int64, sku string, qty int64, restock string, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"id": refundID, "order_id": orderID, "created_at": at.UTC().Format(time.RFC3339), "restock": true,
		"refund_line_items": []any{map[string]any{
			"line_item_id": lineID, "quantity": qty, "restock_type": restock,
			"line_item": map[string]any{"id": lineID, "sku": sku},
		}},
	})
}

var _ sim.Shipper = (*Sim)(nil)

// Confirmations implements sim.Shipper: the tracking numbers of the
// fulfillments fulfillmentCreate made on the order.
func (s *Sim) Confirmations(orderID string) []string {
	var out []string
	for _, c := range s.CreatedFulfillments() {
		if strconv.FormatInt(c.OrderID, 10) != orderID {
			continue
		}
		number := ""
		if c.Fulfillment.Tracking != nil {
			number = c.Fulfillment.Tracking.Number
		}
		out = append(out, number)
	}
	return out
}
