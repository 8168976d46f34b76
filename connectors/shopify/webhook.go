package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shelfsync/shelfsync/connectors"
)

// Webhook headers Shopify sends (names are case-insensitive).
const (
	headerHMAC      = "X-Shopify-Hmac-Sha256"
	headerTopic     = "X-Shopify-Topic"
	headerShop      = "X-Shopify-Shop-Domain"
	headerEventID   = "X-Shopify-Event-Id"
	headerWebhookID = "X-Shopify-Webhook-Id"
)

// stockTopics are the topics that move stock; every other topic is
// acknowledged and ignored. orders/delete is ignored too: Shopify only
// deletes orders that are already cancelled or archived, whose stock the
// earlier events settled.
var stockTopics = map[string]bool{
	"orders/create":              true,
	"orders/updated":             true,
	"orders/cancelled":           true,
	"orders/edited":              true,
	"orders/fulfilled":           true,
	"orders/partially_fulfilled": true,
	"refunds/create":             true,
	"inventory_levels/update":    true,
}

// returnTopics are the returns/* topics and the Return.status each one
// means when the body states none (WebhookSubscriptionTopic:
// returns/request "Return.status is REQUESTED", returns/approve "OPEN",
// returns/decline "DECLINED"; returns/close closes, returns/cancel cancels,
// returns/reopen reopens a closed return). returns/update and
// returns/process carry no state change of their own and are ignored.
var returnTopics = map[string]string{
	"returns/request": "requested",
	"returns/approve": "open",
	"returns/decline": "declined",
	"returns/close":   "closed",
	"returns/cancel":  "canceled",
	"returns/reopen":  "open",
}

// ParseWebhook implements connectors.WebhookVerifier. It checks
// X-Shopify-Hmac-Sha256 over the raw body against every configured secret
// (rotation), constant-time, before it reads anything else; it then
// checks the shop domain (one app's secret signs for every shop that
// installed it) and parses the body by topic. The dedup id is topic +
// X-Shopify-Event-Id (the same for every delivery of one merchant
// action), falling back to X-Shopify-Webhook-Id. orders/edited carries
// no order, only its id: it becomes an order_changed event.
//
// A signed body the ledger would refuse is a 400 and returns no events
// (the framework stores nothing): an id or SKU with a control character
// ("invalid_identifier"), a quantity below 0 or above MaxQuantity, an
// inventory level past ±MaxQuantity ("invalid_quantity"), an updated_at
// before 1970 or more than MaxClockSkew past the connector's clock
// ("invalid_version"); a body that can not be read is "malformed".
func (c *Connector) ParseWebhook(ctx context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	topic, id, err := c.delivery(r)
	if err != nil {
		return nil, err
	}
	events, err := c.topicEvents(topic, r.Body)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		// An inventory level of an untracked item (available: null).
		return nil, fmt.Errorf("topic %s: nothing to report: %w", topic, connectors.ErrIgnored)
	}
	for i := range events {
		e := &events[i]
		e.Topic = topic
		e.ReceivedAt = r.ReceivedAt
		if id != "" {
			e.ID = eventID(topic, id, i, len(events))
		}
		c.enrich(ctx, e)
	}
	return events, nil
}

// delivery authenticates a delivery (signature, then shop) before reading
// anything else from it, and returns its topic (lower case) and its
// dedup id ("" if it has none). A topic that moves no stock is ignored.
func (c *Connector) delivery(r *connectors.WebhookRequest) (topic, id string, err error) {
	if err := c.verify(r.Header, r.Body); err != nil {
		return "", "", err
	}
	if shop := strings.ToLower(header(r.Header, headerShop)); c.shop != "" && shop != "" && shop != c.shop {
		return "", "", connectors.Unauthorized("wrong_shop", fmt.Errorf("delivery for shop %q, the channel is %q", shop, c.shop))
	}
	topic = strings.ToLower(strings.TrimSpace(header(r.Header, headerTopic)))
	if topic == "" {
		return "", "", connectors.Malformed(errors.New("no X-Shopify-Topic header"))
	}
	id = header(r.Header, headerEventID)
	if id == "" {
		id = header(r.Header, headerWebhookID)
	}
	if _, ret := returnTopics[topic]; !stockTopics[topic] && !ret {
		return "", "", fmt.Errorf("topic %s: %w", topic, connectors.ErrIgnored)
	}
	return topic, id, nil
}

// topicEvents parses a signed body by its topic and refuses what the
// ledger would refuse: events of another kind than the topic's, and
// orders versioned in the future.
func (c *Connector) topicEvents(topic string, body []byte) ([]connectors.Event, error) {
	var events []connectors.Event
	var err error
	if status, ok := returnTopics[topic]; ok {
		events, err = returnEvents(c.deps.Channel.Name, status, body)
	} else if topic == "orders/edited" {
		events, err = c.orderEditEvents(body)
	} else if topicKind(topic) == connectors.EventOrder {
		events, err = payloadReader{channel: c.deps.Channel.Name, locations: c.locations}.orderBody(body)
	} else {
		events, err = payloadReader{channel: c.deps.Channel.Name, locations: c.locations}.parse(body)
	}
	if err != nil {
		return nil, connectors.WebhookRefusal(fmt.Errorf("topic %s: %w", topic, err))
	}
	now := c.deps.Now()
	for _, e := range events {
		if want := topicKind(topic); e.Kind != want {
			return nil, connectors.Malformed(fmt.Errorf("topic %s: the body holds a %s, not a %s", topic, e.Kind, want))
		}
		// A version from the future would block every later state of
		// the order in the ledger: refused, with nothing stored.
		if e.Order != nil {
			if err := connectors.CheckVersion("updated_at", e.Order.UpdatedAt, now); err != nil {
				return nil, connectors.WebhookRefusal(fmt.Errorf("topic %s: order %s: %w", topic, e.Order.OrderID, err))
			}
		}
	}
	return events, nil
}

// eventID is the dedup id of event i of the n one delivery holds: topic
// and delivery id, suffixed by i when the delivery holds several.
func eventID(topic, id string, i, n int) string {
	if n > 1 {
		return fmt.Sprintf("%s:%s:%d", topic, id, i)
	}
	return topic + ":" + id
}

// enrich counts an order event's lines without a SKU and names a stock
// event's SKU from the cache.
func (c *Connector) enrich(ctx context.Context, e *connectors.Event) {
	if e.Order != nil {
		if n := noSKULines(e.Order); n > 0 {
			c.metrics.noSKULines.WithLabelValues("webhook").Add(float64(n))
		}
	}
	if e.Stock != nil && e.Stock.SKU == "" {
		// Best effort: the engine maps the item itself when the cache
		// has not seen it yet, so a cache failure only costs a lookup.
		if sku, ok, err := c.deps.Cache.Get(ctx, itemKey(e.Stock.ItemID)); err == nil && ok {
			e.Stock.SKU = sku
		}
	}
}

// topicKind is the kind of event a topic's body must hold.
func topicKind(topic string) connectors.EventKind {
	if _, ok := returnTopics[topic]; ok {
		return connectors.EventReturn
	}
	switch topic {
	case "refunds/create":
		return connectors.EventReturn
	case "inventory_levels/update":
		return connectors.EventStockChanged
	case "orders/edited":
		return connectors.EventOrderChanged
	}
	return connectors.EventOrder
}

// orderEditEvents reads an orders/edited body ({"order_edit": {"order_id", …}}):
// it names the order, and the order's new state is fetched.
func (c *Connector) orderEditEvents(body []byte) ([]connectors.Event, error) {
	var v struct {
		OrderEdit *struct {
			OrderID json.Number `json:"order_id"`
		} `json:"order_edit"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	if v.OrderEdit == nil || numericID(v.OrderEdit.OrderID.String()) == "" {
		return nil, errors.New("orders/edited body without order_edit.order_id")
	}
	id := numericID(v.OrderEdit.OrderID.String())
	return []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: c.deps.Channel.Name, OrderID: id}}, nil
}

// verify checks the body's HMAC against every secret, constant-time.
func (c *Connector) verify(h http.Header, body []byte) error {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header(h, headerHMAC)))
	if err != nil || len(got) != sha256.Size {
		return connectors.Unauthorized("bad_signature", errors.New("missing or unreadable X-Shopify-Hmac-Sha256"))
	}
	ok := false
	for _, s := range c.secrets {
		m := hmac.New(sha256.New, []byte(s.Value()))
		m.Write(body)
		// No early exit: the time taken does not say which secret matched.
		if hmac.Equal(m.Sum(nil), got) {
			ok = true
		}
	}
	if !ok {
		return connectors.Unauthorized("bad_signature", errors.New("X-Shopify-Hmac-Sha256 matches no configured secret"))
	}
	return nil
}

// header reads a header by name whatever its case: the framework may
// hand over a header map that was not built by net/http.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
