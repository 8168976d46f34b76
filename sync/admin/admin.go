// Package admin is the daemon's admin API under /api/v1: stock of a SKU
// (per location, and what each channel lists), adjusting and setting stock,
// an order as the ledger holds it, each channel's status, the dead-letter
// stream with replay, triggers for reconcile and poll, and the catalog
// (mappings and kits, catalog.go).
//
// Every request needs "Authorization: Bearer <http.admin_token>", compared
// in constant time; errors are JSON {"error": "..."}. With no token
// configured the API is not mounted at all. Request bodies are read
// strictly (decode): one JSON object, no key twice, no unknown field.
package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/sync/intake"
	"github.com/shelfsync/shelfsync/sync/status"
)

// Ledger is what the admin API reads and writes of the stock ledger.
type Ledger interface {
	Adjust(ctx context.Context, d inventory.Delta) (inventory.DeltaResult, error)
	SetCount(ctx context.Context, c inventory.Count) (inventory.DeltaResult, error)
	History(ctx context.Context, sku string, n int64) ([]inventory.JournalEntry, error)
	Lines(ctx context.Context, channel, orderID string) ([]inventory.LineRecord, error)
}

// Listings says what each channel lists for a SKU.
type Listings interface {
	ATS(ctx context.Context, sku string) (inventory.SKUStock, map[string]int64, error)
}

// Channels reports on the channels and runs their jobs on demand.
type Channels interface {
	Channels() []string
	Status(ctx context.Context, name string) (status.ChannelStatus, error)
	TriggerReconcile(channel string) bool
	TriggerPoll(channel string) bool
}

// DeadLetters lists and replays the intake's dead letters.
type DeadLetters interface {
	DeadLetters(ctx context.Context, n int64) ([]intake.DeadLetter, error)
	Replay(ctx context.Context, deadID string) (string, error)
}

// Deps is what the admin API works on (the engine's parts).
type Deps struct {
	Ledger      Ledger
	Listings    Listings
	Channels    Channels
	DeadLetters DeadLetters
	// Catalog mounts the catalog endpoints (catalog.go); nil leaves them out.
	Catalog *Catalog
	// Reorder mounts the reorder point endpoints (reorder.go); nil leaves
	// them out.
	Reorder *Reorder
	// Shadow mounts GET /api/v1/channels/{channel}/shadow (shadow.go);
	// nil leaves it out.
	Shadow ShadowReporter
	// StockImport mounts POST /api/v1/stock/import (stockimport.go); nil
	// leaves it out.
	StockImport *StockImport
	// Reports mounts GET /api/v1/reports/sales and .../stock (report.go);
	// nil leaves them out.
	Reports *Reports
	// Shipments mounts POST /api/v1/shipments and adds each order's
	// shipments to GET /api/v1/orders/{channel}/{id} (shipments.go); nil
	// leaves them out.
	Shipments Shipments
	// ShipmentDeadLetters mounts GET /api/v1/shipments/deadletters and
	// POST /api/v1/shipments/deadletters/{id}/replay (with Shipments); nil
	// leaves them out.
	ShipmentDeadLetters ShipmentDeadLetters
}

// API serves /api/v1.
type API struct {
	e     Deps
	token []byte
	log   zerolog.Logger
	mux   *http.ServeMux
}

// New builds the admin API handler. token must not be empty.
func New(e Deps, token string, log zerolog.Logger) http.Handler {
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
	if e.Catalog != nil {
		a.mountCatalog()
	}
	if e.Reorder != nil {
		a.mountReorder()
	}
	if e.StockImport != nil {
		a.mux.HandleFunc("POST /api/v1/stock/import", a.stockImport)
	}
	if e.Shadow != nil {
		a.mux.HandleFunc("GET /api/v1/channels/{channel}/shadow", a.shadowReport)
	}
	if e.Reports != nil {
		a.mountReports()
	}
	if e.Shipments != nil {
		a.mountShipments()
	}
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

// fail maps an error to a status: invalid input 400 (a body too large
// 413), unknown things 404, an idempotency key reused for a different
// request 409, the rest 500 (logged here, where it is handled; the
// answer says no more, so it can not carry anything internal).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var body *bodyError
	switch {
	case errors.As(err, &body):
		writeError(w, body.status, body.Error())
	case errors.Is(err, inventory.ErrInvalid), errors.Is(err, inventory.ErrInsufficient):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, inventory.ErrKeyConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, inventory.ErrUnknownSKU), errors.Is(err, status.ErrUnknownChannel), errors.Is(err, intake.ErrNoDeadLetter):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		a.log.Error().Err(err).Str("path", r.URL.Path).Msg("admin request failed")
		writeError(w, http.StatusInternalServerError, "internal error (see the daemon's log)")
	}
}

// maxBody is the largest request body read.
const maxBody = 1 << 16

// bodyError is a request body that was refused before anything happened:
// 400 (413 when too large), its message returned as is.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return "request body: " + e.msg }

// decode reads a request body strictly into v: exactly one JSON object
// (nothing but whitespace after it), no key twice (checkStrictJSON), no
// field v does not have, and values of the fields' types.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("larger than %d bytes", maxBody)}
		}
		return &bodyError{http.StatusBadRequest, "could not be read"}
	}
	if err := checkStrictJSON(data); err != nil {
		return &bodyError{http.StatusBadRequest, err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return &bodyError{http.StatusBadRequest, fmt.Sprintf("field %q must be %s, got %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)}
		}
		// Unknown fields: `json: unknown field "reasn"`.
		return &bodyError{http.StatusBadRequest, strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// jsonKind names what a field of type t takes, for an error message.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "another type"
	}
}

type stockView struct {
	SKU       string                     `json:"sku"`
	Locations map[string]inventory.Level `json:"locations"`
	ATS       map[string]int64           `json:"ats"`
}

func (a *API) getStock(w http.ResponseWriter, r *http.Request) {
	st, ats, err := a.e.Listings.ATS(r.Context(), r.PathValue("sku"))
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
	// Key makes the request idempotent, else the Idempotency-Key header
	// (both: they must agree); else a random key. The same request again
	// under a key answers the first result ("Applied": false); another
	// request under a used key is refused with 409 Conflict.
	Key string `json:"key"`
}

func (a *API) adjust(w http.ResponseWriter, r *http.Request) {
	var b adjustBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	key, header := b.Key, r.Header.Get("Idempotency-Key")
	switch {
	case key != "" && header != "" && key != header:
		a.fail(w, r, &bodyError{http.StatusBadRequest, `"key" and the Idempotency-Key header differ: send one, or the same in both`})
		return
	case key == "":
		key = header
	}
	if key == "" {
		// A key of its own, so the request applies once: random, since two
		// requests can not both be meant under one key.
		var n [12]byte
		_, _ = rand.Read(n[:])
		key = "admin:" + hex.EncodeToString(n[:])
	}
	res, err := a.e.Ledger.Adjust(r.Context(), inventory.Delta{Key: key, SKU: r.PathValue("sku"), Location: b.Location, Quantity: b.Delta, Reason: b.Reason})
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
	if err := decode(w, r, &b); err != nil {
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
	res, err := a.e.Ledger.SetCount(r.Context(), inventory.Count{SKU: r.PathValue("sku"), Location: r.PathValue("location"),
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
	h, err := a.e.Ledger.History(r.Context(), r.PathValue("sku"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	lines, err := a.e.Ledger.Lines(r.Context(), r.PathValue("channel"), r.PathValue("order"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(lines) == 0 {
		writeError(w, http.StatusNotFound, "the ledger holds no lines of that order")
		return
	}
	out := map[string]any{"channel": r.PathValue("channel"), "order_id": r.PathValue("order"), "lines": lines}
	if a.e.Shipments != nil {
		views, err := a.e.Shipments.ForOrder(r.Context(), r.PathValue("channel"), r.PathValue("order"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out["shipments"] = views
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) {
	out := make([]status.ChannelStatus, 0)
	for _, name := range a.e.Channels.Channels() {
		s, err := a.e.Channels.Status(r.Context(), name)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, s)
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request) {
	s, err := a.e.Channels.Status(r.Context(), r.PathValue("channel"))
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
			ok = a.e.Channels.TriggerReconcile(ch)
		} else {
			ok = a.e.Channels.TriggerPoll(ch)
		}
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("channel %q has no %s job", ch, job))
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": job + " triggered"})
	}
}

// limitParam reads ?limit= of a dead-letter list (default 100, 1..10000).
func limitParam(r *http.Request) (int64, error) {
	n := int64(100)
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil || n < 1 || n > 10000 {
			return 0, fmt.Errorf("%w: limit must be 1..10000", inventory.ErrInvalid)
		}
	}
	return n, nil
}

func (a *API) deadLetters(w http.ResponseWriter, r *http.Request) {
	n, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.e.DeadLetters.DeadLetters(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	id, err := a.e.DeadLetters.Replay(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"intake_id": id})
}
