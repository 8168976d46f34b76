package amazon

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shelfsync/shelfsync/connectors"
)

// ReturnsReportType is the report Amazon names for seller-fulfilled
// returns ("Returns Reports", report type values): the flat file returns
// report by return date, one row per returned item.
const ReturnsReportType = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"

const (
	// returnsMaxWindow: "You can request up to 60 days of data in a
	// single report" (Returns Reports); a longer catch-up is several reports.
	returnsMaxWindow = 60 * 24 * time.Hour
	// returnsLookback: the report selects returns by their request date,
	// but a return changes after it (authorized, delivered back, closed).
	// Each poll asks again for the returns requested this long before its
	// cursor, so a change within it is seen; every return is emitted as
	// its whole state, so a repeat changes nothing.
	returnsLookback = 30 * 24 * time.Hour
	// returnsEndDelay keeps dataEndTime before Amazon's clock ("must be
	// prior to or equal to the current date and time") despite skew.
	returnsEndDelay = time.Minute
	// returnsPage is how many returns one emit carries.
	returnsPage = 100
	// maxLineCache bounds the remembered order items (order → SKU → item id).
	maxLineCache = 20000
)

// Report processing states (getReport's processingStatus).
const (
	reportDone      = "DONE"
	reportFatal     = "FATAL"
	reportCancelled = "CANCELLED"
)

type createReportRequest struct {
	ReportType     string   `json:"reportType"`
	MarketplaceIDs []string `json:"marketplaceIds"`
	DataStartTime  string   `json:"dataStartTime"`
	DataEndTime    string   `json:"dataEndTime"`
}

type reportStatus struct {
	ReportID         string `json:"reportId"`
	ProcessingStatus string `json:"processingStatus"`
	ReportDocumentID string `json:"reportDocumentId"`
}

type reportDocumentInfo struct {
	ReportDocumentID     string `json:"reportDocumentId"`
	URL                  string `json:"url"`
	CompressionAlgorithm string `json:"compressionAlgorithm"`
}

// PollReturns implements connectors.ReturnPoller: the seller-fulfilled
// returns Amazon reports (ReturnsReportType) requested from returnsLookback
// before since up to now less a minute, in reports of at most 60 days:
// createReport, getReport until processed, getReportDocument, download
// (gunzipped when Amazon says GZIP), parse. Each return's lines get their
// order item id from the order (FetchOrder, remembered), because the
// report names the SKU only. On success the cursor is the report's end;
// on any error since comes back.
func (c *Connector) PollReturns(ctx context.Context, since time.Time, emit func(context.Context, []connectors.Return) error) (time.Time, error) {
	end := c.now().Add(-returnsEndDelay).UTC().Truncate(time.Second)
	since = since.UTC()
	if !since.IsZero() && !since.Before(end) {
		return since, nil
	}
	start := end.Add(-returnsLookback)
	if !since.IsZero() {
		start = since.Add(-returnsLookback)
	}
	for from := start; from.Before(end); from = from.Add(returnsMaxWindow) {
		to := from.Add(returnsMaxWindow)
		if to.After(end) {
			to = end
		}
		rows, err := c.returnsReport(ctx, from, to)
		if err != nil {
			return since, fmt.Errorf("polling returns %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
		if err := c.emitReturns(ctx, GroupReturns(rows), emit); err != nil {
			return since, fmt.Errorf("polling returns: %w", err)
		}
	}
	return end, nil
}

// emitReturns resolves the returns' order item ids and hands them on,
// returnsPage at a time.
func (c *Connector) emitReturns(ctx context.Context, rets []connectors.Return, emit func(context.Context, []connectors.Return) error) error {
	for i := range rets {
		if err := c.resolveLines(ctx, &rets[i]); err != nil {
			return err
		}
	}
	for len(rets) > 0 {
		n := min(len(rets), returnsPage)
		if err := emit(ctx, rets[:n]); err != nil {
			return fmt.Errorf("emit: %w", err)
		}
		rets = rets[n:]
	}
	return nil
}

// returnsReport asks Amazon for the returns report of [from, to] and
// parses it. A report Amazon cancelled has no data ("an automatic
// cancellation if there is no data to return").
func (c *Connector) returnsReport(ctx context.Context, from, to time.Time) ([]ReturnRow, error) {
	var created reportStatus
	if _, err := c.call(ctx, opCreateReport, http.MethodPost, "/reports/2021-06-30/reports", nil, createReportRequest{
		ReportType: ReturnsReportType, MarketplaceIDs: c.marketplace,
		DataStartTime: from.Format(time.RFC3339), DataEndTime: to.Format(time.RFC3339),
	}, &created); err != nil {
		return nil, err
	}
	if created.ReportID == "" {
		return nil, errors.New("createReport answered without reportId")
	}
	st, err := c.waitReport(ctx, created.ReportID)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", created.ReportID, err)
	}
	switch {
	case st.ProcessingStatus == reportCancelled:
		return nil, nil
	case st.ProcessingStatus != reportDone:
		return nil, fmt.Errorf("report %s ended %s", created.ReportID, st.ProcessingStatus)
	case st.ReportDocumentID == "":
		return nil, fmt.Errorf("report %s is done without a reportDocumentId", created.ReportID)
	}
	data, err := c.reportDocument(ctx, st.ReportDocumentID)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", created.ReportID, err)
	}
	rows, bad, err := ParseReturnsReport(data)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", created.ReportID, err)
	}
	if bad > 0 {
		c.log.Warn().Str("report_id", created.ReportID).Int("rows", bad).Msg("returns report rows without an order id, RMA id, SKU or a positive quantity were left out")
	}
	return rows, nil
}

// waitReport polls getReport, the wait doubling from feedPoll to
// feedPollMax, until the report is processed; past feedWait it gives up
// (the next poll asks again).
func (c *Connector) waitReport(ctx context.Context, reportID string) (*reportStatus, error) {
	delay, waited := c.feedPoll, time.Duration(0)
	for {
		var st reportStatus
		if _, err := c.call(ctx, opGetReport, http.MethodGet, "/reports/2021-06-30/reports/"+url.PathEscape(reportID), nil, nil, &st); err != nil {
			return nil, err
		}
		switch st.ProcessingStatus {
		case reportDone, reportFatal, reportCancelled:
			return &st, nil
		}
		if waited >= c.feedWait {
			return nil, fmt.Errorf("still %s after %s", st.ProcessingStatus, waited)
		}
		if err := connectors.WaitContext(ctx, delay); err != nil {
			return nil, err
		}
		waited += delay
		delay = min(delay*2, c.feedPollMax)
	}
}

// reportDocument fetches a report document's pre-signed URL and downloads
// it, gunzipped when Amazon compressed it.
func (c *Connector) reportDocument(ctx context.Context, documentID string) ([]byte, error) {
	var info reportDocumentInfo
	if _, err := c.call(ctx, opGetReportDocument, http.MethodGet, "/reports/2021-06-30/documents/"+url.PathEscape(documentID), nil, nil, &info); err != nil {
		return nil, fmt.Errorf("report document: %w", err)
	}
	if info.URL == "" {
		return nil, fmt.Errorf("report document %s has no url", documentID)
	}
	var raw bytes.Buffer
	if err := c.transfer(ctx, http.MethodGet, info.URL, nil, &raw); err != nil {
		return nil, fmt.Errorf("downloading report document %s: %w", documentID, err)
	}
	if !strings.EqualFold(info.CompressionAlgorithm, "GZIP") {
		return raw.Bytes(), nil
	}
	zr, err := gzip.NewReader(&raw)
	if err != nil {
		return nil, fmt.Errorf("report document %s: gzip: %w", documentID, err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxReport))
	if err != nil {
		return nil, fmt.Errorf("report document %s: gzip: %w", documentID, err)
	}
	return data, nil
}

// resolveLines sets each line's LineID to the order item id of its SKU,
// from the order's items (fetched once per order, then remembered: an
// order's item ids never change). An order Amazon does not know, and a SKU
// the order does not hold, leave LineID empty (the line keeps its SKU).
func (c *Connector) resolveLines(ctx context.Context, r *connectors.Return) error {
	items, err := c.lineIDs.get(ctx, r.OrderID, func(ctx context.Context) (map[string]string, error) {
		o, err := c.orders.fetch(ctx, r.OrderID)
		if errors.Is(err, connectors.ErrNotFound) {
			return map[string]string{}, nil
		}
		if err != nil {
			return nil, err
		}
		m := make(map[string]string, len(o.Lines))
		for _, l := range o.Lines {
			if _, dup := m[l.SKU]; !dup { // a SKU on two items: the first
				m[l.SKU] = l.LineID
			}
		}
		return m, nil
	})
	if err != nil {
		return fmt.Errorf("order items of return %s (order %s): %w", r.ReturnID, r.OrderID, err)
	}
	for i := range r.Lines {
		r.Lines[i].LineID = items[r.Lines[i].SKU]
	}
	return nil
}

// lineCache remembers orders' items: order id → SKU → order item id.
type lineCache struct {
	mu     sync.Mutex
	orders map[string]map[string]string
}

// get is orderID's items, from the cache or load (a failed load is not kept).
func (lc *lineCache) get(ctx context.Context, orderID string, load func(context.Context) (map[string]string, error)) (map[string]string, error) {
	lc.mu.Lock()
	m, ok := lc.orders[orderID]
	lc.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := load(ctx)
	if err != nil {
		return nil, err
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.orders == nil || len(lc.orders) >= maxLineCache {
		lc.orders = make(map[string]map[string]string)
	}
	lc.orders[orderID] = m
	return m, nil
}

// GroupReturns makes one canonical return per RMA id out of the report's
// rows, in the order the RMAs first appear: lines by SKU (quantities of
// one SKU added up), Received when any of the SKU's rows has a return
// delivery date, Restock false (the channel's returns policy decides).
// LineID is left empty: PollReturns fills it in from the order.
func GroupReturns(rows []ReturnRow) []connectors.Return {
	var out []connectors.Return
	byRMA := map[string]int{}
	for _, row := range rows {
		key := row.OrderID + "\x00" + row.RMAID
		i, ok := byRMA[key]
		if !ok {
			i = len(out)
			byRMA[key] = i
			out = append(out, connectors.Return{
				OrderID: row.OrderID, ReturnID: row.RMAID, CreatedAt: row.RequestDate,
				Status: strings.ToLower(row.Status),
			})
		}
		addReturnRow(&out[i], row)
	}
	for i := range out {
		sort.SliceStable(out[i].Lines, func(a, b int) bool { return out[i].Lines[a].SKU < out[i].Lines[b].SKU })
	}
	return out
}

// addReturnRow adds one item row to r.
func addReturnRow(r *connectors.Return, row ReturnRow) {
	for j := range r.Lines {
		l := &r.Lines[j]
		if l.SKU == row.SKU {
			l.Quantity += row.Quantity
			l.Received = l.Received || row.Delivered
			if l.Reason == "" {
				l.Reason = strings.ToLower(row.Reason)
			}
			return
		}
	}
	r.Lines = append(r.Lines, connectors.ReturnLine{
		SKU: row.SKU, Quantity: row.Quantity, Received: row.Delivered,
		Reason: strings.ToLower(row.Reason),
	})
}
