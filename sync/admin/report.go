package admin

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shelfsync/shelfsync/inventory/report"
)

// Reports mounts GET /api/v1/reports/sales and /api/v1/reports/stock
// (inventory/report): read-only, from the ledger's journals, figures and
// reorder settings.
type Reports struct {
	Ledger report.StockLedger
	// Now is the clock (the window's end); nil is time.Now.
	Now func() time.Time
}

func (a *API) mountReports() {
	a.mux.HandleFunc("GET /api/v1/reports/sales", a.salesReport)
	a.mux.HandleFunc("GET /api/v1/reports/stock", a.stockReport)
}

func (rp *Reports) now() time.Time {
	if rp.Now == nil {
		return time.Now().UTC()
	}
	return rp.Now().UTC()
}

// reportQuery checks a report's query: only the parameters named (each at
// most once), and the format (default JSON).
func reportQuery(q url.Values, allowed ...string) (report.Format, error) {
	known := map[string]bool{"format": true}
	for _, k := range allowed {
		known[k] = true
	}
	for k, v := range q {
		if !known[k] {
			return "", errBadReportQuery("unknown parameter " + k + "; accepted: format, " + strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return "", errBadReportQuery("parameter " + k + " given more than once")
		}
	}
	return report.ParseFormat(q.Get("format"), report.JSON)
}

func errBadReportQuery(msg string) error { return fmt.Errorf("%w: %s", report.ErrBadInput, msg) }

// salesReport serves GET /api/v1/reports/sales?since=7d&by=channel&format=json.
func (a *API) salesReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := reportQuery(q, "since", "by")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	since := q.Get("since")
	if since == "" {
		since = "7d"
	}
	now := a.e.Reports.now()
	from, err := report.ParsePeriod(since, now)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	by, err := report.ParseGrouping(q.Get("by"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := report.SalesReport(r.Context(), a.e.Reports.Ledger, from, now, by)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := report.WriteSales(&b, s, f); err != nil {
		a.fail(w, r, err)
		return
	}
	writeReport(w, f, b.Bytes())
}

// stockReport serves GET /api/v1/reports/stock?format=csv.
func (a *API) stockReport(w http.ResponseWriter, r *http.Request) {
	f, err := reportQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := report.StockReport(r.Context(), a.e.Reports.Ledger, a.e.Reports.now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := report.WriteStock(&b, rows, f); err != nil {
		a.fail(w, r, err)
		return
	}
	writeReport(w, f, b.Bytes())
}

// writeReport answers a report written whole first (a failure midway is a
// 500, never half a CSV).
func writeReport(w http.ResponseWriter, f report.Format, body []byte) {
	ct := map[report.Format]string{report.JSON: "application/json", report.CSV: "text/csv; charset=utf-8", report.Table: "text/plain; charset=utf-8"}[f]
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
