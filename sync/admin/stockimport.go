package admin

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/inventory/stockimport"
)

// StockImport is what POST /api/v1/stock/import needs: the ledger and the
// configured locations (a count at another location is refused).
type StockImport struct {
	Ledger    stockimport.Writer
	Locations []string
}

// maxImportBody bounds an import's body (about a million CSV rows).
const maxImportBody = 64 << 20

// stockImport serves POST /api/v1/stock/import: a CSV body (text/csv,
// header sku,location,on_hand[,version]) or JSON ({"counts":[...]}),
// checked as a whole (422 with every problem and its line or item,
// nothing applied), then applied as versioned counts. ?version=V is the
// version of rows without one (default: now, unix ms).
func (a *API) stockImport(w http.ResponseWriter, r *http.Request) {
	o := stockimport.Options{Version: time.Now().UnixMilli(), Locations: map[string]bool{}}
	for _, l := range a.e.StockImport.Locations {
		o.Locations[l] = true
	}
	if v := r.URL.Query().Get("version"); v != "" {
		if _, err := fmt.Sscan(v, &o.Version); err != nil || o.Version < 0 {
			writeError(w, http.StatusBadRequest, "version must be a whole number, 0 or more")
			return
		}
	}
	if reason := r.URL.Query().Get("reason"); reason != "" {
		o.Reason = reason
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	parse := stockimport.ParseCSV
	switch {
	case ct == "application/json":
		parse = stockimport.ParseJSON
	case ct != "text/csv" && !strings.HasSuffix(ct, "/csv"):
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be text/csv or application/json")
		return
	}
	counts, err := parse(body, o)
	var perr *stockimport.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body: larger than %d bytes", maxImportBody))
		return
	case errors.As(err, &perr):
		writeJSON(w, http.StatusUnprocessableEntity, perr)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "request body could not be read")
		return
	}
	sum, err := stockimport.Apply(r.Context(), a.e.StockImport.Ledger, counts, 0, 0, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}
