package connectors

import (
	"context"
	"time"
)

// Shipment is a shipment the merchant's warehouse made for an order,
// to be confirmed on the channel that sold it (tracking for the buyer).
// sync/shipments has validated it against the ledger's order before a
// connector sees it: the order and lines exist, quantities are open, and
// CarrierCode is the channel's own code for Carrier.
type Shipment struct {
	// ID is shelfsync's shipment id, derived from the caller's idempotency
	// key: the same ID is the same shipment. Connectors that can send an
	// idempotency key or a merchant reference use it, so a retried
	// confirmation is not created twice on the channel.
	ID      string         `json:"id"`
	Channel string         `json:"channel"`
	OrderID string         `json:"order_id"`
	Lines   []ShipmentLine `json:"lines"`
	// Carrier is the canonical carrier name (ups, usps, fedex, dhl, ...);
	// CarrierCode is the channel's code for it (built-in table merged with
	// the channel's carriers override).
	Carrier        string    `json:"carrier"`
	CarrierCode    string    `json:"carrier_code"`
	TrackingNumber string    `json:"tracking_number"`
	TrackingURL    string    `json:"tracking_url,omitempty"`
	ShippedAt      time.Time `json:"shipped_at"`
	// Location is the shelfsync location the units left from.
	Location string `json:"location,omitempty"`
}

// ShipmentLine is one order line's units in a shipment: the channel's own
// line id (always set by sync/shipments, which resolves a SKU to its line).
type ShipmentLine struct {
	LineID   string `json:"line_id"`
	SKU      string `json:"sku,omitempty"`
	Quantity int64  `json:"quantity"`
}

// ShipmentStatus is the outcome of one confirmation attempt.
type ShipmentStatus string

// Confirmation outcomes.
const (
	// ShipmentConfirmed: the channel accepted the shipment (or already had
	// it: a repeat of a confirmation the channel holds is confirmed too).
	ShipmentConfirmed ShipmentStatus = "confirmed"
	// ShipmentRetry: a transient failure (429, 5xx, timeout); try again later.
	ShipmentRetry ShipmentStatus = "retry"
	// ShipmentRefused: the channel refused it for good (bad carrier, line
	// already fulfilled, order cancelled); Reason says why. Never retried.
	ShipmentRefused ShipmentStatus = "refused"
)

// ShipmentResult is what the channel answered.
type ShipmentResult struct {
	Status ShipmentStatus `json:"status"`
	// Ref is the channel's id for the confirmation (Shopify fulfillment
	// GID, eBay fulfillment id), when it gives one.
	Ref string `json:"ref,omitempty"`
	// Reason is the channel's message for refused and retry; never a secret.
	Reason string `json:"reason,omitempty"`
	// RetryAfter is the channel's own wait, when it says (Retry-After).
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	// Throttled marks a retry the channel's rate limit caused (a 429, a
	// throttle answer): it waits, but does not use up the attempts.
	Throttled bool `json:"throttled,omitempty"`
}

// ShipmentConfirmer sends shipments and tracking to the channel.
type ShipmentConfirmer interface {
	// Carriers is the connector's built-in table: canonical carrier name
	// (lower case: ups, usps, fedex, dhl, ...) → the channel's carrier code,
	// as the channel's documentation lists it.
	Carriers() map[string]string
	// ConfirmShipment confirms one shipment on the channel, paced by the
	// channel's rate limiter, in as few calls as the channel needs. A
	// non-nil error is a whole-call failure (transport, auth, ctx) and is
	// retried by the caller like ShipmentRetry.
	ConfirmShipment(ctx context.Context, s Shipment) (ShipmentResult, error)
}

// ReturnPoller reads returns the channel records outside its orders
// (eBay's Post-Order returns, Amazon's merchant-fulfilled returns).
type ReturnPoller interface {
	// PollReturns fetches every return created or changed at or after
	// since, page by page, and calls emit once per page, as PollOrders
	// does; through is the cursor to store, with the same rules. Each
	// Return is the return's whole current state (its lines' quantities
	// are totals), so a repeat changes nothing.
	PollReturns(ctx context.Context, since time.Time, emit func(context.Context, []Return) error) (through time.Time, err error)
}
