package amazon

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/shelfsync/shelfsync/connectors"
)

// ParseWebhook implements connectors.WebhookVerifier for relayed deliveries
// (EventBridge API destinations, SQS-to-HTTPS relays). They carry no body
// signature, only a shared secret in the configured header, compared in
// constant time against every configured secret (several during a rotation).
func (c *Connector) ParseWebhook(_ context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	if r.Method != "" && r.Method != http.MethodPost {
		return nil, connectors.Malformed(fmt.Errorf("method %s, want POST", r.Method))
	}
	if !c.secretMatches(r.Header.Get(c.header)) {
		return nil, connectors.Unauthorized("bad_secret", fmt.Errorf("header %s is missing or holds no configured secret", c.header))
	}
	events, err := ParseNotification(c.name, r.Body, r.ReceivedAt)
	switch {
	case err == nil:
		c.metrics.countOrderChanges(events)
		return events, nil
	case errors.Is(err, connectors.ErrIgnored):
		return nil, err
	default:
		return nil, connectors.Malformed(err)
	}
}

// secretMatches compares SHA-256 digests, so neither the secrets' content
// nor their length shows in the time taken, and checks every secret.
func (c *Connector) secretMatches(got string) bool {
	if got == "" || len(c.secrets) == 0 {
		return false
	}
	g := sha256.Sum256([]byte(got))
	ok := 0
	for _, s := range c.secrets {
		w := sha256.Sum256(s)
		ok |= subtle.ConstantTimeCompare(g[:], w[:])
	}
	return ok == 1
}
