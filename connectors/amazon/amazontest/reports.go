package amazontest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReturnsReportType is the one report type the fake serves: the flat file
// returns report by return date (seller-fulfilled returns).
const ReturnsReportType = "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE"

// maxReportWindow: "You can request up to 60 days of data in a single
// report" (Returns Reports).
const maxReportWindow = 60 * 24 * time.Hour

// ReturnsReportHeader is the header row of the fake's returns report: the
// attributes of GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE in the order of
// the "Returns Reports" page.
var ReturnsReportHeader = []string{
	"Order ID", "Order date", "Return request date", "Return request status",
	"Amazon RMA ID", "Merchant RMA ID", "Label type", "Label cost", "Currency code",
	"Return carrier", "Tracking ID", "Label to be paid by", "A-to-Z Claim", "Is prime",
	"ASIN", "Merchant SKU", "Item Name", "Return quantity", "Return Reason", "In policy",
	"Return type", "Resolution", "Invoice number", "Return delivery date", "Order Amount",
	"Order quantity", "SafeT Action reason", "SafeT claim id", "SafeT claim state",
	"SafeT claim creation time", "SafeT claim reimbursement amount", "Refunded Amount",
}

// Return is a seller-fulfilled return the fake reports.
type Return struct {
	OrderID string
	RMAID   string
	// Status is the return request status as Amazon spells it (Approved,
	// Closed, ...).
	Status        string
	MarketplaceID string // default DefaultMarketplace
	RequestDate   time.Time
	// DeliveredAt is the return delivery date (zero: not delivered back).
	DeliveredAt time.Time
	Items       []ReturnItem
}

// ReturnItem is one returned item.
type ReturnItem struct {
	SKU      string
	Quantity int64
	Reason   string
}

// AddReturn stores r, replacing a return of the same order and RMA id.
func (s *Server) AddReturn(r Return) {
	if r.MarketplaceID == "" {
		r.MarketplaceID = DefaultMarketplace
	}
	r.Items = slices.Clone(r.Items)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.returns[r.OrderID+"\x00"+r.RMAID] = &r
}

// report is a requested report.
type report struct {
	id     string
	docID  string // "" when there is no data (the report is cancelled)
	polls  int
	status string
}

// Reports is how many reports were created.
func (s *Server) Reports() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reports)
}

type createReportBody struct {
	ReportType     string   `json:"reportType"`
	MarketplaceIDs []string `json:"marketplaceIds"`
	DataStartTime  string   `json:"dataStartTime"`
	DataEndTime    string   `json:"dataEndTime"`
}

// handleCreateReport is createReport (CreateReportSpecification):
// reportType and 1–25 marketplaceIds required, dataStartTime and
// dataEndTime default to now and must not be later than now, start
// before end, at most 60 days of data. The report is drawn up at once
// (its data is what the fake holds now); getReport sees it processed
// after Options.FeedPolls polls.
func (s *Server) handleCreateReport(w http.ResponseWriter, r *http.Request) {
	var b createReportBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Request body is not valid JSON.")
		return
	}
	start, end, bad := s.reportWindow(&b)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := &report{id: strconv.Itoa(90000 + s.nextSeq()), status: "IN_QUEUE"}
	if data := s.returnsReport(b.MarketplaceIDs, start, end); data != nil {
		d := &document{contentType: "text/tab-separated-values; charset=UTF-8", signature: s.newID(), gzip: s.opts.GzipReports}
		if d.gzip {
			data = gzipped(data)
		}
		d.data = data
		rep.docID = "amzn1.spdoc.1.4.na." + strconv.Itoa(s.nextSeq())
		s.docs[rep.docID] = d
	}
	s.reports[rep.id] = rep
	writeJSON(w, http.StatusAccepted, map[string]string{"reportId": rep.id})
}

// reportWindow checks a createReport body and reads its data window.
func (s *Server) reportWindow(b *createReportBody) (start, end time.Time, bad string) {
	switch {
	case b.ReportType == "":
		return start, end, "reportType is required."
	case b.ReportType != ReturnsReportType:
		return start, end, "reportType " + b.ReportType + " is not served by this fake."
	case len(b.MarketplaceIDs) < 1 || len(b.MarketplaceIDs) > 25:
		return start, end, "marketplaceIds must hold 1 to 25 marketplaces."
	}
	now := s.opts.Now()
	start, end = now, now
	var err error
	if b.DataStartTime != "" {
		if start, err = time.Parse(time.RFC3339, b.DataStartTime); err != nil {
			return start, end, "dataStartTime must be ISO 8601."
		}
	}
	if b.DataEndTime != "" {
		if end, err = time.Parse(time.RFC3339, b.DataEndTime); err != nil {
			return start, end, "dataEndTime must be ISO 8601."
		}
	}
	switch {
	case end.After(now) || start.After(now):
		return start, end, "dataStartTime and dataEndTime must be prior to or equal to the current date and time."
	case start.After(end):
		return start, end, "dataStartTime must be before dataEndTime."
	case end.Sub(start) > maxReportWindow:
		return start, end, "A report can hold up to 60 days of data."
	}
	return start, end, ""
}

// returnsReport is the flat file of the returns requested in [start, end]
// in the marketplaces, by request date then RMA id; nil when there are
// none. s.mu is held.
func (s *Server) returnsReport(markets []string, start, end time.Time) []byte {
	var rets []*Return
	for _, r := range s.returns {
		if !r.RequestDate.Before(start) && !r.RequestDate.After(end) && slices.Contains(markets, r.MarketplaceID) {
			rets = append(rets, r)
		}
	}
	if len(rets) == 0 {
		return nil
	}
	slices.SortFunc(rets, func(a, b *Return) int {
		if c := a.RequestDate.Compare(b.RequestDate); c != 0 {
			return c
		}
		return strings.Compare(a.RMAID, b.RMAID)
	})
	var sb strings.Builder
	sb.WriteString(strings.Join(ReturnsReportHeader, "\t") + "\n")
	for _, r := range rets {
		for _, it := range r.Items {
			sb.WriteString(strings.Join(returnRow(r, it), "\t") + "\n")
		}
	}
	return []byte(sb.String())
}

// returnRow is one item's row, in ReturnsReportHeader's order.
func returnRow(r *Return, it ReturnItem) []string {
	row := make([]string, len(ReturnsReportHeader))
	delivered := ""
	if !r.DeliveredAt.IsZero() {
		delivered = r.DeliveredAt.UTC().Format(time.RFC3339)
	}
	set := map[string]string{
		"Order ID": r.OrderID, "Return request date": r.RequestDate.UTC().Format(time.RFC3339),
		"Return request status": r.Status, "Amazon RMA ID": r.RMAID, "Label type": "AmazonUnPaidLabel",
		"Currency code": "USD", "Label to be paid by": "Customer", "A-to-Z Claim": "N", "Is prime": "N",
		"ASIN": "B000TEST00", "Merchant SKU": it.SKU, "Item Name": "Item " + it.SKU,
		"Return quantity": strconv.FormatInt(it.Quantity, 10), "Return Reason": it.Reason,
		"In policy": "Y", "Return type": "C-Returns", "Resolution": "StandardRefund",
		"Return delivery date": delivered,
	}
	for i, h := range ReturnsReportHeader {
		row[i] = set[h]
	}
	return row
}

// handleGetReport is getReport: IN_QUEUE, then IN_PROGRESS for
// Options.FeedPolls polls, then DONE with its document, or CANCELLED when
// it has no data ("an automatic cancellation if there is no data to return").
func (s *Server) handleGetReport(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep, ok := s.reports[r.PathValue("id")]
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The report was not found.")
		return
	}
	rep.polls++
	switch {
	case rep.status == "DONE" || rep.status == "CANCELLED":
	case rep.polls > s.opts.FeedPolls && rep.docID == "":
		rep.status = "CANCELLED"
	case rep.polls > s.opts.FeedPolls:
		rep.status = "DONE"
	default:
		rep.status = "IN_PROGRESS"
	}
	resp := map[string]any{
		"reportId": rep.id, "reportType": ReturnsReportType,
		"createdTime": s.opts.Now().UTC().Format(time.RFC3339), "processingStatus": rep.status,
	}
	if rep.status == "DONE" {
		resp["reportDocumentId"] = rep.docID
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleGetReportDocument is getReportDocument: the pre-signed URL, and
// compressionAlgorithm GZIP when the document is compressed.
func (s *Server) handleGetReportDocument(w http.ResponseWriter, r *http.Request) {
	s.serveDocument(w, r.PathValue("id"), "reportDocumentId", "report")
}
