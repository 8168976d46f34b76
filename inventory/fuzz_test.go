package inventory

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func seedLines(f *testing.F, file string) {
	f.Helper()
	fh, err := os.Open(file)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(sc.Text())
	}
	if err := sc.Err(); err != nil {
		f.Fatal(err)
	}
}

// FuzzKeySKU: every SKU maps to a key part that keeps its keys in one slot
// and decodes back to the SKU, through the stock key SCAN finds.
func FuzzKeySKU(f *testing.F) {
	seedLines(f, "testdata/fixture_skus.txt")
	for _, s := range []string{"{", "}", "a{b}c", "~", "~7b", "}{", "*?[", ""} {
		f.Add(s)
	}
	l := New(nil, Options{Prefix: "p:"})
	f.Fuzz(func(t *testing.T, sku string) {
		if sku == "" {
			return // rejected by every operation
		}
		k := l.keys(sku)
		slot := clusterSlot(k.stock)
		for _, key := range []string{k.lines, k.closed, k.journal, k.op("any{key}")} {
			if clusterSlot(key) != slot {
				t.Fatalf("sku %q: %q and %q in different slots", sku, k.stock, key)
			}
		}
		if clusterSlot(k.stock) != clusterSlot(keySKU(sku)) {
			t.Fatalf("sku %q: the tag is not the whole key SKU", sku)
		}
		back, err := l.skuFromStockKey(k.stock)
		if err != nil || back != sku {
			t.Fatalf("sku %q: decoded %q, %v", sku, back, err)
		}
	})
}

// FuzzSKUFromStockKey: any key SCAN may return decodes or errors, never panics,
// and a decoded SKU encodes back to the same key.
func FuzzSKUFromStockKey(f *testing.F) {
	l := New(nil, Options{Prefix: "p:"})
	for _, s := range []string{"p:s:{A}", "p:s:{~7b7d}", "p:s:{}", "p:s:{~zz}", "p:s:{a", "p:s:{~}", "q:s:{A}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		sku, err := l.skuFromStockKey(key)
		if err != nil {
			return
		}
		if got := l.keys(sku).stock; got != key && !strings.HasPrefix(key[len("p:s:{"):], "~") {
			t.Fatalf("key %q decoded to %q which encodes to %q", key, sku, got)
		}
	})
}

// FuzzDecodeFigures: stored stock figures decode consistently or fail.
func FuzzDecodeFigures(f *testing.F) {
	seedLines(f, "testdata/stored_values.txt")
	f.Fuzz(func(t *testing.T, v string) {
		fg, err := decodeFigures(v)
		if err != nil {
			return
		}
		if fg.Available != fg.OnHand-fg.Reserved {
			t.Fatalf("%q: available %d", v, fg.Available)
		}
		if fg.CountVersion != "" && !isVersion(fg.CountVersion) {
			t.Fatalf("%q: count version %q", v, fg.CountVersion)
		}
		canon := strconv.FormatInt(fg.OnHand, 10) + "," + strconv.FormatInt(fg.Reserved, 10)
		if fg.CountVersion != "" {
			canon += "," + fg.CountVersion
		}
		again, err := decodeFigures(canon)
		if err != nil || again != fg {
			t.Fatalf("%q: re-encoded %q decodes to %+v, %v", v, canon, again, err)
		}
	})
}

// FuzzDecodeLineRecord: stored line records decode consistently or fail.
func FuzzDecodeLineRecord(f *testing.F) {
	seedLines(f, "testdata/stored_values.txt")
	f.Fuzz(func(t *testing.T, v string) {
		r, err := decodeLineRecord(v)
		if err != nil {
			return
		}
		if r.Location == "" || r.Version < 0 || r.Ordered < 0 || r.Shipped < 0 || r.Cancelled < 0 || r.Restocked < 0 || r.WrittenOff < 0 {
			t.Fatalf("%q decoded to %+v", v, r)
		}
		if r.Reserved != r.Ordered-r.Shipped-r.Cancelled {
			t.Fatalf("%q: reserved %d", v, r.Reserved)
		}
		ver, loc := strconv.FormatInt(r.Version, 10), r.Location
		if r.LocalShipped > 0 {
			ver += ":" + strconv.FormatInt(r.LocalShipped, 10)
		}
		if len(r.Split) > 0 { // a split line: its last part is its location
			if r.Location != r.Split[len(r.Split)-1].Location {
				t.Fatalf("%q: location %q, parts %+v", v, r.Location, r.Split)
			}
			ver, loc = ver+"*", ""
			for _, p := range r.Split {
				loc += strconv.Itoa(len(p.Location)) + ":" + p.Location + "=" + strconv.FormatInt(p.Units, 10) + ";"
			}
		}
		canon := strings.Join([]string{ver, strconv.FormatInt(r.Ordered, 10), strconv.FormatInt(r.Shipped, 10),
			strconv.FormatInt(r.Cancelled, 10), strconv.FormatInt(r.Restocked, 10), strconv.FormatInt(r.WrittenOff, 10), loc}, ",")
		if again, err := decodeLineRecord(canon); err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("%q: re-encoded %q decodes to %+v, %v", v, canon, again, err)
		}
	})
}

// FuzzSplitLineField: line fields split into three non-empty ids or fail.
func FuzzSplitLineField(f *testing.F) {
	f.Add(lineField("shopify", "450789469", "466157049"))
	f.Add(lineField("amazon", "902-3159896-1390916", "68828574383266"))
	f.Add("a\x1fb")
	f.Add("\x1f\x1f")
	f.Fuzz(func(t *testing.T, v string) {
		c, o, l, err := splitLineField(v)
		if err != nil {
			return
		}
		if c == "" || o == "" || l == "" || lineField(c, o, l) != v {
			t.Fatalf("%q split to %q %q %q", v, c, o, l)
		}
	})
}

// encodeCompactEntry writes a journal entry as movelib.lua's journal() and
// line.lua's move() do (for tests: the ledger only decodes). A line entry's
// ids are given as its record field: Ref joins them with '/', which ids may
// hold, so Ref alone cannot be split back.
func encodeCompactEntry(e JournalEntry, field string) string {
	head := strings.Join([]string{e.Op, strconv.FormatInt(e.Before.OnHand, 10), strconv.FormatInt(e.Before.Reserved, 10),
		strconv.FormatInt(e.After.OnHand, 10), strconv.FormatInt(e.After.Reserved, 10), strconv.FormatInt(e.Time.UnixMilli(), 10)}, ",")
	if e.Op == OpLine {
		return head + "," + strings.TrimPrefix(e.Cause, "v=") + "," + field + string(fieldSep) + e.Location
	}
	return head + "," + strconv.Itoa(len(e.Cause)) + "," + strconv.Itoa(len(e.Ref)) + "," + e.Cause + e.Ref + e.Location
}

// FuzzDecodeJournalCompact: the one-field journal entries decode or fail,
// never panic, and what decodes encodes back to an entry that decodes the
// same.
func FuzzDecodeJournalCompact(f *testing.F) {
	seedLines(f, "testdata/journal_values.txt")
	f.Fuzz(func(t *testing.T, m string) {
		e, err := decodeJournalEntry("1-0", map[string]any{"m": m, "o": "ignored"})
		if err != nil {
			return
		}
		if e.ID != "1-0" || e.Op == "" || e.Location == "" || e.Before.Available != e.Before.OnHand-e.Before.Reserved || e.After.Available != e.After.OnHand-e.After.Reserved {
			t.Fatalf("%q decoded to %+v", m, e)
		}
		var field string
		if e.Op == OpLine {
			ids := strings.SplitN(strings.SplitN(m, ",", 8)[7], string(fieldSep), 4)
			c, o, l, err := splitLineField(lineField(ids[0], ids[1], ids[2]))
			if err != nil || e.Cause != "v="+strings.SplitN(m, ",", 8)[6] || e.Ref != c+"/"+o+"/"+l || e.Location != ids[3] {
				t.Fatalf("%q: line entry decoded to %+v", m, e)
			}
			field = lineField(c, o, l)
		}
		enc := encodeCompactEntry(e, field)
		again, err := decodeJournalEntry("1-0", map[string]any{"m": enc})
		if err != nil || again != e {
			t.Fatalf("%q: re-encoded %q decodes to %+v, %v; want %+v", m, enc, again, err, e)
		}
	})
}
