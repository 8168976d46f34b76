package amazon

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ReturnRow is one row (one returned item) of the flat file returns report.
type ReturnRow struct {
	OrderID     string
	RMAID       string // "Amazon RMA ID"
	RequestDate time.Time
	Status      string // "Return request status", as Amazon spells it
	SKU         string // "Merchant SKU"
	Quantity    int64
	Reason      string // "Return Reason", as Amazon spells it
	// Delivered: the row has a "Return delivery date", the day the return
	// reached the seller.
	Delivered bool
}

// The report's columns this connector reads, by normalized header (lower
// case, letters and digits only): the attribute names of
// GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE on the "Returns Reports" page.
const (
	colOrderID      = "orderid"
	colRMAID        = "amazonrmaid"
	colRequestDate  = "returnrequestdate"
	colStatus       = "returnrequeststatus"
	colSKU          = "merchantsku"
	colQuantity     = "returnquantity"
	colReason       = "returnreason"
	colDeliveryDate = "returndeliverydate"
)

// requiredColumns must be in the header, or the document is not the report.
var requiredColumns = []string{colOrderID, colRMAID, colSKU, colQuantity}

// errNotReturnsReport: the document's header lacks a column the report has.
var errNotReturnsReport = errors.New("not a returns report")

// ParseReturnsReport reads the flat file returns report: tab-delimited,
// a header row, then one row per returned item. Headers are matched
// whatever their case, spacing and punctuation ("Amazon RMA ID",
// "amazon-rma-id"); columns it does not read are ignored. A row without
// an order id, RMA id, SKU or a positive quantity is left out and
// counted in skipped; a document without the report's header is an
// error. Dates it cannot read are left zero.
func ParseReturnsReport(data []byte) (rows []ReturnRow, skipped int, err error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.Split(strings.ToValidUTF8(string(data), "\uFFFD"), "\n")
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	if first == len(lines) {
		return nil, 0, nil // an empty report: no returns
	}
	cols := headerIndex(lines[first])
	for _, c := range requiredColumns {
		if _, ok := cols[c]; !ok {
			return nil, 0, fmt.Errorf("%w: no %q column", errNotReturnsReport, c)
		}
	}
	for _, line := range lines[first+1:] {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		row, ok := parseReturnRow(strings.Split(line, "\t"), cols)
		if !ok {
			skipped++
			continue
		}
		rows = append(rows, row)
	}
	return rows, skipped, nil
}

// headerIndex maps each normalized header to its column (the first of a repeated one).
func headerIndex(header string) map[string]int {
	cols := map[string]int{}
	for i, h := range strings.Split(strings.TrimRight(header, "\r"), "\t") {
		k := normalizeHeader(h)
		if _, dup := cols[k]; !dup && k != "" {
			cols[k] = i
		}
	}
	return cols
}

// normalizeHeader is h in lower case, letters and digits only.
func normalizeHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseReturnRow reads one item row; false when it lacks what a return needs.
func parseReturnRow(fields []string, cols map[string]int) (ReturnRow, bool) {
	get := func(col string) string {
		if i, ok := cols[col]; ok && i < len(fields) {
			return strings.TrimSpace(fields[i])
		}
		return ""
	}
	r := ReturnRow{
		OrderID: get(colOrderID), RMAID: get(colRMAID), SKU: get(colSKU),
		Status: get(colStatus), Reason: get(colReason),
		RequestDate: parseReportDate(get(colRequestDate)),
		Delivered:   get(colDeliveryDate) != "",
	}
	q, err := strconv.ParseInt(get(colQuantity), 10, 64)
	if err != nil || q <= 0 || r.OrderID == "" || r.RMAID == "" || r.SKU == "" {
		return r, false
	}
	r.Quantity = q
	if !utf8.ValidString(r.SKU) {
		return r, false
	}
	return r, true
}

// reportDateLayouts are the date forms a report date is read in. The
// "Returns Reports" page gives no format; ISO 8601 (what the SP-API
// documents for its dates) comes first.
var reportDateLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05 MST",
	"2006-01-02",
	"02-Jan-2006",
	"Jan 2, 2006",
}

// parseReportDate reads a report date in UTC; zero when it cannot.
func parseReportDate(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	for _, layout := range reportDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
