package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/shelfsync/shelfsync/inventory"
	"github.com/shelfsync/shelfsync/inventory/catalog"
)

// Catalog is what the catalog endpoints work on: the catalog, the ledger
// it is checked against, the channels a mapping may name, and what each
// channel would list.
type Catalog struct {
	Book     *catalog.Catalog
	Ledger   catalog.Ledger
	Channels []string
	Listings interface {
		Listed(ctx context.Context, names ...string) (map[string]map[string]int64, error)
	}
}

// mountCatalog adds the catalog endpoints:
//
// Each PUT changes an existing mapping or kit only with ?replace=true.
//
//	GET /api/v1/catalog                                the whole catalog (as PUT takes it)
//	PUT /api/v1/catalog                                mappings and kits, checked as a whole first
//	GET /api/v1/catalog/history?n=20                   the newest changes
//	GET /api/v1/catalog/skus/{sku}                     what the catalog knows of a name, and what each channel lists
//	PUT /api/v1/catalog/mappings/{channel}/{listing}   one mapping: {"sku": "A", "multiplier": 6}
//	PUT /api/v1/catalog/kits/{sku}                     one kit: {"components": [{"sku": "A", "quantity": 2}]}
//	DELETE /api/v1/catalog/mappings/{channel}/{listing}[?force=true]
//	                                                   removes a mapping (409 when the listing would stand for nothing, unless force)
//	DELETE /api/v1/catalog/kits/{sku}                  removes a kit (409 while listings are mapped to it)
func (a *API) mountCatalog() {
	a.mux.HandleFunc("GET /api/v1/catalog", a.exportCatalog)
	a.mux.HandleFunc("PUT /api/v1/catalog", a.putCatalog)
	a.mux.HandleFunc("GET /api/v1/catalog/history", a.catalogHistory)
	a.mux.HandleFunc("GET /api/v1/catalog/skus/{sku}", a.getCatalogSKU)
	a.mux.HandleFunc("PUT /api/v1/catalog/mappings/{channel}/{listing}", a.putMapping)
	a.mux.HandleFunc("PUT /api/v1/catalog/kits/{sku}", a.putKit)
	a.mux.HandleFunc("DELETE /api/v1/catalog/mappings/{channel}/{listing}", a.deleteMapping)
	a.mux.HandleFunc("DELETE /api/v1/catalog/kits/{sku}", a.deleteKit)
}

func (a *API) deleteMapping(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force")
	if force != "" && force != "true" && force != "false" {
		writeError(w, http.StatusBadRequest, "force must be true or false")
		return
	}
	c := a.e.Catalog
	m, err := c.Book.DeleteMapping(r.Context(), c.Ledger, r.PathValue("channel"), r.PathValue("listing"), force == "true", "api")
	a.deleted(w, r, map[string]any{"deleted": map[string]any{"mapping": m}}, err)
}

func (a *API) deleteKit(w http.ResponseWriter, r *http.Request) {
	k, err := a.e.Catalog.Book.DeleteKit(r.Context(), r.PathValue("sku"), "api")
	a.deleted(w, r, map[string]any{"deleted": map[string]any{"kit": k}}, err)
}

// deleted answers a delete: 200 with what went, 404 when there was no
// such thing, 409 when it was refused (it would orphan something, or
// another change is being applied).
func (a *API) deleted(w http.ResponseWriter, r *http.Request, ok any, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, ok)
	case errors.Is(err, catalog.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, catalog.ErrWouldOrphan), errors.Is(err, catalog.ErrBusy):
		writeError(w, http.StatusConflict, err.Error())
	default:
		a.fail(w, r, err)
	}
}

func (a *API) exportCatalog(w http.ResponseWriter, r *http.Request) {
	p, err := a.e.Catalog.Book.Export(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if p.Mappings == nil {
		p.Mappings = []catalog.Mapping{}
	}
	if p.Kits == nil {
		p.Kits = []catalog.Kit{}
	}
	writeJSON(w, http.StatusOK, p)
}

// mappingBody is one mapping; multiplier defaults to 1.
type mappingBody struct {
	Channel    string `json:"channel"`
	Listing    string `json:"listing"`
	SKU        string `json:"sku"`
	Multiplier *int64 `json:"multiplier"`
}

type componentBody struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type kitBody struct {
	SKU        string          `json:"sku"`
	Components []componentBody `json:"components"`
}

type planBody struct {
	Mappings []mappingBody `json:"mappings"`
	Kits     []kitBody     `json:"kits"`
}

// plan turns a body into a catalog plan. Items are numbered for the
// problems: mapping i is "line" i+1, kit j is len(mappings)+j+1; where
// names them back as mappings[i] and kits[j].
func (b planBody) plan() catalog.Plan {
	var p catalog.Plan
	for i, m := range b.Mappings {
		mult := int64(1)
		if m.Multiplier != nil {
			mult = *m.Multiplier
		}
		p.Mappings = append(p.Mappings, catalog.Mapping{Channel: m.Channel, Listing: m.Listing, SKU: m.SKU, Multiplier: mult, Line: i + 1})
	}
	for j, k := range b.Kits {
		kt := catalog.Kit{SKU: k.SKU, Line: len(b.Mappings) + j + 1}
		for _, c := range k.Components {
			kt.Components = append(kt.Components, catalog.Component{SKU: c.SKU, Quantity: c.Quantity})
		}
		p.Kits = append(p.Kits, kt)
	}
	return p
}

// where names the item a problem's number stands for.
func (b planBody) where(n int) string {
	switch {
	case n <= 0:
		return ""
	case n <= len(b.Mappings):
		return fmt.Sprintf("mappings[%d]", n-1)
	default:
		return fmt.Sprintf("kits[%d]", n-len(b.Mappings)-1)
	}
}

type problemView struct {
	Item  string `json:"item,omitempty"`
	Error string `json:"error"`
}

func (a *API) putCatalog(w http.ResponseWriter, r *http.Request) {
	var b planBody
	if err := decode(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyPlan(w, r, b)
}

// applyPlan checks the whole plan, answers 422 with every problem (nothing
// applied), else applies it.
func (a *API) applyPlan(w http.ResponseWriter, r *http.Request, b planBody) {
	c := a.e.Catalog
	plan := b.plan()
	plan.Replace = r.URL.Query().Get("replace") == "true"
	probs, err := c.Book.Check(r.Context(), plan, c.Ledger, c.Channels)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(probs) > 0 {
		out := make([]problemView, len(probs))
		for i, p := range probs {
			out[i] = problemView{Item: b.where(p.Line), Error: p.Msg}
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "nothing applied", "problems": out})
		return
	}
	res, err := c.Book.Apply(r.Context(), plan, "api")
	if errors.Is(err, catalog.ErrBusy) {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *API) putMapping(w http.ResponseWriter, r *http.Request) {
	var m struct {
		SKU        string `json:"sku"`
		Multiplier *int64 `json:"multiplier"`
	}
	if err := decode(w, r, &m); err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyPlan(w, r, planBody{Mappings: []mappingBody{{Channel: r.PathValue("channel"), Listing: r.PathValue("listing"), SKU: m.SKU, Multiplier: m.Multiplier}}})
}

func (a *API) putKit(w http.ResponseWriter, r *http.Request) {
	var k struct {
		Components []componentBody `json:"components"`
	}
	if err := decode(w, r, &k); err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyPlan(w, r, planBody{Kits: []kitBody{{SKU: r.PathValue("sku"), Components: k.Components}}})
}

type catalogSKUView struct {
	catalog.Entry
	InLedger bool `json:"in_ledger"`
	// Listed is what each channel lists now of the name and of every kit
	// containing it: channel → listing → quantity.
	Listed map[string]map[string]int64 `json:"listed"`
}

func (a *API) getCatalogSKU(w http.ResponseWriter, r *http.Request) {
	c, sku := a.e.Catalog, r.PathValue("sku")
	e, err := c.Book.Entry(r.Context(), sku)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := c.Ledger.StockMany(r.Context(), []string{sku})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	_, inLedger := st[sku]
	if e.Empty() && !inLedger {
		a.fail(w, r, fmt.Errorf("%s: %w (and not in the catalog)", sku, inventory.ErrUnknownSKU))
		return
	}
	listed, err := c.Listings.Listed(r.Context(), sku)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, catalogSKUView{Entry: e, InLedger: inLedger, Listed: listed})
}

func (a *API) catalogHistory(w http.ResponseWriter, r *http.Request) {
	n := int64(20)
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v > 10000 {
			writeError(w, http.StatusBadRequest, "n must be 1..10000")
			return
		}
		n = v
	}
	h, err := a.e.Catalog.Book.History(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if h == nil {
		h = []catalog.JournalEntry{}
	}
	writeJSON(w, http.StatusOK, h)
}
