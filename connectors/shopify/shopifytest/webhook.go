package shopifytest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Sign is Shopify's X-Shopify-Hmac-Sha256 of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// NewWebhook builds the POST Shopify would send to target for topic,
// signed with the store's webhook secret and carrying Shopify's headers.
// eventID is X-Shopify-Event-Id (the same for every retry of one event).
func (s *Server) NewWebhook(ctx context.Context, target, topic string, body []byte, eventID string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("shopifytest: webhook request: %w", err)
	}
	s.mu.Lock()
	s.nextID++
	deliveryID := fmt.Sprintf("b54557e4-bdd9-4b37-8a5f-%012d", s.nextID)
	s.mu.Unlock()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", Sign(s.opts.WebhookSecret, body))
	h.Set("X-Shopify-Shop-Domain", s.opts.Shop)
	h.Set("X-Shopify-API-Version", s.opts.APIVersion)
	h.Set("X-Shopify-Webhook-Id", deliveryID)
	h.Set("X-Shopify-Event-Id", eventID)
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	return req, nil
}

// Deliver sends a signed webhook to target with client and returns the
// status code the receiver answered.
func (s *Server) Deliver(ctx context.Context, client *http.Client, target, topic string, body []byte, eventID string) (int, error) {
	req, err := s.NewWebhook(ctx, target, topic, body, eventID)
	if err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("shopifytest: delivering %s: %w", topic, err)
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// ReturnLineBody is a line of a returns/* body.
type ReturnLineBody struct {
	ID, LineID int64
	SKU        string
	Quantity   int64
	Reason     string // return_reason, e.g. "size_too_small"
}

// ReturnWebhookBody is a returns/* body: the return's id and GID, its
// status (lower case), its order (id and GID) and, when lines are given,
// return_line_items with the order line under fulfillment_line_item.
// Shopify's pages found show no returns/* body: this shape is the fake's
// reading of the REST conventions of the other topics (README.md).
func ReturnWebhookBody(returnID, orderID int64, status string, lines []ReturnLineBody) ([]byte, error) {
	items := []any{}
	for _, l := range lines {
		items = append(items, map[string]any{
			"id": l.ID, "quantity": l.Quantity, "return_reason": l.Reason,
			"fulfillment_line_item": map[string]any{"line_item": map[string]any{"id": l.LineID, "sku": l.SKU}},
		})
	}
	body := map[string]any{
		"id": returnID, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Return/%d", returnID), "status": status,
		"order": map[string]any{"id": orderID, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", orderID)},
	}
	if len(lines) > 0 {
		body["return_line_items"] = items
	}
	return json.Marshal(body)
}
