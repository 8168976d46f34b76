package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// salesHeader names the columns of a sales report's CSV and table.
var salesHeader = []string{"orders", "units", "cancelled_orders", "cancelled_units", "returned_orders", "returned_units", "net_units"}

func salesFields(r SalesRow) []string {
	out := []string{r.Key}
	for _, n := range []int64{r.Orders, r.Units, r.CancelledOrders, r.CancelledUnits, r.ReturnedOrders, r.ReturnedUnits, r.NetUnits} {
		out = append(out, strconv.FormatInt(n, 10))
	}
	return out
}

// WriteSales writes s as f. CSV has a header (the grouping's name, then
// salesHeader) and a last row "total"; the table the same aligned, with
// the window and the journals read in a first line; JSON is Sales.
func WriteSales(w io.Writer, s *Sales, f Format) error {
	rows := make([][]string, 0, len(s.Rows)+1)
	for _, r := range s.Rows {
		rows = append(rows, salesFields(r))
	}
	rows = append(rows, salesFields(s.Total))
	head := append([]string{string(s.By)}, salesHeader...)
	switch f {
	case JSON:
		return writeJSON(w, s)
	case CSV:
		return writeCSV(w, head, rows)
	}
	if _, err := fmt.Fprintf(w, "sales %s .. %s (UTC) by %s: %d SKUs moved, %d journal entries read\n",
		s.From.Format(time.RFC3339), s.To.Format(time.RFC3339), s.By, s.SKUs, s.Entries); err != nil {
		return err
	}
	if s.ShortJournals > 0 {
		if _, err := fmt.Fprintf(w, "note: %d SKUs' journals do not reach back to the start (ledger.journal_max_len): their figures are low\n", s.ShortJournals); err != nil {
			return err
		}
	}
	return writeTable(w, head, rows)
}

// stockHeader names the columns of the stock report's CSV and table.
var stockHeader = []string{"sku", "location", "on_hand", "reserved", "available", "reorder_point", "reorder_qty", "sold_7d", "sold_28d", "days_of_cover_7d", "days_of_cover_28d", "journal_short"}

func stockFields(r StockRow) []string {
	opt := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	days := func(d *float64) string {
		if d == nil {
			return ""
		}
		return strconv.FormatFloat(*d, 'f', 1, 64)
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{r.SKU, r.Location, i(r.OnHand), i(r.Reserved), i(r.Available), opt(r.ReorderPoint), opt(r.ReorderQty),
		i(r.Sold7), i(r.Sold28), days(r.Cover7), days(r.Cover28), strconv.FormatBool(r.JournalShort)}
}

// WriteStock writes the stock report as f: CSV with a header (empty cells
// for no reorder point and no days of cover, nothing sold), an aligned
// table ("-" for those), or JSON (a list of StockRow).
func WriteStock(w io.Writer, rows []StockRow, f Format) error {
	if f == JSON {
		if rows == nil {
			rows = []StockRow{}
		}
		return writeJSON(w, rows)
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = stockFields(r)
		if f == Table {
			for j, c := range out[i] {
				if c == "" {
					out[i][j] = "-"
				}
			}
		}
	}
	if f == CSV {
		return writeCSV(w, stockHeader, out)
	}
	return writeTable(w, stockHeader, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeCSV(w io.Writer, head []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func writeTable(w io.Writer, head []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	upper := make([]string, len(head))
	for i, h := range head {
		upper[i] = toUpper(h)
	}
	line(upper)
	for _, r := range rows {
		line(r)
	}
	return tw.Flush()
}

func toUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '_':
			b[i] = ' '
		}
	}
	return string(b)
}
