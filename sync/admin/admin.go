// Package admin is the daemon's admin API under /api/v1: stock of a SKU
// (per location, and what each channel lists), adjusting and setting stock,
// an order as the ledger holds it, each channel's status, the dead-letter
// stream with replay, and triggers for reconcile and poll.
//
// Every request needs "Authorization: Bearer <http.admin_token>", compared
// in constant time; errors are JSON {"error": "..."}. With no token
// configured the API is not mounted at all.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/engine"
	"github.com/shelfsync/shelfsync/sync/intake"
)

// API serves /api/v1.
type API struct {
	e     *engine.Engine
	token []byte
	log   zerolog.Logger
	mux   *http.ServeMux
}

// New builds the admin API handler. token must not be empty.
func New(e *engine.Engine, token string, log zerolog.Logger) http.Handler {
	a := &API{e: e, token: []byte(token), log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/stock/{sku}", a.getStock)
	a.mux.HandleFunc("POST /api/v1/stock/{sku}/adjust", a.adjust)
	a.mux.HandleFunc("PUT /api/v1/stock/{sku}/{location}", a.setCount)
	a.mux.HandleFunc("GET /api/v1/stock/{sku}/history", a.history)
	a.mux.HandleFunc("GET /api/v1/orders/{channel}/{order}", a.getOrder)
	a.mux.HandleFunc("GET /api/v1/channels", a.listChannels)
	a.mux.HandleFunc("GET /api/v1/channels/{channel}", a.getChannel)
	a.mux.HandleFunc("POST /api/v1/channels/{channel}/reconcile", a.trigger("reconcile"))
	a.mux.HandleFunc("POST /api/v1/channels/{channel}/poll", a.trigger("poll"))
	a.mux.HandleFunc("GET /api/v1/deadletters", a.deadLetters)
	a.mux.HandleFunc("POST /api/v1/deadletters/{id}/replay", a.replay)
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got, ok := bearer(r)
	if !ok || subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shelfsync"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	a.mux.ServeHTTP(w, r)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// fail maps an error to a status: invalid input 400, unknown things 404,
// the rest 500 (logged here, where it is handled).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, inventory.ErrInvalid), errors.Is(err, inventory.ErrInsufficient):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, inventory.ErrUnknownSKU), errors.Is(err, engine.ErrUnknownChannel), errors.Is(err, intake.ErrNoDeadLetter):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		a.log.Error().Err(err).Str("path", r.URL.Path).Msg("admin request failed")
		writeError(w, http.StatusInternalServerError, "internal error (see the daemon's log)")
	}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", inventory.ErrInvalid, err)
	}
	return nil
}

type stockView struct {
	SKU       string                     `json:"sku"`
	Locations map[string]inventory.Level `json:"locations"`
	ATS       map[string]int64           `json:"ats"`
}

func (a *API) getStock(w http.ResponseWriter, r *http.Request) {
	st, ats, err := a.e.ATS(r.Context(), r.PathValue("sku"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stockView{SKU: st.SKU, Locations: st.Locations, ATS: ats})
}

type adjustBody struct {
	Location string `json:"location"`
	Delta    int64  `json:"delta"`
	Reason   string `json:"reason"`
	// Key makes the request idempotent; else the Idempotency-Key header; else none.
	Key string `json:"key"`
}

func (a *API) adjust(w http.ResponseWriter, r *http.Request) {
	var b adjustBody
	if err := decode(r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	key := b.Key
	if key == "" {
		key = r.Header.Get("Idempotency-Key")
	}
	if key == "" {
		key = "admin:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	res, err := a.e.Ledger().Adjust(r.Context(), inventory.Delta{Key: key, SKU: r.PathValue("sku"), Location: b.Location, Quantity: b.Delta, Reason: b.Reason})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type countBody struct {
	OnHand  *int64 `json:"on_hand"`
	Version int64  `json:"version"` // default: now in ms
	Net     bool   `json:"net"`
	Reason  string `json:"reason"`
}

func (a *API) setCount(w http.ResponseWriter, r *http.Request) {
	var b countBody
	if err := decode(r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	if b.OnHand == nil {
		a.fail(w, r, fmt.Errorf("%w: on_hand is required", inventory.ErrInvalid))
		return
	}
	if b.Version == 0 {
		b.Version = time.Now().UnixMilli()
	}
	if b.Reason == "" {
		b.Reason = "admin api"
	}
	res, err := a.e.Ledger().SetCount(r.Context(), inventory.Count{SKU: r.PathValue("sku"), Location: r.PathValue("location"),
		Quantity: *b.OnHand, Version: b.Version, Net: b.Net, Reason: b.Reason})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) history(w http.ResponseWriter, r *http.Request) {
	n := int64(50)
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 1 || n > 10000 {
			a.fail(w, r, fmt.Errorf("%w: limit must be 1..10000", inventory.ErrInvalid))
			return
		}
	}
	h, err := a.e.Ledger().History(r.Context(), r.PathValue("sku"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	lines, err := a.e.Ledger().Lines(r.Context(), r.PathValue("channel"), r.PathValue("order"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(lines) == 0 {
		writeError(w, http.StatusNotFound, "the ledger holds no lines of that order")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel": r.PathValue("channel"), "order_id": r.PathValue("order"), "lines": lines})
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) {
	out := make([]engine.ChannelStatus, 0)
	for _, name := range a.e.Channels() {
		s, err := a.e.Status(r.Context(), name)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request) {
	s, err := a.e.Status(r.Context(), r.PathValue("channel"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *API) trigger(job string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := r.PathValue("channel")
		var ok bool
		if job == "reconcile" {
			ok = a.e.TriggerReconcile(ch)
		} else {
			ok = a.e.TriggerPoll(ch)
		}
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("channel %q has no %s job", ch, job))
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": job + " triggered"})
	}
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request) {
	n := int64(100)
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 1 || n > 10000 {
			a.fail(w, r, fmt.Errorf("%w: limit must be 1..10000", inventory.ErrInvalid))
			return
		}
	}
	d, err := a.e.Intake().DeadLetters(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	id, err := a.e.Intake().Replay(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"intake_id": id})
}
