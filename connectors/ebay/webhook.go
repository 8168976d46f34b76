package ebay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/shelfsync/shelfsync/connectors"
)

// ParseWebhook implements connectors.WebhookVerifier for the Notification
// API: it verifies X-EBAY-SIGNATURE over the raw body with eBay's public
// key for the header's kid (fetched once per kid, then cached), using the
// digest the header names, and parses the body.
//
// Answers, as eBay's own SDKs give them: a bad or missing signature, an
// unknown kid or digest is 412; a public key eBay would not hand out (its
// Notification API failing: the test vectors' ERROR case) is 500, so eBay
// delivers again later; a verified body that is not a notification, or
// names an order id the ledger could not key, is 400.
//
// What a delivery may cost: a header that can not be eBay's (not base64
// JSON with alg, kid, signature and digest; a kid that is not 1 to 128 of
// [A-Za-z0-9._-]; a signature that is not DER) is refused before any I/O.
// A kid not in the cache costs at most one fetch however many deliveries
// name it at once; a kid eBay does not know is remembered (412 without
// asking) for Options.UnknownKeyTTL, a failed fetch for FailedKeyTTL;
// fetches come out of a budget of their own (KeyFetchesPerMinute), and a
// kid that would need a fetch beyond it is answered 503
// ("key_fetch_limited"): it can not be checked now, and a genuine
// delivery of a newly rotated key is delivered again by eBay.
func (c *Connector) ParseWebhook(ctx context.Context, r *connectors.WebhookRequest) ([]connectors.Event, error) {
	sig, err := parseSignature(r.Header.Get(SignatureHeader))
	if err != nil {
		c.metrics.signatureChecks.WithLabelValues("invalid").Inc()
		return nil, connectors.PreconditionFailed("bad_signature", err)
	}
	key, err := c.publicKey(ctx, sig.Kid)
	switch {
	case errors.Is(err, errUnknownKey):
		c.metrics.signatureChecks.WithLabelValues("invalid").Inc()
		return nil, connectors.PreconditionFailed("unknown_key", err)
	case errors.Is(err, errKeyBudget):
		c.metrics.signatureChecks.WithLabelValues("key_limited").Inc()
		return nil, &connectors.WebhookError{Status: http.StatusServiceUnavailable, Reason: "key_fetch_limited",
			Err: fmt.Errorf("key %s: %w", sig.Kid, err)}
	case err != nil:
		c.metrics.signatureChecks.WithLabelValues("key_error").Inc()
		return nil, &connectors.WebhookError{Status: http.StatusInternalServerError, Reason: "key_unavailable", Err: err}
	}
	if !sig.verify(key.key, r.Body) {
		c.metrics.signatureChecks.WithLabelValues("invalid").Inc()
		return nil, connectors.PreconditionFailed("bad_signature",
			fmt.Errorf("signature of key %s (%s) does not verify", sig.Kid, sig.Digest))
	}
	c.metrics.signatureChecks.WithLabelValues("valid").Inc()
	events, err := parseNotification(c.name, r.Body, r.ReceivedAt)
	switch {
	case errors.Is(err, errNoOrderID):
		c.metrics.ignoredDelivered.WithLabelValues("no_order_id").Inc()
		return nil, err
	case errors.Is(err, connectors.ErrIgnored):
		c.metrics.ignoredDelivered.WithLabelValues("topic").Inc()
		return nil, err
	case err != nil:
		return nil, connectors.WebhookRefusal(err)
	}
	return events, nil
}

// AnswerChallenge implements connectors.WebhookChallenger: eBay's endpoint
// validation GET ?challenge_code=X is answered with
// {"challengeResponse": hex(SHA-256(X + verification token + endpoint URL))},
// the endpoint URL being exactly the one registered with eBay.
func (c *Connector) AnswerChallenge(_ context.Context, r *connectors.WebhookRequest) (any, error) {
	code := ""
	if r.URL != nil {
		code = r.URL.Query().Get("challenge_code")
	}
	if code == "" {
		return nil, connectors.Malformed(errors.New("no challenge_code"))
	}
	if !c.verificationToken.IsSet() || c.endpointURL == "" {
		return nil, &connectors.WebhookError{Status: http.StatusInternalServerError, Reason: "not_configured",
			Err: errors.New("webhook.verification_token and webhook.endpoint_url are needed to answer eBay's challenge")}
	}
	return map[string]string{"challengeResponse": ChallengeResponse(code, c.verificationToken.Value(), c.endpointURL)}, nil
}

// ChallengeResponse is hex(SHA-256(code + verificationToken + endpointURL)).
func ChallengeResponse(code, verificationToken, endpointURL string) string {
	h := sha256.New()
	h.Write([]byte(code))
	h.Write([]byte(verificationToken))
	h.Write([]byte(endpointURL))
	return hex.EncodeToString(h.Sum(nil))
}
