// Package webhook is the one HTTP receiver every connector's pushed
// notifications come through, at POST /webhooks/{channel} (and GET for
// endpoint challenges). It reads the body within a limit, lets the
// connector verify and parse it, puts the events on the durable intake,
// and only then answers 200, so a delivery the channel saw acknowledged is
// never lost.
//
// It never processes an event itself (that is the engine's job, after the
// intake), never answers 200 before the sink stored the events, and never
// echoes a connector's error detail to the caller: only a short reason.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/sync/store"
)

// Options configures New.
type Options struct {
	// Channel is the configured channel name: the {channel} of the URL and
	// the metric label.
	Channel  string
	Verifier connectors.WebhookVerifier
	// Challenger answers GET; nil answers GET with 405.
	Challenger connectors.WebhookChallenger
	Sink       connectors.EventSink
	// BodyLimit caps the body in bytes; larger deliveries get 413, at
	// once when their Content-Length says so.
	BodyLimit int64
	Logger    zerolog.Logger
	Metrics   *Metrics
	// LogEvery is how often at most a refusal of one reason is logged
	// (the first at once, then one a window with the number left out);
	// 0 takes DefaultLogEvery. Metrics count every refusal.
	LogEvery time.Duration
	// Now is the clock; nil takes time.Now.
	Now func() time.Time
	// RefusalDelay holds the answer to a delivery whose authentication
	// failed (401, 412) this long (up to half as much again, at random): a flood of forged deliveries then
	// costs its sender a connection a delay each, and the daemon's CPU
	// stays with the real ones (a genuine channel retries a refusal far
	// later anyway). At most MaxTarpitted answers are held at once; the
	// rest are answered at once. 0 takes DefaultRefusalDelay; negative
	// answers at once.
	RefusalDelay time.Duration
}

// DefaultRefusalDelay is the default Options.RefusalDelay.
const DefaultRefusalDelay = time.Second

// MaxTarpitted bounds the refusals one receiver holds at once.
const MaxTarpitted = 1024

// Handler is one channel's receiver.
type Handler struct {
	o      Options
	logs   *logLimiter
	tarpit chan struct{} // a slot per refusal held
}

var _ http.Handler = (*Handler)(nil)

// New builds the receiver. Verifier, Sink and Metrics are required.
func New(o Options) (*Handler, error) {
	switch {
	case o.Channel == "":
		return nil, errors.New("webhook: no channel name")
	case o.Verifier == nil:
		return nil, errors.New("webhook " + o.Channel + ": no verifier")
	case o.Sink == nil:
		return nil, errors.New("webhook " + o.Channel + ": no sink")
	case o.Metrics == nil:
		return nil, errors.New("webhook " + o.Channel + ": no metrics")
	case o.BodyLimit <= 0:
		return nil, errors.New("webhook " + o.Channel + ": body limit must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefusalDelay == 0 {
		o.RefusalDelay = DefaultRefusalDelay
	}
	for _, r := range []string{ResultAccepted, ResultIgnored, ResultRejected, ResultError} { // exported at 0 from the start
		o.Metrics.deliveries.WithLabelValues(o.Channel, r)
	}
	return &Handler{o: o, logs: newLogLimiter(o.LogEvery), tarpit: make(chan struct{}, MaxTarpitted)}, nil
}

// Results of a delivery, the outcome label of shelfsync_webhooks_total.
const (
	ResultAccepted = "accepted"
	ResultIgnored  = "ignored"
	ResultRejected = "rejected"
	ResultError    = "error"
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.deliver(w, r)
	case http.MethodGet:
		h.challenge(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		h.refuse(w, http.StatusMethodNotAllowed, "method_not_allowed")
	}
}

func (h *Handler) deliver(w http.ResponseWriter, r *http.Request) {
	log := h.o.Logger
	wr, ok := h.read(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	events, err := h.o.Verifier.ParseWebhook(ctx, wr)
	var werr *connectors.WebhookError
	switch {
	case errors.As(err, &werr):
		authFailed := werr.Status == http.StatusUnauthorized || werr.Status == http.StatusPreconditionFailed
		if authFailed {
			h.o.Metrics.failures.WithLabelValues(h.o.Channel, werr.Reason).Inc()
		}
		// Warn, not error, and not every one: anyone on the internet can
		// send bad deliveries, as many as they like.
		h.warn(werr.Reason, werr.Status).Err(err).Msg("webhook refused")
		h.o.Metrics.count(h.o.Channel, ResultRejected)
		if authFailed {
			h.hold(ctx)
		}
		h.refuse(w, werr.Status, werr.Reason)
		return
	case errors.Is(err, connectors.ErrIgnored):
		log.Debug().Err(err).Msg("webhook ignored")
		h.o.Metrics.count(h.o.Channel, ResultIgnored)
		writeJSON(w, http.StatusOK, map[string]string{"status": ResultIgnored})
		return
	case err != nil:
		log.Error().Err(err).Msg("webhook parse failed")
		h.o.Metrics.count(h.o.Channel, ResultError)
		h.refuse(w, http.StatusInternalServerError, "internal")
		return
	}
	for i := range events {
		if events[i].Channel == "" {
			events[i].Channel = h.o.Channel
		}
		if events[i].ReceivedAt.IsZero() {
			events[i].ReceivedAt = wr.ReceivedAt
		}
	}
	if err := h.o.Sink.Put(ctx, events); err != nil {
		// 5xx makes the channel deliver again later; nothing is lost.
		log.Error().Err(err).Int("events", len(events)).Msg("webhook events not stored")
		h.o.Metrics.count(h.o.Channel, ResultError)
		if errors.Is(err, store.ErrNotReplicated) {
			// Stored on the primary only: a failover now would lose it.
			h.refuse(w, http.StatusServiceUnavailable, "not_replicated")
			return
		}
		h.refuse(w, http.StatusInternalServerError, "intake_unavailable")
		return
	}
	log.Debug().Int("events", len(events)).Msg("webhook accepted")
	h.o.Metrics.count(h.o.Channel, ResultAccepted)
	writeJSON(w, http.StatusOK, map[string]string{"status": ResultAccepted})
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request) {
	if h.o.Challenger == nil {
		w.Header().Set("Allow", "POST")
		h.refuse(w, http.StatusMethodNotAllowed, "method_not_allowed")
		return
	}
	wr, ok := h.read(w, r)
	if !ok {
		return
	}
	answer, err := h.o.Challenger.AnswerChallenge(r.Context(), wr)
	var werr *connectors.WebhookError
	switch {
	case errors.As(err, &werr):
		h.warn("challenge_"+werr.Reason, werr.Status).Err(err).Msg("webhook challenge refused")
		h.refuse(w, werr.Status, werr.Reason)
	case err != nil:
		h.o.Logger.Error().Err(err).Msg("webhook challenge failed")
		h.refuse(w, http.StatusInternalServerError, "internal")
	default:
		h.o.Logger.Info().Msg("webhook challenge answered")
		writeJSON(w, http.StatusOK, answer)
	}
}

// read takes the whole body within the limit; on failure it has answered.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) (*connectors.WebhookRequest, bool) {
	// A body declared too large is refused from the head, before any of
	// it is read: reading would wait for it until the read timeout (a
	// client may send it only once answered, an attacker never).
	if r.ContentLength > h.o.BodyLimit {
		h.tooLarge(w)
		return nil, false
	}
	// A body of unknown length (chunked) is cut at the limit as it comes.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.BodyLimit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.tooLarge(w)
			return nil, false
		}
		// The sender went away or stalled: nothing to answer to, but count it.
		h.warn("unreadable_body", http.StatusBadRequest).Err(err).Msg("webhook body unreadable")
		h.o.Metrics.count(h.o.Channel, ResultRejected)
		h.refuse(w, http.StatusBadRequest, "unreadable_body")
		return nil, false
	}
	return &connectors.WebhookRequest{
		Method:     r.Method,
		URL:        r.URL,
		Header:     r.Header,
		Body:       body,
		ReceivedAt: h.o.Now().UTC(),
	}, true
}

// tooLarge answers 413 and closes the connection after it: the rest of
// the body must neither be taken for a next request nor be waited for.
func (h *Handler) tooLarge(w http.ResponseWriter) {
	h.warn("body_too_large", http.StatusRequestEntityTooLarge).Int64("limit", h.o.BodyLimit).Msg("webhook body over the limit")
	h.o.Metrics.count(h.o.Channel, ResultRejected)
	w.Header().Set("Connection", "close")
	h.refuse(w, http.StatusRequestEntityTooLarge, "body_too_large")
}

// hold waits RefusalDelay before a refusal is answered, when a slot is
// free (see Options.RefusalDelay) and until the request ends.
func (h *Handler) hold(ctx context.Context) {
	if h.o.RefusalDelay < 0 {
		return
	}
	select {
	case h.tarpit <- struct{}{}:
	default:
		return // as many held as allowed: answer this one at once
	}
	defer func() { <-h.tarpit }()
	// Between the delay and half as much again, at random: a flood's
	// senders, held alike, would otherwise all come back in one burst.
	t := time.NewTimer(h.o.RefusalDelay + rand.N(h.o.RefusalDelay/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// warn starts the warning about a refusal for reason, or returns nil
// (on which zerolog's methods do nothing) when this channel logged that
// reason less than LogEvery ago. A line logged after some were left out
// says how many ("suppressed").
func (h *Handler) warn(reason string, status int) *zerolog.Event {
	suppressed, ok := h.logs.allow(reason, h.o.Now())
	if !ok {
		return nil
	}
	ev := h.o.Logger.Warn().Str("reason", reason).Int("status", status)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	return ev
}

func (h *Handler) refuse(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, map[string]string{"error": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
