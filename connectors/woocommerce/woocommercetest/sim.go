package woocommercetest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors/sim"
)

func init() {
	sim.Register(sim.Registration{Name: "woocommerce", Rank: 40, Start: func(o sim.Options) sim.Channel {
		return &Sim{Server: New(Options{Latency: o.Latency}), name: "woocommerce"}
	}})
}

// Sim is the fake store as the demo's simulated channel (connectors/sim).
type Sim struct {
	*Server
	name string
}

// Config is the demo's woocommerce channel: the consumer key and secret
// as client id and secret, webhooks signed with the store's secret.
func (s *Sim) Config(env sim.Env) (config.Channel, error) {
	o := s.Options()
	settings, err := sim.Settings("woocommerce", map[string]any{"url": s.URL()})
	return config.Channel{
		Name: env.Name, Kind: "woocommerce", APIURL: s.URL(),
		Credentials: config.Credentials{ClientID: config.NewSecret(o.ConsumerKey), ClientSecret: config.NewSecret(o.ConsumerSecret)},
		Webhook:     config.Webhook{Secrets: []config.Secret{config.NewSecret(o.WebhookSecret)}},
		Settings:    settings,
	}, err
}

// List sets sku's managed stock, adding the product the first time.
func (s *Sim) List(sku string, qty int64) {
	if s.SetStock(sku, qty) != nil {
		s.AddProduct(Product{SKU: sku, ManageStock: true, Stock: qty})
	}
}

// Refunds: the demo cancels WooCommerce orders only.
func (s *Sim) Refunds() bool { return false }

// Droppable: webhooks may be lost.
func (s *Sim) Droppable() bool { return true }

// webhook is an order webhook, its body taken when the order changed.
type webhook struct {
	s           *Server
	name, topic string
	body        []byte
}

func (w webhook) Deliver(ctx context.Context, client *http.Client, base string) (int, error) {
	return w.s.Deliver(ctx, client, base+"/webhooks/"+w.name, w.topic, w.body)
}

// PlaceOrder is a checkout (Sell: the stock goes down, a processing order
// of one line) and its order.created webhook; the follow-up cancels it
// (order.updated).
func (s *Sim) PlaceOrder(p sim.Placement) (sim.Order, error) {
	id, err := s.Sell(p.SKU, p.Qty)
	if err != nil {
		return sim.Order{}, err
	}
	body, err := s.OrderJSON(id)
	if err != nil {
		return sim.Order{}, err
	}
	follow := func(string) (sim.Notification, bool) {
		if err := s.UpdateOrder(id, func(o *Order) { o.Status = "cancelled" }); err != nil {
			return nil, false
		}
		b, err := s.OrderJSON(id)
		if err != nil {
			return nil, false
		}
		return webhook{s: s.Server, name: s.name, topic: "order.updated", body: b}, true
	}
	first := webhook{s: s.Server, name: s.name, topic: "order.created", body: body}
	return sim.Order{ID: strconv.FormatInt(id, 10), First: first, FollowUp: follow}, nil
}
