package admin

import (
	"context"
	"net/http"

	"github.com/shelfsync/shelfsync/sync/shadow"
)

// ShadowReporter reports what shadow mode would have pushed to a channel
// against what the channel lists now (the engine).
type ShadowReporter interface {
	ShadowReport(ctx context.Context, channel string) (shadow.Report, error)
}

// shadowReport serves GET /api/v1/channels/{channel}/shadow.
func (a *API) shadowReport(w http.ResponseWriter, r *http.Request) {
	rep, err := a.e.Shadow.ShadowReport(r.Context(), r.PathValue("channel"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
