package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/shelfsync/shelfsync/sync/shipments"
)

// Shipments takes shipments in and reports them (sync/shipments).
type Shipments interface {
	Submit(ctx context.Context, r shipments.Request, via string) (shipments.Outcome, error)
	ForOrder(ctx context.Context, channel, orderID string) ([]shipments.View, error)
	Requeue(ctx context.Context, channel, id string) (bool, error)
}

// ShipmentDeadLetters lists and replays the inbound shipments stream's
// dead letters (shipments.Inbound).
type ShipmentDeadLetters interface {
	DeadLetters(ctx context.Context, n int64) ([]shipments.DeadLetter, error)
	Replay(ctx context.Context, deadID string) (string, error)
}

func (a *API) mountShipments() {
	a.mux.HandleFunc("POST /api/v1/shipments", a.postShipment)
	a.mux.HandleFunc("POST /api/v1/shipments/{channel}/{id}/retry", a.retryShipment)
	if a.e.ShipmentDeadLetters != nil {
		a.mux.HandleFunc("GET /api/v1/shipments/deadletters", a.shipmentDeadLetters)
		a.mux.HandleFunc("POST /api/v1/shipments/deadletters/{id}/replay", a.replayShipment)
	}
}

// shipmentDeadLetters serves GET /api/v1/shipments/deadletters?limit=N:
// the inbound stream's dead letters, newest first.
func (a *API) shipmentDeadLetters(w http.ResponseWriter, r *http.Request) {
	n, err := limitParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.e.ShipmentDeadLetters.DeadLetters(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// replayShipment serves POST /api/v1/shipments/deadletters/{id}/replay:
// the entry back on the inbound stream (202 with its new id); 404 when no
// dead letter has that id.
func (a *API) replayShipment(w http.ResponseWriter, r *http.Request) {
	id, err := a.e.ShipmentDeadLetters.Replay(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"stream_id": id})
}

// postShipment serves POST /api/v1/shipments: 201 stored (new), 200 a
// repeat of the same key and body; 400, 404, 409 refused, nothing stored.
func (a *API) postShipment(w http.ResponseWriter, r *http.Request) {
	var body shipments.Request
	if err := decode(w, r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if body.IdempotencyKey == "" {
		body.IdempotencyKey = r.Header.Get("Idempotency-Key")
	}
	out, err := a.e.Shipments.Submit(r.Context(), body, "api")
	var se *shipments.Error
	if errors.As(err, &se) {
		writeJSON(w, se.Status, se)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if out.New {
		status = http.StatusCreated
	}
	views, err := a.e.Shipments.ForOrder(r.Context(), body.Channel, body.OrderID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, v := range views {
		if v.ID == out.ID {
			writeJSON(w, status, v)
			return
		}
	}
	writeJSON(w, status, out)
}

// retryShipment serves POST /api/v1/shipments/{channel}/{id}/retry: a
// parked shipment back on its channel's queue (202); 404 when none is
// parked under that id.
func (a *API) retryShipment(w http.ResponseWriter, r *http.Request) {
	ok, err := a.e.Shipments.Requeue(r.Context(), r.PathValue("channel"), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no parked shipment of that id on that channel")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": r.PathValue("id"), "status": shipments.StatusPending})
}
