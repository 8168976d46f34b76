// Package connectors is the contract between shelfsync's engine and the
// marketplaces: the canonical order model, the small interfaces a
// marketplace implements (one per role), the registry that maps a channel
// kind to its settings type, constructor and normalizer, and what the
// framework hands every connector instance (logger, metrics, HTTP client,
// rate limiter, cache).
//
// A connector translates; it never decides. It does not import the ledger,
// keeps no globals (two Shopify stores in one config never share state), and
// owns no goroutine that outlives the context it was given. Each
// marketplace lives in its own subpackage (connectors/shopify, ...) and
// registers itself from init() with Register; connectors/all imports them
// all. connectors/README.md says how to add one.
//
// Roles, each an interface a connector may implement (found by type
// assertion on the value New returns):
//
//	OrderPoller        orders changed since a time, page by page
//	OrderFetcher       one order by id ("order changed, fetch it" events)
//	WebhookVerifier    verify and parse a pushed notification
//	WebhookChallenger  answer a GET endpoint challenge (eBay)
//	QuantityPusher     set listed quantities in batches, per-item results
//	QuantityReader     read listed quantities (reconciliation)
//	ListingLister      page through every listing (the link report)
//	Runner             a background loop of its own (Amazon's SQS poller)
//	Checker            a readiness check
//	AccessChecker      one cheap authenticated call (shelfsync check, start-up)
package connectors

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Connector is one channel's instance. It must implement at least one role.
type Connector interface {
	// Kind is the registry kind (shopify, ebay, amazon).
	Kind() string
}

// OrderPoller pulls orders: the backstop for missed notifications and the
// first sync.
type OrderPoller interface {
	// PollOrders fetches every order whose update time is at or after since,
	// page by page, and calls emit once per page, in order, before it asks
	// for the next page. It blocks until every page is emitted, emit fails
	// (its error is returned, wrapped), or ctx ends. Transient HTTP failures
	// are retried by the framework's client; what still fails is returned.
	// through is the high-water mark the caller may store as the next
	// cursor: after a complete poll, the channel's own "as of" time (the
	// clock when the first page was asked for, Amazon's LastUpdatedBefore),
	// never earlier than since; after an error, the newest update time
	// seen. The caller subtracts its overlap window and never moves its
	// cursor back. The caller owns the cursor; the connector stores nothing.
	PollOrders(ctx context.Context, since time.Time, emit func(context.Context, []Order) error) (through time.Time, err error)
}

// OrderFetcher reads one order by its channel id.
type OrderFetcher interface {
	// FetchOrder returns the order's whole current state. ErrNotFound (wrapped)
	// if the channel does not know it. It blocks for the calls it needs.
	FetchOrder(ctx context.Context, orderID string) (*Order, error)
}

// WebhookRequest is an inbound delivery as the framework read it: the body
// is complete (and within the configured limit) before a connector sees it.
type WebhookRequest struct {
	Method     string
	URL        *url.URL
	Header     http.Header
	Body       []byte
	ReceivedAt time.Time
}

// WebhookVerifier checks and parses a pushed notification.
type WebhookVerifier interface {
	// ParseWebhook verifies the request's authenticity (signature, shared
	// secret) over the raw body and parses it into events. It must not
	// block on slow work: the framework puts the events on the durable
	// intake and answers the channel within its timeout. It may do network
	// I/O only for what verification needs and can cache (eBay's public
	// key). Failures are *WebhookError values that say the HTTP status to
	// answer: 401/412 for bad authentication, 400 for a malformed body.
	// A well-formed delivery of a topic that moves no stock returns no
	// events and ErrIgnored (wrapped): answered 200 and counted.
	ParseWebhook(ctx context.Context, r *WebhookRequest) ([]Event, error)
}

// WebhookChallenger answers a channel's endpoint validation (a GET).
type WebhookChallenger interface {
	// AnswerChallenge returns the JSON value to answer with, or a *WebhookError.
	AnswerChallenge(ctx context.Context, r *WebhookRequest) (any, error)
}

// QuantityUpdate is one listed quantity to set.
type QuantityUpdate struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	// Previous is the quantity the channel last reported or accepted for
	// this SKU, for compare-and-set where the channel offers it (Shopify's
	// changeFromQuantity); nil when unknown.
	Previous *int64 `json:"previous,omitempty"`
	// Attempt identifies one intended write of this SKU: the outbox gives
	// every new wanted value (and every forced correction) a new one, and
	// a retry of the same write carries the same one. A connector whose
	// channel de-duplicates writes by a key (Shopify's @idempotent) builds
	// the key from the batch's attempts, never from the values alone: a
	// value wanted again later (A, B, A) is a new write. "" when unknown
	// (the connector then makes each call its own write).
	Attempt string `json:"attempt,omitempty"`
	// Location is the shelfsync location whose own figure this is, on a
	// channel pushed per location (stock_mode per_location, see
	// LocationPusher): the connector sets it at the channel location that
	// shelfsync location maps to. "" is the channel's single figure.
	Location string `json:"location,omitempty"`
	// ChannelLocation is a channel location no shelfsync location maps to
	// (the channel's own id, as LiveQuantity.ChannelLocation named it):
	// the update zeroes a level left there. "" otherwise.
	ChannelLocation string `json:"channel_location,omitempty"`
}

// LocationPusher is implemented by a QuantityPusher (and QuantityReader)
// that can push per location: it honours QuantityUpdate.Location and
// ChannelLocation, and on a per_location channel ReadQuantities returns
// one LiveQuantity per SKU and channel location that stocks it. A
// channel may only be configured per_location if its connector says so.
type LocationPusher interface {
	PushesPerLocation() bool
}

// LocationState is what a channel says of one of its locations.
type LocationState string

// Location states.
const (
	// LocationEnabled: the channel takes stock changes there.
	LocationEnabled LocationState = "enabled"
	// LocationDisabled: the channel has the location but refuses stock
	// changes there (eBay's DISABLED inventory locations); what it holds
	// stays as it is.
	LocationDisabled LocationState = "disabled"
	// LocationMissing: a shelfsync location is mapped to a channel
	// location the channel does not have.
	LocationMissing LocationState = "missing"
)

// ChannelLocation is one location of a channel as LocationReader reads it.
type ChannelLocation struct {
	// ID is the channel's own id (the one LiveQuantity.ChannelLocation
	// names).
	ID string `json:"id"`
	// Location is the shelfsync location of the channel mapped to ID, ""
	// when none is.
	Location string        `json:"location,omitempty"`
	State    LocationState `json:"state"`
}

// LocationReader is implemented by a LocationPusher that can read its
// channel's locations and their state. The engine reads them once per
// reconcile of a per_location channel (not per push): a disabled channel
// location's levels are reported but never zeroed (the channel would
// refuse it), and a shelfsync location mapped to a disabled or missing
// channel location is reported. `shelfsync link` shows each state.
type LocationReader interface {
	// ReadLocations returns every location the channel has (mapped to a
	// shelfsync location or not), and a LocationMissing entry for each
	// shelfsync location of the channel mapped to an id the channel does
	// not have; paging as needed, through the channel's limiter.
	ReadLocations(ctx context.Context) ([]ChannelLocation, error)
}

// SaleEchoer is implemented by a QuantityPusher whose channel takes the
// units of its own sales off its listing and whose pushes are
// compare-and-set (QuantityUpdate.Previous). After a sale on such a
// channel the engine lowers the quantity the next push compares from by
// the units sold, so that push compares against the right figure (it is
// made even if the figures are equal: only the channel can tell). A wrong
// figure costs one stale compare, never a wrong quantity: that is why only
// compare-and-set channels may take part.
type SaleEchoer interface {
	EchoesSales() bool
}

// PushPacer is implemented by a QuantityPusher that sends a small batch
// one paced call per item (Amazon's listing patches, a few a second): a
// batch of fewer than threshold updates takes len/rate seconds, and its
// first results would wait for its last. The pusher sends such a batch in
// chunks of chunk updates and records each chunk's results as it returns.
// A batch of threshold or more (one bulk call) goes whole.
type PushPacer interface {
	PushChunks() (chunk, threshold int)
}

// PushStatus is the outcome of one item of a push.
type PushStatus string

// Push outcomes.
const (
	PushAccepted PushStatus = "accepted" // the channel now lists Quantity
	// PushStale: compare-and-set failed, the channel's quantity moved (a
	// sale there): the engine catches up on orders and pushes again.
	PushStale PushStatus = "stale"
	// PushRetry: a transient failure of this item; try again later.
	PushRetry PushStatus = "retry"
	// PushFailed: the channel refused this item; retrying unchanged will not help.
	PushFailed PushStatus = "failed"
	// PushUnknownSKU: the channel has no listing for the SKU.
	PushUnknownSKU PushStatus = "unknown_sku"
)

// PushResult is one item's own result.
type PushResult struct {
	SKU    string     `json:"sku"`
	Status PushStatus `json:"status"`
	// ChannelQuantity is what the channel holds now, when it says (stale results).
	ChannelQuantity *int64 `json:"channel_quantity,omitempty"`
	// Reason is the channel's message, for logs and the admin API; never a secret.
	Reason string `json:"reason,omitempty"`
}

// QuantityPusher sets listed quantities.
type QuantityPusher interface {
	// MaxBatch is the most updates one PushQuantities call takes: what
	// the channel's API allows, nothing less. The channel's batch_size is
	// not the connector's to apply: the pusher (sync/push) sends at most
	// min(batch_size, MaxBatch) updates a call.
	MaxBatch() int
	// PushQuantities sets every update's quantity, in as few API calls as
	// the channel allows, paced by the rate limiter. It blocks until done or
	// ctx ends. It returns one result per update, in the same order: a bad
	// item never fails the others. A non-nil error means the whole call
	// failed (transport, auth, ctx) and results are nil; the caller retries
	// the batch. Each item's result is final for this call: the connector
	// does not retry per-item failures itself.
	PushQuantities(ctx context.Context, updates []QuantityUpdate) ([]PushResult, error)
}

// LiveQuantity is a quantity the channel lists now.
type LiveQuantity struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	// Location is the shelfsync location the level is at (per_location
	// channels); "" for the single figure and for an unmapped location.
	Location string `json:"location,omitempty"`
	// ChannelLocation is the channel's own id of a location no shelfsync
	// location maps to (per_location channels); "" otherwise.
	ChannelLocation string `json:"channel_location,omitempty"`
}

// QuantityReader reads the channel's listed quantities.
type QuantityReader interface {
	// ReadQuantities returns the listed quantity of each SKU the channel
	// knows among skus (unknown SKUs are left out), paging as needed. It
	// blocks for the calls it needs; the caller chunks long lists.
	ReadQuantities(ctx context.Context, skus []string) ([]LiveQuantity, error)
}

// Runner is a connector with a loop of its own: Amazon's SQS long-poller.
type Runner interface {
	// Run works until ctx ends, handing events to sink; it returns nil on
	// ctx's end and an error only when it can not go on. It retries
	// transient failures itself, with backoff.
	Run(ctx context.Context, sink EventSink) error
}

// EventSink takes events onto the durable intake. When Put returns nil
// the events are durably stored: only then may a connector acknowledge the
// channel (delete an SQS message).
type EventSink interface {
	Put(ctx context.Context, events []Event) error
}

// Checker reports whether the connector can work (for /readyz). It must be
// cheap: it is called on every readiness probe. No network I/O.
type Checker interface {
	Ready() error
}

// AccessChecker makes one cheap authenticated call to the channel: it
// proves the credentials are accepted and the account is reachable
// (`shelfsync check`, and the daemon once at start for /readyz). It reads
// nothing the engine uses and writes nothing. The error says what failed
// and never holds a secret.
type AccessChecker interface {
	Check(ctx context.Context) error
}
