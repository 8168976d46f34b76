// Package shipments takes the merchant's shipments in (admin API, an
// inbound Redis Stream, the CLI), stores each durably and whole, applies
// it to the ledger as the order lines' locally shipped totals, publishes
// the order downstream, and confirms it on the channel that sold it
// (connectors.ShipmentConfirmer) through a durable per-channel queue. See
// README.md.
package shipments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/store"
)

// Request is a shipment as the warehouse sends it (API body, stream entry,
// CLI flags).
type Request struct {
	Channel string        `json:"channel"`
	OrderID string        `json:"order_id"`
	Lines   []RequestLine `json:"lines"`
	// Carrier is the canonical carrier name (ups, usps, fedex, dhl, ...).
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	TrackingURL    string `json:"tracking_url,omitempty"`
	// ShippedAt is the ship date (RFC 3339).
	ShippedAt time.Time `json:"shipped_at"`
	// Location is the shelfsync location the units left from; empty: the
	// lines' own.
	Location string `json:"location,omitempty"`
	// IdempotencyKey names the shipment: the same key with the same body is
	// the same shipment (answered 200), with another body a conflict (409).
	IdempotencyKey string `json:"idempotency_key"`
}

// RequestLine names an order line by the channel's line id or by SKU.
type RequestLine struct {
	LineID   string `json:"line_id,omitempty"`
	SKU      string `json:"sku,omitempty"`
	Quantity int64  `json:"quantity"`
}

// Error is a shipment refused for its content: Status is the HTTP status
// it answers (400, 404, 409), nothing was stored.
type Error struct {
	Status int    `json:"-"`
	Msg    string `json:"error"`
	// Open is each named line's units still open to ship (409 over-shipment).
	Open map[string]int64 `json:"open,omitempty"`
	// Known is the channel's known carriers (an unknown carrier).
	Known []string `json:"known_carriers,omitempty"`
}

func (e *Error) Error() string { return e.Msg }

func refuse(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// Ledger is what shipments use of the stock ledger.
type Ledger interface {
	Lines(ctx context.Context, channel, orderID string) ([]inventory.LineRecord, error)
	ShipLines(ctx context.Context, ships []inventory.LocalShipment) ([]inventory.LineResult, error)
}

// Publisher hands orders downstream (sync/downstream).
type Publisher interface {
	PublishMany(ctx context.Context, orders []*connectors.Order) ([]bool, error)
}

// Channel is one channel as shipments see it.
type Channel struct {
	Name string
	// Confirmer confirms shipments on the channel; nil: the channel takes
	// none (its shipments are stored and applied, state "not_sent").
	Confirmer connectors.ShipmentConfirmer
	// Carriers is the merged carrier table (Carriers()).
	Carriers map[string]string
}

// Options configures a Service.
type Options struct {
	Redis  redis.UniversalClient
	Prefix string
	Ledger Ledger
	// Lines reads how an order's channel lines were translated into ledger
	// lines (kits, packs: the catalog); nil: every line is its own.
	Lines      LineMaps
	Publisher  Publisher
	Channels   []Channel
	Locations  []string // the config's locations (a shipment's location must be one)
	Durability store.Durability
	// MaxAttempts is how many failed confirmation attempts (retry, errors)
	// a shipment gets before it is parked; default 20.
	MaxAttempts int
	// Retention is how long a confirmed shipment's record is kept; default 30 days.
	Retention time.Duration
	// Workers is each channel's confirmations in flight; default 4.
	Workers int
	// Claim is how long a confirmation a worker took is hidden from the
	// others (and from a restarted daemon); default 2 min.
	Claim   time.Duration
	Metrics *Metrics
	Logger  zerolog.Logger
	Now     func() time.Time
}

// Service takes shipments in and confirms them out.
type Service struct {
	o        Options
	channels map[string]*Channel
	names    []string
	wake     map[string]chan struct{}
}

// New builds the service; no I/O.
func New(o Options) *Service {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Claim <= 0 {
		o.Claim = claimFor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	s := &Service{o: o, channels: map[string]*Channel{}, wake: map[string]chan struct{}{}}
	for i := range o.Channels {
		c := &o.Channels[i]
		s.channels[c.Name] = c
		s.names = append(s.names, c.Name)
		s.wake[c.Name] = make(chan struct{}, 1)
		o.Metrics.Init(c.Name)
	}
	sort.Strings(s.names)
	return s
}

// Outcome of Submit.
type Outcome struct {
	ID  string `json:"id"`
	New bool   `json:"-"` // false: a repeat of a stored shipment (same key and body)
}

// Submit validates a shipment against the ledger's order, stores it
// durably and whole (nothing partial), applies it to the ledger and
// publishes the order. A refusal is an *Error (nothing stored). An error
// after the store (the ledger apply) is logged and retried by Run's
// sweeper: the answer is still the stored shipment.
func (s *Service) Submit(ctx context.Context, r Request, via string) (Outcome, error) {
	rec, lines, fp, err := s.prepare(ctx, r)
	if err != nil {
		s.count(r.Channel, err)
		return Outcome{}, err
	}
	rec.Via = via
	isNew, err := s.store(ctx, rec, lines, fp)
	if err != nil {
		s.count(r.Channel, err)
		return Outcome{}, err
	}
	if !isNew {
		s.o.Metrics.Total.WithLabelValues(rec.Channel, "duplicate").Inc()
		return Outcome{ID: rec.ID}, nil
	}
	s.o.Metrics.Total.WithLabelValues(rec.Channel, "accepted").Inc()
	if err := s.apply(ctx, rec.Channel, rec.ID); err != nil {
		s.o.Logger.Warn().Err(err).Str("channel", rec.Channel).Str("shipment", rec.ID).Msg("shipment stored, ledger apply failed; the sweeper retries it")
	}
	s.Wake(rec.Channel)
	return Outcome{ID: rec.ID, New: true}, nil
}

// count records a refused or failed submission.
func (s *Service) count(channel string, err error) {
	var e *Error
	if errors.As(err, &e) && s.channels[channel] != nil {
		s.o.Metrics.Total.WithLabelValues(channel, "invalid").Inc()
	}
}

// Wake tells channel's confirmation workers that a shipment is due.
func (s *Service) Wake(channel string) {
	if w := s.wake[channel]; w != nil {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Record is a stored shipment: what the connector gets (the channel's
// lines, in the channel's units), the ledger lines it moves, the caller's
// key, when and how it arrived, and each ledger line's locally shipped
// total after it (Totals, written by the store script: what the ledger is
// set to).
type Record struct {
	connectors.Shipment
	// Ledger is the ledger lines and units the shipment moves: the
	// channel's lines themselves, or for a kit's line its components and
	// for a pack's line its units times the pack (catalog.LineMap). Absent
	// from records stored before it existed: then Lines are ledger lines.
	Ledger     []LedgerLine      `json:"ledger_lines,omitempty"`
	Key        string            `json:"idempotency_key"`
	ReceivedAt time.Time         `json:"received_at"`
	Via        string            `json:"via,omitempty"`
	Locations  map[string]string `json:"locations"` // line id → ledger location it ships from
	Totals     map[string]int64  `json:"totals,omitempty"`
}

// lineCheck is what the store script checks of one ledger line: its
// quantity, the ledger's shipped figure and the cap (ordered -
// cancelled); and the channel's line it is (a part of), with its units
// per unit of that line.
type lineCheck struct {
	line           string
	qty, shipped   int64
	capacity       int64
	sku, location  string
	recordLocation string
	channelLine    string
	per            int64
}

// ID is the shipment id for a channel and idempotency key.
func ID(channel, key string) string {
	h := sha256.Sum256([]byte(channel + "\x00" + key))
	return "shp_" + hex.EncodeToString(h[:12])
}

// prepare validates r and resolves it against the ledger's order; it
// returns the record, the lines' checks and the body's fingerprint.
func (s *Service) prepare(ctx context.Context, r Request) (*Record, []lineCheck, string, error) {
	ch, err := s.checkFields(&r)
	if err != nil {
		return nil, nil, "", err
	}
	code, number, err := s.checkCarrier(ch, r.Carrier, r.TrackingNumber)
	if err != nil {
		return nil, nil, "", err
	}
	r.TrackingNumber, r.ShippedAt = number, r.ShippedAt.UTC()
	fp := fingerprint(r)
	recs, err := s.o.Ledger.Lines(ctx, r.Channel, r.OrderID)
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading order %s/%s: %w", r.Channel, r.OrderID, err)
	}
	if len(recs) == 0 {
		return nil, nil, "", refuse(http.StatusNotFound, "order %s/%s: the ledger holds no such order", r.Channel, r.OrderID)
	}
	maps, err := s.lineMaps(ctx, r.Channel, r.OrderID)
	if err != nil {
		return nil, nil, "", err
	}
	lines, shipLines, err := indexLines(recs, maps).resolve(r)
	if err != nil {
		return nil, nil, "", err
	}
	rec := &Record{
		Shipment: connectors.Shipment{
			ID: ID(r.Channel, r.IdempotencyKey), Channel: r.Channel, OrderID: r.OrderID,
			Carrier: r.Carrier, CarrierCode: code, TrackingNumber: number, TrackingURL: r.TrackingURL,
			ShippedAt: r.ShippedAt.UTC(), Location: r.Location,
		},
		Key: r.IdempotencyKey, ReceivedAt: s.o.Now().UTC(), Locations: map[string]string{},
	}
	rec.Lines = shipLines
	for _, l := range lines {
		rec.Ledger = append(rec.Ledger, LedgerLine{LineID: l.line, SKU: l.sku, Quantity: l.qty})
		rec.Locations[l.line] = l.location
	}
	return rec, lines, fp, nil
}

// Limits of a request's fields.
const (
	maxKey     = 200
	maxLines   = 250
	maxURL     = 2048
	maxIDField = 200
)

// checkFields checks what needs no I/O and normalises r (carrier lower
// case, location).
func (s *Service) checkFields(r *Request) (*Channel, error) {
	ch := s.channels[r.Channel]
	switch {
	case r.Channel == "":
		return nil, refuse(http.StatusBadRequest, "channel is required")
	case ch == nil:
		return nil, refuse(http.StatusNotFound, "channel %q is not configured (channels: %s)", r.Channel, strings.Join(s.names, ", "))
	case r.OrderID == "" || len(r.OrderID) > maxIDField:
		return nil, refuse(http.StatusBadRequest, "order_id is required (at most %d bytes)", maxIDField)
	case r.IdempotencyKey == "" || len(r.IdempotencyKey) > maxKey:
		return nil, refuse(http.StatusBadRequest, "idempotency_key is required (at most %d bytes)", maxKey)
	case len(r.Lines) == 0 || len(r.Lines) > maxLines:
		return nil, refuse(http.StatusBadRequest, "lines: 1 to %d lines are required", maxLines)
	case r.ShippedAt.IsZero():
		return nil, refuse(http.StatusBadRequest, "shipped_at is required (RFC 3339)")
	case r.ShippedAt.After(s.o.Now().Add(24 * time.Hour)):
		return nil, refuse(http.StatusBadRequest, "shipped_at %s is more than a day in the future", r.ShippedAt.Format(time.RFC3339))
	case len(r.TrackingURL) > maxURL || r.TrackingURL != "" && !strings.HasPrefix(r.TrackingURL, "https://") && !strings.HasPrefix(r.TrackingURL, "http://"):
		return nil, refuse(http.StatusBadRequest, "tracking_url must be an http(s) URL of at most %d bytes", maxURL)
	}
	if err := s.checkLines(r); err != nil {
		return nil, err
	}
	r.Carrier = strings.ToLower(strings.TrimSpace(r.Carrier))
	return ch, nil
}

// checkLines checks the location and each line's naming and quantity.
func (s *Service) checkLines(r *Request) error {
	if r.Location != "" && !contains(s.o.Locations, r.Location) {
		return refuse(http.StatusBadRequest, "location %q is not a configured location (%s)", r.Location, strings.Join(s.o.Locations, ", "))
	}
	for i, l := range r.Lines {
		if (l.LineID == "") == (l.SKU == "") {
			return refuse(http.StatusBadRequest, "lines[%d]: exactly one of line_id and sku is required", i)
		}
		if l.Quantity <= 0 || l.Quantity > 1_000_000 {
			return refuse(http.StatusBadRequest, "lines[%d]: quantity must be 1 to 1000000", i)
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// checkCarrier maps the carrier to the channel's code and checks the
// tracking number's form. A channel without a confirmer takes any carrier.
func (s *Service) checkCarrier(ch *Channel, carrier, number string) (code, tracking string, err error) {
	if carrier == "" {
		return "", "", refuse(http.StatusBadRequest, "carrier is required")
	}
	if ch.Confirmer != nil {
		var ok bool
		if code, ok = ch.Carriers[carrier]; !ok {
			e := refuse(http.StatusBadRequest, "carrier %q is not known on channel %s", carrier, ch.Name)
			e.Known = known(ch.Carriers)
			return "", "", e
		}
	}
	tracking, terr := checkTracking(carrier, number)
	if terr != nil {
		return "", "", refuse(http.StatusBadRequest, "%s", terr.Error())
	}
	return code, tracking, nil
}

// fingerprint is the body's fingerprint: the normalised request without
// its key, as sent (lines as named, not as resolved: a repeat must match
// whatever the ledger holds by then).
func fingerprint(r Request) string {
	r.IdempotencyKey = ""
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
