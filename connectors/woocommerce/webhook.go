package woocommerce

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shelfsync/shelfsync/connectors"
)

// Webhook headers WooCommerce sends (https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks,
// "Delivery/payload"); names are case-insensitive.
const (
	headerSignature  = "X-WC-Webhook-Signature"
	headerTopic      = "X-WC-Webhook-Topic"
	headerWebhookID  = "X-WC-Webhook-ID"
	headerDeliveryID = "X-WC-Webhook-Delivery-ID"
)

// Order topics (WC_Webhook::get_default_topic_hooks): order.updated also
// fires when a refund is made or deleted; order.deleted when an order is
// moved to the trash; order.restored when it is taken out again.
const (
	topicCreated  = "order.created"
	topicUpdated  = "order.updated"
	topicDeleted  = "order.deleted"
	topicRestored = "order.restored"
)

// pingBody is what a new webhook sends to its delivery URL once, before
// any delivery: a form-encoded webhook_id, with no topic and no signature
// header (WC_Webhook::deliver_ping).
var pingBody = regexp.MustCompile(`^webhook_id=[0-9]{1,20}$`)

// ParseWebhook implements connectors.WebhookVerifier.
//
// A ping (body webhook_id=N, no X-WC-Webhook-Topic) is answered 200 with
// no events (ErrIgnored): WooCommerce expects a 200 to it. Everything
// else must carry X-WC-Webhook-Signature = base64(HMAC-SHA256(raw body,
// secret)), checked constant-time against every configured secret before
// anything is read (401 bad_signature otherwise). Then, by
// X-WC-Webhook-Topic (400 without one):
//
//   - order.created, order.updated, order.restored: the body is the order
//     resource. An order naming no refund is a whole-order event. One that
//     names refunds is an "order changed, fetch it" event: the refunds'
//     lines are not in the body (GET /orders/{id}/refunds), and an order
//     without them would read as less far along than it is. A checkout
//     draft is ErrIgnored.
//   - order.deleted: the body is {"id": N} (a trashed order: WooCommerce
//     fires it from wp_trash_post/woocommerce_trash_order). The order is
//     still readable with status trash, so this is an "order changed,
//     fetch it" event, and the fetch maps trash to a cancellation.
//   - any other topic: ErrIgnored (200, counted by the framework).
//
// The dedup id is topic + a hash of the body. X-WC-Webhook-Delivery-ID is
// not unique per delivery (WooCommerce derives it from the webhook id and
// the current second), and two states of an order within one second share
// their date_modified_gmt, so neither may key de-duplication; two
// identical bodies are the same state, so the hash can. The topic header
// is not signed (only the body is): every topic either maps the signed
// body or fetches the order, so a forged topic can not forge a state.
//
// A signed body the ledger would refuse is a 400 with no events: an SKU
// with a control character ("invalid_identifier"), a quantity below 0 or
// above MaxQuantity or not whole ("invalid_quantity"), a
// date_modified_gmt before 1970 or more than MaxClockSkew past the
// connector's clock ("invalid_version"); a body that can not be read is
// "malformed".
func (c *Connector) ParseWebhook(_ context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	if header(r.Header, headerTopic) == "" && pingBody.Match(bytes.TrimSpace(r.Body)) {
		return nil, fmt.Errorf("webhook ping (%s): %w", bytes.TrimSpace(r.Body), connectors.ErrIgnored)
	}
	if err := c.verify(r.Header, r.Body); err != nil {
		return nil, err
	}
	topic := strings.ToLower(strings.TrimSpace(header(r.Header, headerTopic)))
	if topic == "" {
		return nil, connectors.Malformed(errors.New("no X-WC-Webhook-Topic header"))
	}
	var events []connectors.Event
	switch topic {
	case topicCreated, topicUpdated, topicRestored:
		e, err := c.orderEvent(r.Body)
		if errors.Is(err, errNotAnOrder) {
			c.metrics.draftOrders.WithLabelValues("webhook").Inc()
			return nil, fmt.Errorf("topic %s: %w: %w", topic, err, connectors.ErrIgnored)
		}
		if err != nil {
			return nil, connectors.WebhookRefusal(fmt.Errorf("topic %s: %w", topic, err))
		}
		if e.Order != nil {
			if err := connectors.CheckVersion("date_modified_gmt", e.Order.UpdatedAt, c.deps.Now()); err != nil {
				return nil, connectors.WebhookRefusal(fmt.Errorf("topic %s: order %s: %w", topic, e.Order.OrderID, err))
			}
		}
		events = []connectors.Event{e}
	case topicDeleted:
		id, err := deletedID(r.Body)
		if err != nil {
			return nil, connectors.WebhookRefusal(fmt.Errorf("topic %s: %w", topic, err))
		}
		events = []connectors.Event{{Kind: connectors.EventOrderChanged, Channel: c.deps.Channel.Name, OrderID: id}}
	default:
		return nil, fmt.Errorf("topic %s: %w", topic, connectors.ErrIgnored)
	}
	sum := sha256.Sum256(r.Body)
	for i := range events {
		e := &events[i]
		e.Topic = topic
		e.ReceivedAt = r.ReceivedAt
		e.ID = topic + ":" + hex.EncodeToString(sum[:16])
	}
	c.log.Debug().Str("topic", topic).Str("webhook", header(r.Header, headerWebhookID)).
		Str("delivery", header(r.Header, headerDeliveryID)).Int("events", len(events)).Msg("WooCommerce webhook parsed")
	return events, nil
}

// orderEvent reads an order resource: a whole-order event, or an
// order_changed one when its refunds must be read first.
func (c *Connector) orderEvent(body []byte) (connectors.Event, error) {
	e, noSKU, unknown, err := readOrderPayload(c.mapping, body)
	if err != nil {
		return connectors.Event{}, err
	}
	if noSKU > 0 {
		c.metrics.noSKULines.WithLabelValues("webhook").Add(float64(noSKU))
	}
	if unknown {
		c.metrics.unknownStatus.WithLabelValues("webhook").Inc()
	}
	return e, nil
}

// readOrderPayload maps one order resource without I/O (webhooks and
// Normalize): a whole-order event, or an order_changed event when the
// order names refunds (their lines are only in GET /orders/{id}/refunds).
func readOrderPayload(m mapping, body []byte) (e connectors.Event, noSKU int, unknown bool, err error) {
	var o wcOrder
	if err := decodeObject(body, &o); err != nil {
		return e, 0, false, err
	}
	if needsRefunds(&o) {
		// Read it all the same: a hostile or unreadable body is refused
		// here, not after a fetch.
		res, err := m.canonical(&o, nil)
		if err != nil {
			return e, 0, false, err
		}
		return connectors.Event{Kind: connectors.EventOrderChanged, Channel: m.channel, OrderID: res.order.OrderID}, 0, false, nil
	}
	res, err := m.canonical(&o, nil)
	if err != nil {
		return e, 0, false, err
	}
	return connectors.Event{Kind: connectors.EventOrder, Channel: m.channel, Order: res.order}, res.noSKULines, res.unknownStatus, nil
}

// decodeObject decodes one JSON object, and nothing after it. A body that
// is not UTF-8 is refused: encoding/json would replace the bad bytes, and
// a SKU would silently become another one.
func decodeObject(body []byte, v any) error {
	if !utf8.Valid(body) {
		return errors.New("the body is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not the documented JSON object: %w", err)
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("data after the JSON object")
	}
	return nil
}

// deletedID reads an order.deleted body: {"id": N}, N a number or a
// numeric string.
func deletedID(body []byte) (string, error) {
	var v struct {
		ID *wcInt `json:"id"`
	}
	if err := decodeObject(body, &v); err != nil {
		return "", err
	}
	if v.ID == nil {
		return "", errors.New("order.deleted body without an id")
	}
	id, err := v.ID.id("order id")
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(id, 10), nil
}

// verify checks the body's signature against every secret, constant-time.
func (c *Connector) verify(h http.Header, body []byte) error {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header(h, headerSignature)))
	if err != nil || len(got) != sha256.Size {
		return connectors.Unauthorized("bad_signature", errors.New("missing or unreadable X-WC-Webhook-Signature"))
	}
	ok := false
	for _, s := range c.hooks {
		for _, key := range signingKeys(s.Value()) {
			m := hmac.New(sha256.New, []byte(key))
			m.Write(body)
			// No early exit: the time taken does not say which secret matched.
			if hmac.Equal(m.Sum(nil), got) {
				ok = true
			}
		}
	}
	if !ok {
		return connectors.Unauthorized("bad_signature", errors.New("X-WC-Webhook-Signature matches no configured secret"))
	}
	return nil
}

// htmlEntities are the entities wp_specialchars_decode(…, ENT_QUOTES)
// turns back into characters.
var htmlEntities = strings.NewReplacer(
	"&#039;", "'", "&#x27;", "'", "&quot;", `"`, "&#034;", `"`, "&#x22;", `"`,
	"&lt;", "<", "&#060;", "<", "&gt;", ">", "&#062;", ">",
	"&amp;", "&", "&#038;", "&", "&#x26;", "&",
)

// signingKeys are the keys a webhook secret may sign with. WooCommerce
// signs with wp_specialchars_decode(secret, ENT_QUOTES)
// (WC_Webhook::generate_signature), so a secret holding an HTML entity
// signs with the decoded characters; both forms are tried.
func signingKeys(secret string) []string {
	if d := htmlEntities.Replace(secret); d != secret {
		return []string{secret, d}
	}
	return []string{secret}
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
