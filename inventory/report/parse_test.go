package report

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string // "" ok, else a part of the message
	}{
		{"7d", now.Add(-7 * 24 * time.Hour), ""},
		{"30d", now.Add(-30 * 24 * time.Hour), ""},
		{" 24h ", now.Add(-24 * time.Hour), ""},
		{"2w", now.Add(-14 * 24 * time.Hour), ""},
		{"366d", now.Add(-366 * 24 * time.Hour), ""},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2026-11-01T08:00:00+01:00", time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), ""},
		{"367d", time.Time{}, "more than 366 days"},
		{"2024-01-01", time.Time{}, "more than 366 days"},
		{"2027-01-01", time.Time{}, "not in the past"},
		{"0d", time.Time{}, "not a period"},
		{"-7d", time.Time{}, "not a period"},
		{"+7d", time.Time{}, "not a period"},
		{"7", time.Time{}, "not a period"},
		{"d", time.Time{}, "not a period"},
		{"7m", time.Time{}, "not a period"},
		{"7 d", time.Time{}, "not a period"},
		{"1.5d", time.Time{}, "not a period"},
		{"99999999999d", time.Time{}, "not a period"},
		{"", time.Time{}, "not a period"},
		{"last week", time.Time{}, "not a period"},
	}
	for _, tc := range tests {
		got, err := ParsePeriod(tc.in, now)
		if tc.err == "" {
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "7d, 30d") {
			t.Errorf("%q: error %v, want one with %q and the accepted values", tc.in, err, tc.err)
		}
	}
}

func TestParseGroupingAndFormat(t *testing.T) {
	for in, want := range map[string]Grouping{"": ByChannel, "channel": ByChannel, "sku": BySKU, "day": ByDay} {
		if got, err := ParseGrouping(in); err != nil || got != want {
			t.Errorf("by %q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"week", "SKU", "channels", " day"} {
		if _, err := ParseGrouping(in); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "channel, sku, day") {
			t.Errorf("by %q: %v", in, err)
		}
	}
	for in, want := range map[string]Format{"": CSV, "table": Table, "csv": CSV, "json": JSON} {
		if got, err := ParseFormat(in, CSV); err != nil || got != want {
			t.Errorf("format %q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"xml", "JSON", "tsv"} {
		if _, err := ParseFormat(in, Table); !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "table, csv, json") {
			t.Errorf("format %q: %v", in, err)
		}
	}
}

// FuzzParsePeriod: any input parses to a start in the last 366 days or
// fails with ErrBadInput; never a panic.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"7d", "24h", "2w", "2026-11-01", "2026-11-01T08:00:00Z", "", "-1d", "9999999999999999999h"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		from, err := ParsePeriod(s, now)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !from.Before(now) || now.Sub(from) > MaxPeriod {
			t.Fatalf("%q: start %v", s, from)
		}
	})
}
