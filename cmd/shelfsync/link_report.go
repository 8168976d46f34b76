package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/shelfsync/shelfsync/config"
	"github.com/shelfsync/shelfsync/connectors"
	"github.com/shelfsync/shelfsync/inventory/catalog"
	"github.com/shelfsync/shelfsync/sync/outbox"
)

// linkChunk bounds the names of one catalog or propagation read.
const linkChunk = 500

// channel reads every listing of ch and links each: the rows of the
// listings, then of the ledger SKUs no listing is linked to. When the
// channel could read only some listings, their rows come with the error.
func (r *linker) channel(ctx context.Context, ch *channel, skus map[string]bool) ([]linkRow, error) {
	lister, ok := ch.conn.(connectors.ListingLister)
	if !ok {
		return nil, fmt.Errorf("the %s connector can not list its listings", ch.cfg.Kind)
	}
	listings, readErr := r.readAll(ctx, ch.cfg.Name, lister)
	if readErr != nil && len(listings) == 0 {
		return nil, readErr
	}
	states := r.locationStates(ctx, ch)
	rows := make([]linkRow, 0, len(listings))
	linked := map[string]bool{} // ledger SKUs and kits some listing stands for
	for start := 0; start < len(listings); start += linkChunk {
		part := listings[start:min(start+linkChunk, len(listings))]
		got, err := r.link(ctx, ch.cfg, part, skus, linked, states)
		if err != nil {
			return nil, err
		}
		rows = append(rows, got...)
	}
	if readErr != nil {
		// Some listings were read: report them, but not "missing" SKUs,
		// which may be among those not read.
		return rows, readErr
	}
	missing, err := r.missing(ctx, ch.cfg, skus, linked, states)
	if err != nil {
		return nil, err
	}
	return append(rows, missing...), nil
}

// locStates is what a channel says of its locations: by its own id, and
// by the shelfsync location mapped to it.
type locStates struct {
	byID, byLocation map[string]connectors.LocationState
}

// locationStates reads a per-location channel's locations once, when its
// connector reads them (connectors.LocationReader); a failed read is
// printed and the report goes on without states.
func (r *linker) locationStates(ctx context.Context, ch *channel) locStates {
	var st locStates
	lr, ok := ch.conn.(connectors.LocationReader)
	if !ok || !ch.cfg.PerLocation() {
		return st
	}
	locs, err := lr.ReadLocations(ctx)
	if err != nil {
		fmt.Fprintf(r.stderr, "link: %s: reading the channel's locations (their states are not shown): %v\n", ch.cfg.Name, err)
		return st
	}
	st.byID, st.byLocation = map[string]connectors.LocationState{}, map[string]connectors.LocationState{}
	for _, l := range locs {
		st.byID[l.ID] = l.State
		if l.Location != "" {
			st.byLocation[l.Location] = l.State
		}
	}
	return st
}

// readAll pages through the channel's listings, showing progress.
func (r *linker) readAll(ctx context.Context, name string, lister connectors.ListingLister) ([]connectors.Listing, error) {
	var all []connectors.Listing
	pages := 0
	err := lister.ListListings(ctx, func(p connectors.ListingPage) error {
		all = append(all, p.Listings...)
		pages++
		r.progress(name, pages, len(all), p.Total, false)
		return nil
	})
	r.progress(name, pages, len(all), len(all), true)
	return all, err
}

// progress draws a bar on a terminal, else prints a line per page.
func (r *linker) progress(name string, pages, done, total int, last bool) {
	if !r.bar {
		if !last {
			fmt.Fprintf(r.stderr, "link: %s: page %d, %d listings read%s\n", name, pages, done, ofTotal(total))
		}
		return
	}
	const width = 30
	fill := 0
	if total > 0 {
		fill = min(width, done*width/total)
	}
	fmt.Fprintf(r.stderr, "\r%-12s [%s%s] %d%s listings", name, strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, ofTotal(total))
	if last {
		fmt.Fprintln(r.stderr)
	}
}

func ofTotal(total int) string {
	if total < 0 {
		return ""
	}
	return " of " + strconv.Itoa(total)
}

// link makes the rows of listings: what each stands for, and the
// quantities (on a per-location channel, per location: locationRows).
func (r *linker) link(ctx context.Context, cfg config.Channel, listings []connectors.Listing, skus map[string]bool, linked map[string]bool, states locStates) ([]linkRow, error) {
	ch := cfg.Name
	names := make([]string, len(listings))
	for i, l := range listings {
		names[i] = l.ID
	}
	entries, err := r.cat.Entries(ctx, names)
	if err != nil {
		return nil, err
	}
	rows := make([]linkRow, len(listings))
	var targets []string
	for i, l := range listings {
		row := linkRow{Channel: ch, Listing: l.ID, Status: "unknown"}
		if l.HasQuantity {
			row.Shows = ptr(l.Quantity)
		}
		row.SKU, row.Via = linkOf(entries[l.ID], ch, skus)
		if row.SKU != "" {
			row.Status = "linked"
			linked[row.SKU] = true
			targets = append(targets, row.SKU)
		}
		rows[i] = row
	}
	listed, err := r.prop.Listed(ctx, targets...)
	if err != nil {
		return nil, err
	}
	if cfg.PerLocation() {
		var out []linkRow
		for i, l := range listings {
			out = append(out, locationRows(cfg, rows[i], l, listed[ch], states)...)
		}
		return out, nil
	}
	for i := range rows {
		if q, ok := listed[ch][rows[i].Listing]; ok && rows[i].Status == "linked" {
			rows[i].WouldPush = ptr(q)
		}
	}
	return rows, nil
}

// locationRows are a listing's rows on a per-location channel: a linked
// listing's one per location of the channel (what the channel shows
// there against what shelfsync would push there; an unknown listing's
// one with what the channel sells), and one per channel location no
// shelfsync location maps to that holds some of it (would push 0 when
// reconcile zeroes such levels, else nothing; never at a disabled channel
// location). Each row has its channel location's state, when read.
func locationRows(cfg config.Channel, row linkRow, l connectors.Listing, listed map[string]int64, states locStates) []linkRow {
	var out []linkRow
	if row.Status != "linked" {
		out = append(out, row)
	} else {
		for _, loc := range cfg.Locations {
			lr := row
			lr.Location, lr.Shows, lr.LocationState = loc, nil, string(states.byLocation[loc])
			for _, lq := range l.Levels {
				if lq.Location == loc {
					lr.Shows = ptr(lq.Quantity)
				}
			}
			if q, ok := listed[outbox.LocationKey(row.Listing, loc)]; ok {
				lr.WouldPush = ptr(q)
			}
			out = append(out, lr)
		}
	}
	for _, lq := range l.Levels {
		if lq.ChannelLocation == "" || lq.Quantity <= 0 {
			continue
		}
		ur := linkRow{Channel: row.Channel, Listing: row.Listing, Status: "unmapped_location", SKU: row.SKU, Via: row.Via,
			ChannelLocation: lq.ChannelLocation, Shows: ptr(lq.Quantity), LocationState: string(states.byID[lq.ChannelLocation])}
		if cfg.ZeroUnmappedLocations && states.byID[lq.ChannelLocation] != connectors.LocationDisabled {
			ur.WouldPush = ptr(0)
		}
		out = append(out, ur)
	}
	return out
}

// linkOf says what a listing named e.Name stands for on ch: a mapping, a
// kit of its name, the ledger SKU of its name, or nothing ("").
func linkOf(e catalog.Entry, ch string, skus map[string]bool) (sku, via string) {
	if t, ok := e.MappedOn[ch]; ok {
		return t.SKU, "mapping ×" + strconv.FormatInt(t.Multiplier, 10)
	}
	if e.IsKit() {
		return e.Name, "kit"
	}
	if skus[e.Name] {
		return e.Name, "same SKU"
	}
	return "", ""
}

// missing is a row per ledger SKU no listing of ch stands for (per
// location on a per-location channel), with what shelfsync would push
// under its own name.
func (r *linker) missing(ctx context.Context, cfg config.Channel, skus, linked map[string]bool, states locStates) ([]linkRow, error) {
	var names []string
	for s := range skus {
		if !linked[s] {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	locs := []string{""}
	if cfg.PerLocation() {
		locs = cfg.Locations
	}
	var rows []linkRow
	for start := 0; start < len(names); start += linkChunk {
		part := names[start:min(start+linkChunk, len(names))]
		listed, err := r.prop.Listed(ctx, part...)
		if err != nil {
			return nil, err
		}
		for _, s := range part {
			for _, loc := range locs {
				row := linkRow{Channel: cfg.Name, Status: "missing", SKU: s, Location: loc, LocationState: string(states.byLocation[loc])}
				key := s
				if loc != "" {
					key = outbox.LocationKey(s, loc)
				}
				if q, ok := listed[cfg.Name][key]; ok {
					row.WouldPush = ptr(q)
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

func ptr(v int64) *int64 { return &v }

// writeLinkReport prints the rows as a table, CSV or JSON; non-zero when
// the output could not be written.
func writeLinkReport(o linkOpts, rows []linkRow, stdout, stderr io.Writer) int {
	var err error
	switch {
	case o.asJSON:
		if rows == nil {
			rows = []linkRow{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rows)
	case o.csvOut == "-":
		err = writeLinkCSV(stdout, rows)
	case o.csvOut != "":
		err = writeLinkCSVFile(o.csvOut, rows)
	default:
		err = writeLinkTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "link: writing the report: %v\n", err)
		return 1
	}
	return 0
}

func writeLinkCSVFile(path string, rows []linkRow) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeLinkCSV(f, rows); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeLinkCSV(w io.Writer, rows []linkRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"channel", "listing", "status", "sku", "via", "channel_shows", "would_push", "location", "channel_location", "location_state"})
	for _, r := range rows {
		_ = cw.Write([]string{r.Channel, r.Listing, r.Status, r.SKU, r.Via, optInt(r.Shows, ""), optInt(r.WouldPush, ""), r.Location, r.ChannelLocation, r.LocationState})
	}
	cw.Flush()
	return cw.Error()
}

func writeLinkTable(w io.Writer, rows []linkRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tLISTING\tLOCATION\tSTATUS\tSKU\tVIA\tSHOWS\tWOULD PUSH\t")
	counts := map[string]map[string]int{}
	for _, r := range rows {
		mark := ""
		if r.Shows != nil && r.WouldPush != nil && *r.Shows != *r.WouldPush {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Channel, orDash(r.Listing), locationCell(r), r.Status, orDash(r.SKU), orDash(r.Via), optInt(r.Shows, "-"), optInt(r.WouldPush, "-"), mark)
		if counts[r.Channel] == nil {
			counts[r.Channel] = map[string]int{}
		}
		counts[r.Channel][r.Status]++
		if r.LocationState == string(connectors.LocationDisabled) || r.LocationState == string(connectors.LocationMissing) {
			counts[r.Channel]["not_enabled"]++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	chans := make([]string, 0, len(counts))
	for ch := range counts {
		chans = append(chans, ch)
	}
	sort.Strings(chans)
	for _, ch := range chans {
		c := counts[ch]
		unmapped := ""
		if n := c["unmapped_location"]; n > 0 {
			unmapped = fmt.Sprintf(", %d levels at channel locations no shelfsync location maps to", n)
		}
		if n := c["not_enabled"]; n > 0 {
			unmapped += fmt.Sprintf(", %d rows at channel locations disabled or missing on the channel", n)
		}
		fmt.Fprintf(w, "channel %s: %d linked, %d unknown, %d ledger SKUs missing%s (* shows differs from would push)\n", ch, c["linked"], c["unknown"], c["missing"], unmapped)
	}
	return nil
}

// locationCell is a row's location in the table: the shelfsync or
// channel location, and its state when the channel gives it one other
// than enabled ("store (disabled)").
func locationCell(r linkRow) string {
	loc := orDash(r.Location + r.ChannelLocation)
	if r.LocationState != "" && r.LocationState != string(connectors.LocationEnabled) {
		loc += " (" + r.LocationState + ")"
	}
	return loc
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func optInt(v *int64, none string) string {
	if v == nil {
		return none
	}
	return strconv.FormatInt(*v, 10)
}
