package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/shelfsync/shelfsync/inventory"
)

// ReorderLedger is what the reorder endpoints use of the ledger.
type ReorderLedger interface {
	SetReorder(ctx context.Context, r inventory.Reorder, source string) (*inventory.Reorder, error)
	RemoveReorder(ctx context.Context, sku, location, source string) (*inventory.Reorder, error)
	ReorderOf(ctx context.Context, sku string) (inventory.ReorderSetting, bool, error)
	EffectiveReorderOf(ctx context.Context, sku string) (inventory.ReorderSetting, bool, error)
	ReorderHistory(ctx context.Context, sku string, n int64) ([]inventory.ReorderChange, error)
	BelowReorder(ctx context.Context) ([]inventory.LowSKU, error)
	SetReorderDefault(ctx context.Context, d inventory.ReorderDefault, source string) (*inventory.ReorderDefault, error)
	RemoveReorderDefault(ctx context.Context, location, source string) (*inventory.ReorderDefault, error)
	ReorderDefaults(ctx context.Context) (inventory.ReorderDefaults, error)
	ReorderDefaultHistory(ctx context.Context, n int64) ([]inventory.ReorderChange, error)
}

// Reorder mounts PUT and GET /api/v1/stock/{sku}/reorder (stock
// signals). Locations are the config's: a point at another is refused.
type Reorder struct {
	Ledger    ReorderLedger
	Locations []string
}

func (a *API) mountReorder() {
	a.mux.HandleFunc("GET /api/v1/stock/{sku}/reorder", a.getReorder)
	a.mux.HandleFunc("PUT /api/v1/stock/{sku}/reorder", a.putReorder)
	a.mux.HandleFunc("GET /api/v1/stock", a.listStock)
	a.mux.HandleFunc("GET /api/v1/reorder/defaults", a.getReorderDefaults)
	a.mux.HandleFunc("PUT /api/v1/reorder/defaults/{location}", a.putReorderDefault)
	a.mux.HandleFunc("DELETE /api/v1/reorder/defaults/{location}", a.deleteReorderDefault)
}

// reorderDefaultBody is a location's default reorder point.
type reorderDefaultBody struct {
	ReorderPoint *int64 `json:"reorder_point"`
	ReorderQty   *int64 `json:"reorder_qty"`
}

type reorderDefaultsAnswer struct {
	Version  int64                      `json:"version"`
	Defaults []inventory.ReorderDefault `json:"defaults"`
	// Due: when the SKUs are evaluated again after the last change (by
	// the signal sweeper); absent when done.
	Due     *time.Time                `json:"reevaluation_due,omitempty"`
	Changes []inventory.ReorderChange `json:"changes,omitempty"`
}

// knownDefaultLocation says loc may hold a default: a config location or
// "*" (every location).
func (a *API) knownDefaultLocation(w http.ResponseWriter, loc string) bool {
	if loc == inventory.AllLocations || slices.Contains(a.e.Reorder.Locations, loc) {
		return true
	}
	writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("location: unknown location %q (the config's locations: %v, or %q for every location)", loc, a.e.Reorder.Locations, inventory.AllLocations))
	return false
}

// putReorderDefault serves PUT /api/v1/reorder/defaults/{location}: the
// location's default reorder point ("*": every location without its
// own), for every SKU without a point of its own there.
func (a *API) putReorderDefault(w http.ResponseWriter, r *http.Request) {
	var b reorderDefaultBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	loc := r.PathValue("location")
	if !a.knownDefaultLocation(w, loc) {
		return
	}
	if b.ReorderPoint == nil {
		a.fail(w, r, fmt.Errorf("%w: reorder_point is required (DELETE removes the default)", inventory.ErrInvalid))
		return
	}
	if _, err := a.e.Reorder.Ledger.SetReorderDefault(r.Context(), inventory.ReorderDefault{Location: loc, Point: *b.ReorderPoint, Qty: b.ReorderQty}, "admin api"); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeReorderDefaults(w, r, 0)
}

func (a *API) deleteReorderDefault(w http.ResponseWriter, r *http.Request) {
	loc := r.PathValue("location")
	if !a.knownDefaultLocation(w, loc) {
		return
	}
	if _, err := a.e.Reorder.Ledger.RemoveReorderDefault(r.Context(), loc, "admin api"); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeReorderDefaults(w, r, 0)
}

func (a *API) getReorderDefaults(w http.ResponseWriter, r *http.Request) {
	a.writeReorderDefaults(w, r, 20)
}

func (a *API) writeReorderDefaults(w http.ResponseWriter, r *http.Request, n int64) {
	d, err := a.e.Reorder.Ledger.ReorderDefaults(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ans := reorderDefaultsAnswer{Version: d.Version, Defaults: d.List()}
	if !d.Due.IsZero() {
		due := d.Due.UTC()
		ans.Due = &due
	}
	if n > 0 {
		if ans.Changes, err = a.e.Reorder.Ledger.ReorderDefaultHistory(r.Context(), n); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// listStock serves GET /api/v1/stock?below=reorder: the SKUs at or below
// their reorder point with days of cover (inventory.LowSKU).
func (a *API) listStock(w http.ResponseWriter, r *http.Request) {
	if b := r.URL.Query().Get("below"); b != "reorder" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("below=%q: the accepted value is below=reorder", b))
		return
	}
	rows, err := a.e.Reorder.Ledger.BelowReorder(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

// reorderBody is one location's setting; reorder_point null (or
// "remove": true) removes it.
type reorderBody struct {
	Location     string `json:"location"`
	ReorderPoint *int64 `json:"reorder_point"`
	ReorderQty   *int64 `json:"reorder_qty"`
	Remove       bool   `json:"remove"`
}

type reorderAnswer struct {
	inventory.ReorderSetting
	Set bool `json:"set"`
	// Effective: the SKU's own points and, at its other locations, the
	// default reorder points that apply (each naming its default); absent
	// when none applies.
	Effective *inventory.ReorderSetting `json:"effective,omitempty"`
	Changes   []inventory.ReorderChange `json:"changes,omitempty"`
}

func (a *API) putReorder(w http.ResponseWriter, r *http.Request) {
	var b reorderBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	sku := r.PathValue("sku")
	if !slices.Contains(a.e.Reorder.Locations, b.Location) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("location: unknown location %q (the config's locations: %v)", b.Location, a.e.Reorder.Locations))
		return
	}
	var err error
	switch {
	case b.Remove:
		_, err = a.e.Reorder.Ledger.RemoveReorder(r.Context(), sku, b.Location, "admin api")
	case b.ReorderPoint == nil:
		err = fmt.Errorf("%w: reorder_point is required (or remove: true)", inventory.ErrInvalid)
	default:
		_, err = a.e.Reorder.Ledger.SetReorder(r.Context(), inventory.Reorder{SKU: sku, Location: b.Location, Point: *b.ReorderPoint, Qty: b.ReorderQty}, "admin api")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeReorder(w, r, sku, 0)
}

func (a *API) getReorder(w http.ResponseWriter, r *http.Request) {
	a.writeReorder(w, r, r.PathValue("sku"), 20)
}

func (a *API) writeReorder(w http.ResponseWriter, r *http.Request, sku string, n int64) {
	s, ok, err := a.e.Reorder.Ledger.ReorderOf(r.Context(), sku)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ans := reorderAnswer{ReorderSetting: s, Set: ok}
	eff, has, err := a.e.Reorder.Ledger.EffectiveReorderOf(r.Context(), sku)
	if err != nil && !errors.Is(err, inventory.ErrUnknownSKU) {
		a.fail(w, r, err)
		return
	}
	if has {
		ans.Effective = &eff
	}
	if n > 0 {
		if ans.Changes, err = a.e.Reorder.Ledger.ReorderHistory(r.Context(), sku, n); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, ans)
}
