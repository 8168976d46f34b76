package woocommercetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Sign is WooCommerce's X-WC-Webhook-Signature of body under secret:
// base64(HMAC-SHA256(body, secret)) (WC_Webhook::generate_signature).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// DeletedBody is an order.deleted webhook's body: the id alone.
func DeletedBody(id int64) []byte {
	return []byte(`{"id":` + strconv.FormatInt(id, 10) + `}`)
}

// NewWebhook builds the POST WooCommerce would deliver to target for
// topic (order.updated…), signed with the store's webhook secret and
// carrying WooCommerce's headers. X-WC-Webhook-Delivery-ID is made as
// WooCommerce makes it: a hash of the webhook id and the current second,
// so two deliveries within a second share it.
func (s *Server) NewWebhook(ctx context.Context, target, topic string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("woocommercetest: webhook request: %w", err)
	}
	resource, event, _ := strings.Cut(topic, ".")
	sec := s.opts.Now().Unix()
	sum := sha256.Sum256([]byte(strconv.FormatInt(s.opts.WebhookID, 10) + strconv.FormatInt(sec, 10)))
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "WooCommerce/9.9.0 Hookshot (WordPress/6.8)")
	h.Set("X-WC-Webhook-Source", s.srv.URL+"/")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Resource", resource)
	h.Set("X-WC-Webhook-Event", event)
	h.Set("X-WC-Webhook-Signature", Sign(s.opts.WebhookSecret, body))
	h.Set("X-WC-Webhook-ID", strconv.FormatInt(s.opts.WebhookID, 10))
	h.Set("X-WC-Webhook-Delivery-ID", hex.EncodeToString(sum[:16]))
	return req, nil
}

// NewOrderWebhook is NewWebhook with the order's current resource as the
// body (order.created, order.updated, order.restored), or its id alone
// for order.deleted.
func (s *Server) NewOrderWebhook(ctx context.Context, target, topic string, orderID int64) (*http.Request, error) {
	if topic == "order.deleted" {
		return s.NewWebhook(ctx, target, topic, DeletedBody(orderID))
	}
	body, err := s.OrderJSON(orderID)
	if err != nil {
		return nil, err
	}
	return s.NewWebhook(ctx, target, topic, body)
}

// NewPing builds the ping a new webhook sends to its delivery URL: a
// form-encoded webhook_id, without topic or signature headers
// (WC_Webhook::deliver_ping). WooCommerce wants a 200 back.
func (s *Server) NewPing(ctx context.Context, target string) (*http.Request, error) {
	body := "webhook_id=" + strconv.FormatInt(s.opts.WebhookID, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("woocommercetest: ping request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "WooCommerce/9.9.0 Hookshot (WordPress/6.8)")
	return req, nil
}

// Deliver sends a signed webhook to target with client and returns the
// status code the receiver answered.
func (s *Server) Deliver(ctx context.Context, client *http.Client, target, topic string, body []byte) (int, error) {
	req, err := s.NewWebhook(ctx, target, topic, body)
	if err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("woocommercetest: delivering %s: %w", topic, err)
	}
	res.Body.Close()
	return res.StatusCode, nil
}
