// Package report computes the merchant's sales and stock reports from the
// ledger as it is: the sales report from the SKUs' journals (every
// movement an order line made, with its time), the stock report from the
// figures, the reorder points and the same journals. It only reads: no
// report adds a write to the ledger's hot path.
package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadInput is wrapped by every parse error: the caller's input (a
// flag, a query parameter) names something the report does not accept.
var ErrBadInput = errors.New("bad report input")

// MaxPeriod is the longest window a sales report reads.
const MaxPeriod = 366 * 24 * time.Hour

// Grouping is what a sales report's rows are per.
type Grouping string

// Groupings.
const (
	ByChannel Grouping = "channel"
	BySKU     Grouping = "sku"
	ByDay     Grouping = "day"
)

// Groupings are the accepted values of --by / by=.
var Groupings = []Grouping{ByChannel, BySKU, ByDay}

// Format is how a report is written.
type Format string

// Formats.
const (
	Table Format = "table"
	CSV   Format = "csv"
	JSON  Format = "json"
)

// Formats are the accepted values of --format / format=.
var Formats = []Format{Table, CSV, JSON}

// PeriodHelp says what ParsePeriod accepts.
const PeriodHelp = "a number of days, hours or weeks back from now (7d, 30d, 24h, 2w; at most 366d), or a UTC date or time to start from (2026-11-01, 2026-11-01T08:00:00Z)"

// ParsePeriod reads --since: "<n>d", "<n>h", "<n>w" back from now, or a
// date (YYYY-MM-DD, midnight UTC) or RFC 3339 time to start from. The start
// must be in the past and at most MaxPeriod ago.
func ParsePeriod(s string, now time.Time) (time.Time, error) {
	from, err := parseStart(strings.TrimSpace(s), now)
	if err != nil {
		return time.Time{}, err
	}
	if !from.Before(now) {
		return time.Time{}, fmt.Errorf("%w: since %q is not in the past; accepted: %s", ErrBadInput, s, PeriodHelp)
	}
	if now.Sub(from) > MaxPeriod {
		return time.Time{}, fmt.Errorf("%w: since %q reaches back more than 366 days; accepted: %s", ErrBadInput, s, PeriodHelp)
	}
	return from, nil
}

func parseStart(s string, now time.Time) (time.Time, error) {
	bad := fmt.Errorf("%w: since %q is not a period; accepted: %s", ErrBadInput, s, PeriodHelp)
	if len(s) >= 2 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
		if n, err := strconv.Atoi(s[:len(s)-1]); unit != 0 && err == nil && s[0] != '+' && s[0] != '-' {
			if n <= 0 || n > 366*24 {
				return time.Time{}, bad
			}
			return now.Add(-time.Duration(n) * unit), nil
		}
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, bad
}

// ParseGrouping reads --by; "" is ByChannel.
func ParseGrouping(s string) (Grouping, error) {
	if s == "" {
		return ByChannel, nil
	}
	for _, g := range Groupings {
		if string(g) == s {
			return g, nil
		}
	}
	return "", fmt.Errorf("%w: by %q is not a grouping; accepted: channel, sku, day", ErrBadInput, s)
}

// ParseFormat reads --format; "" is def.
func ParseFormat(s string, def Format) (Format, error) {
	if s == "" {
		return def, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w: format %q is not a format; accepted: table, csv, json", ErrBadInput, s)
}
